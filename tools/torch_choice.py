"""Pick and install the PyTorch build for this machine (run by `make setup`, step 1 of 3).

    python tools/torch_choice.py [--torch auto|cpu|cuda] [--lock requirements/lock.txt]

The version is the lock's `torch==X`; only the *build* is chosen here:
- `cpu`: PyTorch's CPU-only wheel index (about 200 MB instead of PyPI's multi-GB CUDA wheel).
  Picked on Linux when no NVIDIA GPU answers `nvidia-smi -L`.
- `cuda`: PyPI's default Linux wheel, a CUDA build, with its nvidia-* libraries.
  Picked on Linux when `nvidia-smi -L` lists a GPU.
- `default`: PyPI's wheel as it is (macOS and Windows, where it is already CPU/MPS).
`--torch cpu|cuda` (make setup TORCH=cpu|cuda) overrides the automatic choice.

Before using the CPU index the script probes it with a short timeout; when it cannot be
reached it says so and installs from the default index at once, so the install never stalls.
Standard library only: it runs in a fresh venv that has nothing but pip.
"""
from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT = 5.0  # seconds
BUILDS = ("auto", "cpu", "cuda")


def has_nvidia_gpu(path: str | None = None, timeout: float = 10.0) -> bool:
    """True when `nvidia-smi -L` (looked up on `path`, default PATH) runs and lists a GPU."""
    exe = shutil.which("nvidia-smi", path=path)
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def choose(override: str = "auto", system: str | None = None, gpu: bool | None = None) -> tuple[str, str]:
    """The build to install, `cpu`, `cuda` or `default`, and the reason, in words.

    override: `auto`, `cpu` or `cuda` (make setup TORCH=...). system: platform.system() unless
    given. gpu: whether an NVIDIA GPU answers; looked up (has_nvidia_gpu) only when needed.
    """
    if override not in BUILDS:
        raise ValueError(f"torch build must be one of {', '.join(BUILDS)}; got {override!r}")
    if override != "auto":
        return override, f"asked for with TORCH={override}"
    system = platform.system() if system is None else system
    if system != "Linux":
        return "default", f"{system}: PyPI's wheel is already the CPU (or Apple MPS) build"
    if has_nvidia_gpu() if gpu is None else gpu:
        return "cuda", "Linux with an NVIDIA GPU (nvidia-smi lists one)"
    return "cpu", "Linux without an NVIDIA GPU (no working nvidia-smi)"


def probe(url: str = CPU_INDEX, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when `url`/torch/ answers within `timeout` seconds, else the reason it did not."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/torch/", timeout=timeout) as reply:
            reply.read(1)
        return None
    except (OSError, ValueError) as err:  # URLError, timeouts and HTTP errors are OSErrors
        return str(getattr(err, "reason", err)) or type(err).__name__


def locked_version(lock: Path) -> str:
    """The `torch==X` pin of the lock file."""
    match = re.search(r"^torch==([^\s;]+)", lock.read_text(), re.M)
    if match is None:
        raise ValueError(f"{lock} pins no torch==X: run `make lock`")
    return match.group(1)


def pip_args(build: str, version: str, lock: str, index_ok: bool) -> list[str]:
    """Arguments of `pip install` for `build` (see choose) at torch `version`.

    cpu: only torch, from the CPU index (its small dependencies come from the lock next).
    Otherwise torch with its dependencies from the default index, held to the lock's pins.
    """
    if build == "cpu" and index_ok:
        return ["--no-deps", "--index-url", CPU_INDEX, f"torch=={version}"]
    return ["-c", lock, f"torch=={version}"]


def is_wanted(build: str, have: str | None, version: str) -> bool:
    """Whether the installed torch `have` (None: none) is `version` in `build` already.

    CPU wheels carry the local label +cpu (except on macOS, where every wheel is a CPU one).
    """
    if have is None or have.split("+")[0] != version:
        return False
    if build == "cpu":
        return have.endswith("+cpu") or platform.system() == "Darwin"
    if build == "cuda":
        return not have.endswith("+cpu")
    return True


def installed() -> str | None:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch", default="auto", choices=BUILDS, help="auto (default), cpu or cuda")
    parser.add_argument("--lock", default="requirements/lock.txt")
    parser.add_argument("--dry-run", action="store_true", help="say what would run, run nothing")
    args = parser.parse_args(argv)
    build, why = choose(args.torch)
    version = locked_version(Path(args.lock))
    print(f"torch {version}, {build} build: {why}.", flush=True)
    have = installed()
    if is_wanted(build, have, version):
        print(f"torch {have} is already installed.")
        return 0

    index_ok = True
    if build == "cpu":
        reason = probe()
        index_ok = reason is None
        if not index_ok:
            same = have is not None and have.split("+")[0] == version
            print(f"PyTorch's CPU index ({CPU_INDEX}) cannot be reached ({reason}); "
                  + (f"keeping the installed torch {have}." if same else
                     "installing torch from the default index instead: on Linux that is the multi-GB "
                     "CUDA build unless pip finds a CPU wheel elsewhere.")
                  + " Re-run `make setup TORCH=cpu` where the CPU index is reachable.", flush=True)
            if same:
                return 0
    if have is not None and have.split("+")[0] == version:
        # torch==X is satisfied by the other build of X, so pip would keep it: remove it first.
        run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "torch"], args.dry_run)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    code = run([*pip, *pip_args(build, version, args.lock, index_ok)], args.dry_run)
    if code != 0 and build == "cpu" and index_ok:
        print("Installing from PyTorch's CPU index failed; using the default index instead.", flush=True)
        code = run([*pip, *pip_args(build, version, args.lock, index_ok=False)], args.dry_run)
    return code


def run(cmd: list[str], dry_run: bool) -> int:
    print("$", " ".join(cmd), flush=True)
    return 0 if dry_run else subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
