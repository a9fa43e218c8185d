"""tools/torch_choice.py: which torch build `make setup` installs, and that it never stalls."""
import http.server
import importlib.util
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
_spec = importlib.util.spec_from_file_location("torch_choice", ROOT / "tools" / "torch_choice.py")
tc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tc)


def fake_nvidia_smi(folder: Path, output: str = "GPU 0: Fake RTX (UUID: GPU-0000)", code: int = 0) -> Path:
    exe = folder / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\necho '{output}'\nexit {code}\n")
    exe.chmod(0o755)
    return folder


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_gpu_that_answers_nvidia_smi_is_seen(tmp_path):
    assert tc.has_nvidia_gpu(path=str(fake_nvidia_smi(tmp_path)))


def test_no_nvidia_smi_or_a_failing_one_means_no_gpu(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not tc.has_nvidia_gpu(path=str(empty))
    broken = tmp_path / "broken"
    broken.mkdir()
    # what nvidia-smi says on a machine whose driver is not loaded
    fake_nvidia_smi(broken, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 9)
    assert not tc.has_nvidia_gpu(path=str(broken))


def test_linux_picks_cuda_with_a_fake_nvidia_smi_on_path_and_cpu_without(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(fake_nvidia_smi(tmp_path)))
    assert tc.choose(system="Linux")[0] == "cuda"
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    build, why = tc.choose(system="Linux")
    assert build == "cpu" and "without an NVIDIA GPU" in why


def test_override_wins_and_other_systems_keep_pypis_wheel():
    assert tc.choose("cpu", system="Linux", gpu=True)[0] == "cpu"
    assert tc.choose("cuda", system="Linux", gpu=False)[0] == "cuda"
    assert tc.choose(system="Darwin", gpu=False)[0] == "default"
    assert tc.choose(system="Windows", gpu=True)[0] == "default"
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        tc.choose("gpu")


def test_pip_arguments_for_each_build():
    cpu = tc.pip_args("cpu", "2.13.0", "lock.txt", index_ok=True)
    assert cpu == ["--no-deps", "--index-url", tc.CPU_INDEX, "torch==2.13.0"]
    # the CPU index unreachable: the default index, torch's dependencies held to the lock
    assert tc.pip_args("cpu", "2.13.0", "lock.txt", index_ok=False) == ["-c", "lock.txt", "torch==2.13.0"]
    assert tc.pip_args("cuda", "2.13.0", "lock.txt", index_ok=True) == ["-c", "lock.txt", "torch==2.13.0"]


def test_probe_fails_on_an_unreachable_index_and_passes_on_a_live_one(tmp_path):
    assert tc.probe(f"http://127.0.0.1:{closed_port()}/whl/cpu", timeout=3)
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "index.html").write_text("<a>torch-2.13.0+cpu</a>")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert tc.probe(f"http://127.0.0.1:{server.server_port}", timeout=3) is None
    finally:
        server.shutdown()
        server.server_close()


def test_the_probe_never_waits_longer_than_its_timeout(monkeypatch):
    """Instead of timing it (flaky under load): the one network call gets the timeout."""
    seen = {}

    def urlopen(url, timeout):
        seen.update(url=url, timeout=timeout)
        raise OSError("timed out")
    monkeypatch.setattr(tc.urllib.request, "urlopen", urlopen)
    assert tc.probe("http://index.invalid/whl/cpu", timeout=3) == "timed out"
    assert seen == {"url": "http://index.invalid/whl/cpu/torch/", "timeout": 3}
    assert tc.probe.__defaults__[1] == tc.PROBE_TIMEOUT <= 10, "make setup must not stall on a dead index"


def test_an_unreachable_cpu_index_falls_back_at_once_with_a_clear_message(monkeypatch, capsys):
    closed = f"http://127.0.0.1:{closed_port()}/whl/cpu"
    real_probe, probes = tc.probe, []
    monkeypatch.setattr(tc, "CPU_INDEX", closed)
    monkeypatch.setattr(tc, "probe", lambda *a, **k: probes.append((a, k)) or real_probe(closed, timeout=3))
    monkeypatch.setattr(tc, "installed", lambda: None)
    assert tc.main(["--torch", "cpu", "--lock", str(LOCK), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert len(probes) == 1, "one probe, then the fallback: no retries"
    assert "cpu build: asked for with TORCH=cpu" in out
    assert "cannot be reached" in out and "default index" in out
    assert f"-c {LOCK} torch==" in out and "--index-url" not in out


def test_the_script_says_its_choice_with_a_fake_gpu(tmp_path):
    bin_dir = fake_nvidia_smi(tmp_path)
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "torch_choice.py"), "--lock", str(LOCK), "--dry-run"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    if sys.platform.startswith("linux"):
        assert "cuda build: Linux with an NVIDIA GPU" in out.stdout


def test_the_torch_version_comes_from_the_lock():
    version = tc.locked_version(LOCK)
    assert version.count(".") == 2 and "+" not in version


def test_an_installed_torch_is_kept_only_in_the_build_asked_for(monkeypatch):
    monkeypatch.setattr(tc.platform, "system", lambda: "Linux")
    assert tc.is_wanted("cpu", "2.13.0+cpu", "2.13.0")
    assert not tc.is_wanted("cpu", "2.13.0", "2.13.0"), "PyPI's Linux wheel is the CUDA build"
    assert tc.is_wanted("cuda", "2.13.0", "2.13.0") and tc.is_wanted("cuda", "2.13.0+cu130", "2.13.0")
    assert not tc.is_wanted("cuda", "2.13.0+cpu", "2.13.0")
    assert not tc.is_wanted("default", "2.12.1", "2.13.0") and not tc.is_wanted("cpu", None, "2.13.0")


def test_switching_builds_removes_the_other_build_first(monkeypatch, capsys):
    monkeypatch.setattr(tc, "installed", lambda: "2.13.0+cpu")
    assert tc.main(["--torch", "cuda", "--lock", str(LOCK), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.index("pip uninstall --yes --quiet torch") < out.index(f"pip install --quiet -c {LOCK} torch==")


def test_an_unreachable_index_keeps_an_installed_torch_of_the_locked_version(monkeypatch, capsys):
    monkeypatch.setattr(tc, "CPU_INDEX", f"http://127.0.0.1:{closed_port()}/whl/cpu")
    version = tc.locked_version(LOCK)
    monkeypatch.setattr(tc, "installed", lambda: version)  # PyPI's (CUDA) wheel: no local label
    assert tc.main(["--torch", "cpu", "--lock", str(LOCK), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"keeping the installed torch {version}" in out and "pip " not in out


def test_a_failed_install_from_the_cpu_index_retries_from_the_default_index(monkeypatch):
    calls = []
    monkeypatch.setattr(tc, "installed", lambda: None)
    monkeypatch.setattr(tc, "probe", lambda *a, **k: None)  # the index answers the probe...
    monkeypatch.setattr(tc, "run", lambda cmd, dry: calls.append(cmd) or (1 if len(calls) == 1 else 0))  # ...then fails
    assert tc.main(["--torch", "cpu", "--lock", str(LOCK)]) == 0
    assert "--index-url" in calls[0] and calls[1][-3:-1] == ["-c", str(LOCK)]
