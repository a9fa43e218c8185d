"""environment.yml (Binder) and pyproject.toml (pip) must ask for the same things."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch-cpu": "torch"}  # conda-forge's CPU-only torch


def split(req: str):
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_torch_pinned_to_the_cpu_build_everywhere():
    deps = dict(split(d) for d in pyproject()["dependencies"])
    assert deps["torch"] == "==2.13.0"
    conda = [d for d in environment()["dependencies"] if isinstance(d, str)]
    assert "pytorch-cpu=2.13.0" in conda
    names = {split(d)[0] for d in conda}
    assert not names & {"pytorch", "pytorch-gpu", "cudatoolkit", "cuda-version"}, "a CUDA torch would be pulled"


def test_environment_lists_the_same_dependencies_as_pyproject():
    wanted = {name: spec for name, spec in map(split, pyproject()["dependencies"])}
    conda = {}
    for dep in environment()["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python=", "pip")):
            name, spec = split(dep.split("#")[0])
            conda[CONDA_NAMES.get(name, name)] = spec.lstrip("=")
    assert set(conda) == set(wanted), f"only in pyproject: {set(wanted) - set(conda)}, only in environment.yml: {set(conda) - set(wanted)}"
    for name, spec in wanted.items():
        assert conda[name] == spec.lstrip("="), f"{name}: pyproject {spec} vs environment.yml {conda[name]}"


def test_environment_installs_the_course_itself():
    pip = [d for d in environment()["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert any(p.startswith("-e .") for p in pip)
    assert environment()["channels"][0] == "conda-forge"
