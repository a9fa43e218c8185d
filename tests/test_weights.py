"""Shipped weights: saved with provenance, loaded weights-only, refused clearly when they do
not fit, within the repository's size budget, and never overwritten by a run that is not
`make reproduce`."""
import json

import pytest
import torch

from course import weights

SHIPPED = weights.shipped_dir()


def tiny(width=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, width), torch.nn.Tanh(), torch.nn.Linear(width, 1))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WEIGHTS_DIR", str(tmp_path))
    return tmp_path


def test_round_trip_with_provenance(folder):
    model = tiny()
    path = weights.save_weights(model, "99_tiny", notebook="99_toy", settings={"width": 3}, steps=12,
                                cards={"test loss": 0.5}, note="a toy")
    assert path == folder / "99_tiny.pt"
    fresh = tiny()
    with torch.no_grad():
        fresh[0].weight.zero_()
    info = weights.load_weights(fresh, "99_tiny")
    assert torch.equal(fresh[0].weight, model[0].weight)
    assert info["steps"] == 12 and info["cards"] == {"test loss": 0.5} and info["notebook"] == "99_toy"
    assert "99_tiny.pt" in (folder / "README.md").read_text()
    assert "12 training steps in 99_toy" in weights.describe("99_tiny")
    assert weights.trained_here(300) == "Trained here for 300 steps."


def test_missing_and_misfit_weights_say_why(folder):
    with pytest.raises(FileNotFoundError, match="make reproduce"):
        weights.load_weights(tiny(), "99_absent")
    weights.save_weights(tiny(3), "99_tiny", notebook="99_toy", settings={}, steps=1)
    with pytest.raises(ValueError, match=r"0.weight: file \(3, 2\) vs model \(4, 2\)"):
        weights.load_weights(tiny(4), "99_tiny")
    with pytest.raises(ValueError, match="missing from the file"):
        weights.load_weights(torch.nn.Sequential(tiny(3), torch.nn.Linear(1, 1)), "99_tiny")


def test_bad_arguments_are_refused(folder):
    with pytest.raises(ValueError, match="name must be"):
        weights.save_weights(tiny(), "Bad Name", notebook="99_toy", settings={}, steps=1)
    with pytest.raises(ValueError, match="notebook must"):
        weights.save_weights(tiny(), "99_tiny", notebook="toy", settings={}, steps=1)
    with pytest.raises(ValueError, match="steps must"):
        weights.save_weights(tiny(), "99_tiny", notebook="99_toy", settings={}, steps=-1)
    with pytest.raises(ValueError, match="nn.Module or a state_dict"):
        weights.save_weights([1, 2], "99_tiny", notebook="99_toy", settings={}, steps=1)
    with pytest.raises(ValueError, match="over the 5 MB"):
        weights.save_weights({"w": torch.zeros(2 * 2 ** 20)}, "99_big", notebook="99_toy", settings={}, steps=1)
    assert not (folder / "99_big.pt").exists()


def test_only_a_recording_run_replaces_shipped_weights(monkeypatch):
    monkeypatch.delenv("COURSE_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("COURSE_RECORD", raising=False)
    assert weights.save_dir().parts[-2:] == ("build", "weights")
    monkeypatch.setenv("COURSE_RECORD", "1")
    assert weights.save_dir() == SHIPPED


def test_shipped_files_are_within_budget_and_load_weights_only():
    files = sorted(SHIPPED.glob("*.pt"))
    total = sum(p.stat().st_size for p in files)
    assert total <= weights.MAX_TOTAL_BYTES, f"shipped weights take {total / 2**20:.1f} MB (budget 25 MB)"
    readme = (SHIPPED / "README.md").read_text() if files else ""
    for path in files:
        assert path.stat().st_size <= weights.MAX_FILE_BYTES, f"{path.name} is over 5 MB"
        info = json.loads(path.with_suffix(".json").read_text())
        assert info["name"] == path.stem and info["bytes"] == path.stat().st_size
        assert f"| {path.name} |" in readme, f"data/weights/README.md does not list {path.name}"
        state = torch.load(path, weights_only=True)
        assert state and all(isinstance(v, torch.Tensor) for v in state.values())
    orphans = {p.stem for p in SHIPPED.glob("*.json")} - {p.stem for p in files}
    assert not orphans, f"provenance without weights: {sorted(orphans)}"
