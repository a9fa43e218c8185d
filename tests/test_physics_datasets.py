"""course.physics.datasets: make_dataset's shapes, noise level, clean targets, seeding and bad inputs."""
import numpy as np
import pytest
import torch

from course import physics as P


def test_make_dataset_shapes_noise_and_targets():
    system = P.MassSpring(m=0.5, k=2.0)
    t = np.linspace(0, 3, 30)
    data = P.make_dataset(system, 50, t, seed=0, noise=0.1)
    assert data["x"].shape == data["dxdt"].shape == (1500, 2)
    assert data["trajectories"].shape == (50, 30, 2) and data["energy"].shape == (50, 30)
    np.testing.assert_allclose(data["dxdt"], system.derivative(0, data["x_clean"]))
    assert 0.08 < np.std(data["x"] - data["x_clean"]) < 0.12
    radius = np.linalg.norm(data["trajectories"][:, 0], axis=-1)
    assert radius.min() >= 0.1 and radius.max() <= 1.0
    again = P.make_dataset(system, 50, t, seed=0, noise=0.1)
    np.testing.assert_array_equal(again["x"], data["x"])          # seeded
    clean = P.make_dataset(system, 50, t, seed=0)
    np.testing.assert_array_equal(clean["x"], clean["x_clean"])


def test_make_dataset_bad_inputs_raise():
    spring = P.MassSpring()
    with pytest.raises(ValueError, match="n_trajectories must be"):
        P.make_dataset(spring, 0, np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="noise must"):
        P.make_dataset(spring, 2, np.linspace(0, 1, 5), noise=-0.1)
    with pytest.raises(ValueError, match="system must"):
        P.make_dataset("spring", 2, np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="strictly increasing"):
        P.make_dataset(spring, 2, np.array([1.0, 0.0]))
