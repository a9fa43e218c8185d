"""The three install routes agree: pyproject.toml (ranges), requirements/lock.txt (the tested
set, `make setup`), environment.yml + postBuild (conda-forge, Binder)."""
import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
CONDA_NAMES = {"pytorch-cpu": "torch"}  # conda-forge's CPU-only torch
# The newest pytorch-cpu in a listing of conda-forge's files (2.10.0 to 2.12.1, late 2026):
# the environment's range must admit it, or Binder cannot solve.
CONDA_FORGE_TORCH = "2.12.1"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")  # requires-python >=3.10,<3.14
CUDA_ONLY = re.compile(r"^(nvidia-|cuda-|triton)")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def split(req: str):
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", req).groups()
    return norm(name), spec.replace(" ", "")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def core_and_dev():
    project = pyproject()["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def conda_deps():
    """environment.yml's conda dependencies as {pip name: range}, python and pip left out."""
    deps = {}
    for dep in environment()["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python=", "pip")):
            name, spec = split(dep.split("#")[0])
            deps[CONDA_NAMES.get(name, name)] = spec
    return deps


def locked():
    """The lock's pins: [(Requirement with its marker, version)]."""
    pins = []
    for line in LOCK.read_text().splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"not an exact pin: {line}"
            pins.append((req, spec.version))
    return pins


def env_for(python: str, platform: str = "linux"):
    return {"python_version": python, "python_full_version": f"{python}.5", "sys_platform": platform,
            "platform_system": {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[platform],
            "os_name": "nt" if platform == "win32" else "posix"}


def test_environment_asks_for_the_same_ranges_as_pyproject():
    wanted = {norm(r.name): str(r.specifier) for r in map(Requirement, pyproject()["project"]["dependencies"])}
    build = dict(split(r) for r in pyproject()["build-system"]["requires"])
    conda = conda_deps()
    assert set(conda) == set(wanted) | set(build), (
        f"only in pyproject: {set(wanted) - set(conda)}, only in environment.yml: {set(conda) - set(wanted) - set(build)}")
    for name, spec in wanted.items():
        assert SpecifierSet(conda[name]) == SpecifierSet(spec), f"{name}: pyproject {spec} vs environment.yml {conda[name]}"
    for name, spec in build.items():  # environment.yml builds the editable course itself
        assert SpecifierSet(conda[name]) == SpecifierSet(spec), f"build-system {name}{spec} vs environment.yml"


def test_environment_takes_a_cpu_torch_range_that_conda_forge_has():
    names = {split(d)[0] for d in environment()["dependencies"] if isinstance(d, str)}
    assert "pytorch-cpu" in names
    assert not names & {"pytorch", "pytorch-gpu", "cudatoolkit", "cuda-version"}, "a CUDA torch would be pulled"
    torch = SpecifierSet(conda_deps()["torch"])
    assert not any(s.operator in ("==", "===") for s in torch), "never an exact pin: conda-forge may not have it"
    assert CONDA_FORGE_TORCH in torch, f"conda-forge's {CONDA_FORGE_TORCH} is outside {torch}: Binder cannot solve"
    assert environment()["channels"][0] == "conda-forge"


def test_the_course_is_installed_with_no_deps_so_pip_never_pulls_a_second_torch():
    # conda hands a `pip:` section to pip as a requirements file, which cannot carry --no-deps,
    # so environment.yml has none; postBuild (Binder) and the documented command use --no-deps.
    pip_sections = [d for d in environment()["dependencies"] if isinstance(d, dict)]
    assert not pip_sections, "environment.yml must not pip-install anything: use postBuild"
    install = "pip install --no-deps --no-build-isolation -e ."
    post = (ROOT / "postBuild").read_text()
    assert install in post and (ROOT / "postBuild").stat().st_mode & 0o111
    pip_lines = [line for line in post.splitlines() if "pip install" in line]
    assert all("--no-deps" in line for line in pip_lines)
    assert install in (ROOT / "environment.yml").read_text()
    assert install in (ROOT / "README.md").read_text()


def test_the_lock_satisfies_pyprojects_ranges_on_every_python():
    pins = locked()
    for python in PYTHONS:
        env = env_for(python)
        active = {norm(req.name): version for req, version in pins if req.marker is None or req.marker.evaluate(env)}
        for req in core_and_dev():
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = norm(req.name)
            assert name in active, f"{name} is in pyproject.toml but not in the lock for Python {python}: run `make lock`"
            assert req.specifier.contains(active[name], prereleases=True), (
                f"lock pins {name}=={active[name]}, outside pyproject's {req.specifier}: run `make lock`")


def test_the_lock_pins_one_torch_and_none_of_its_cuda_libraries():
    pins = locked()
    torch = [(req, v) for req, v in pins if norm(req.name) == "torch"]
    assert len(torch) == 1 and torch[0][0].marker is None, "one torch for every platform"
    assert not [req.name for req, _ in pins if CUDA_ONLY.match(norm(req.name))], (
        "CUDA-only libraries in the lock would be installed beside a CPU torch")
    assert "make lock" in LOCK.read_text().split("\n", 3)[1]


def test_make_setup_installs_from_the_lock_after_picking_torch():
    make = (ROOT / "Makefile").read_text()
    recipe = make.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    steps = [line.strip() for line in recipe.splitlines()[1:]]
    assert any("tools/torch_choice.py --torch" in s for s in steps)
    assert any("--no-deps -r $(LOCK)" in s for s in steps)
    order = [i for i, s in enumerate(steps) if "torch_choice" in s or "-r $(LOCK)" in s]
    assert order == sorted(order) and len(order) == 2, "torch first, then the lock"
    assert re.search(r"^LOCK\s*:=\s*requirements/lock.txt", make, re.M)
    assert "uv pip compile" in make.split("\nlock:", 1)[1]


def test_binder_badge_is_a_documented_template_pointing_at_a_notebook_that_exists():
    readme = (ROOT / "README.md").read_text()
    urls = re.findall(r"\((https://mybinder\.org/v2/[^)\s]+)\)", readme)
    assert urls, "README has no Binder badge"
    for url in urls:
        assert url.startswith("https://mybinder.org/v2/gh/OWNER/REPO/HEAD"), url
        notebook = re.search(r"urlpath=lab/tree/([^&)]+)", url).group(1)
        assert (ROOT / notebook).exists(), f"the badge opens {notebook}, which does not exist"
    assert "OWNER/REPO" in readme.split("## Binder", 1)[1], "README's Binder section says how to fill in the badge"
    assert "2 GB" in readme.split("## Binder", 1)[1]
