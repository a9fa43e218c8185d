"""Physical systems, integrators and datasets shared by the physics notebooks (02-06).

Plumbing, not the lesson: true dynamics to train on and to compare against. One module
per concern, each re-exported here so that `from course import physics; physics.rk4`
works everywhere:

    systems      `System` (the base class) and the one-body systems: `MassSpring`,
                 `Pendulum`, `DampedPendulum`, `DoublePendulum`. New systems of notebooks
                 04-06 (a damped spring, ...) go here, or in a module of their own beside it.
    nbody        planar gravity: `NBody`, `TwoBody` (02's task 4)
    integrators  `rk4`, `leapfrog` (taught in 02), `reference` (scipy's DOP853, the truth)
    datasets     `make_dataset`: trajectories -> (noisy state, true derivative) pairs (02)

Conventions:

* NumPy float64 throughout; every system is batched over leading axes, so a state
  `y` has shape `(..., state_dim)` and `energy(y)` has shape `y.shape[:-1]`.
* Hamiltonian systems store their state as `(q..., p...)`: all coordinates first,
  then all conjugate momenta. `DoublePendulum` stores `(theta1, theta2, omega1, omega2)`
  (angles and angular velocities, the Lagrangian view).
* Systems are autonomous: `derivative(t, y)` ignores `t` (it is there so that
  `derivative` plugs straight into `rk4`, `leapfrog`, `reference` and scipy).
"""
from .datasets import make_dataset
from .dissipative import DampedSpring, SyntheticOcean  # notebook 04
from .integrators import leapfrog, reference, rk4
from .kepler import circular_orbits  # notebook 05
from .nbody import NBody, TwoBody
from .systems import DampedPendulum, DoublePendulum, MassSpring, Pendulum, System, as_generator

__all__ = ["System", "MassSpring", "Pendulum", "DampedPendulum", "DoublePendulum", "NBody", "TwoBody",
           "rk4", "leapfrog", "reference", "make_dataset", "as_generator",
           "DampedSpring", "SyntheticOcean"]
