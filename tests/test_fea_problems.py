"""Tests of course.fea_problems: the builders, their boundary conditions, bad inputs."""
import numpy as np
import pytest
import torch

from course import fea
from course import fea_problems as P

torch.set_num_threads(1)


def test_problem_builders_produce_valid_problems():
    for name, build in P.PROBLEMS.items():
        assert build().name == name                       # defaults build (the tutorial's sizes)
        problem = build(nelx=32, nely=32)                 # small enough to solve in a test
        assert problem.name == name
        assert problem.forces.shape == (problem.n_dofs,)
        assert np.abs(problem.forces).sum() > 0
        c = fea.compliance(torch.full(problem.shape, problem.volfrac, dtype=torch.float64), problem)
        assert np.isfinite(c.item()) and c.item() > 0
    assert P.mbb_beam().mirror == "left"
    assert P.get_problem("mbb_beam", nelx=60, nely=20, volfrac=0.5).shape == (20, 60)
    assert P.l_shape().mask.mean() < 1


def test_mbb_beam_boundary_conditions_and_from_grids():
    problem = P.mbb_beam(4, 2, 0.5)
    # node (ix, iy) has dofs 2*((nely+1)*ix + iy) + d: the left edge fixes x, bottom-right fixes y
    assert list(problem.fixed_dofs) == [0, 2, 4, 2 * (3 * 4 + 2) + 1]
    assert problem.forces[1] == -1 and np.abs(problem.forces).sum() == 1
    normals, forces = np.zeros((5, 3, 2)), np.zeros((5, 3, 2))
    normals[0, :, 0] = 1
    normals[-1, -1, 1] = 1
    forces[0, 0, 1] = -1
    again = P.from_grids("mine", normals, forces, 0.5)
    np.testing.assert_array_equal(again.fixed_dofs, problem.fixed_dofs)
    np.testing.assert_array_equal(again.forces, problem.forces)
    assert again.mirror == "left"


def test_staircase_loads_lie_on_its_flights():
    problem = P.staircase(32, 32, 0.2, stories=2)
    loads = problem.forces.reshape(33, 33, 2)[..., 1]
    assert (loads <= 0).all() and loads.sum() < 0
    assert loads[0, 0] < 0 and loads[-1, 16] < 0      # first flight from the top-left corner
    assert problem.fixed_dofs.size == 2 * 33          # the whole ground row is clamped
    # the anti-aliased line covers both neighbours of the ideal line in shares summing to 1
    rows, cols, value = P._line_aa(0, 0, 10, 3)
    assert rows.min() == 0 and rows.max() == 10 and (value > 0).all() and (value <= 1).all()


def test_mirrored_shows_the_whole_structure():
    x = np.arange(6.0).reshape(2, 3)
    full = P.mirrored(x, P.mbb_beam(3, 2, 0.5))
    np.testing.assert_array_equal(full, np.concatenate([x[:, ::-1], x], axis=1))
    np.testing.assert_array_equal(P.mirrored(torch.tensor(x), P.cantilever(3, 2, 0.5)), x)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="volfrac"):
        P.mbb_beam(10, 4, 1.5)
    with pytest.raises(ValueError, match="nelx"):
        P.mbb_beam(0, 4, 0.5)
    with pytest.raises(ValueError, match="nely"):
        P.cantilever(10, -2, 0.5)
    with pytest.raises(ValueError, match="nelx"):
        P.mbb_beam(10.5, 4, 0.5)
    with pytest.raises(ValueError, match="name"):
        P.get_problem("no_such_problem")
    with pytest.raises(ValueError, match="force_position"):
        P.cantilever(10, 4, 0.5, force_position=2)
    with pytest.raises(ValueError, match="interval"):
        P.staggered_points(16, 16, 0.3, interval=1)
    with pytest.raises(ValueError, match="stories"):
        P.staircase(16, 16, 0.3, stories=0)
    with pytest.raises(ValueError, match="forces"):
        P.Problem("bad", 2, 2, 0.5, np.array([0, 1, 2]), np.zeros(5))
    with pytest.raises(ValueError, match="mask"):
        P.Problem("bad", 2, 2, 0.5, np.array([0, 1, 2]), np.zeros(18), mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="forces must have shape"):
        P.from_grids("bad", np.zeros((3, 3, 2)), np.zeros((3, 4, 2)), 0.5)
