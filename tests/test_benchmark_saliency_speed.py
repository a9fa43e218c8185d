"""benchmarks/saliency_speed.py runs (ours only, tiny: --smoke) and its compatibility shim for the
original's removed `scipy.misc.imresize` behaves as SciPy's did (bytescale to uint8, then resize)."""
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_run_prints_our_time():
    out = subprocess.run([sys.executable, "benchmarks/saliency_speed.py", "--smoke"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ours, 1 thread(s): min" in out.stdout


def test_imresize_shim_bytescales_then_resizes():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import saliency_speed
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    a = np.zeros((4, 4), dtype=np.float32)
    a[1, 2] = 0.5
    out = saliency_speed._imresize(a, (8, 8), interp="nearest")
    assert out.dtype == np.uint8 and out.shape == (8, 8) and out.max() == 255 and out[2, 4] == 255
    frame = np.zeros((80, 80))
    frame[10:14, 20:24] = 1.0
    raw = saliency_speed.raw_atari_frame(frame)
    assert raw.shape == (210, 160, 3) and raw[35 + 20, 40, 0] == 255 and raw[:35].max() == 0
