"""Limited-memory BFGS with the standard initial-Hessian scaling (Nocedal & Wright, Numerical
Optimization, 2nd ed., Algorithm 7.4 and Eq. 7.20), on numpy arrays and as an ASE optimizer.

Why our own: ASE's LBFGS keeps the initial inverse Hessian fixed at 1/alpha, so its step length
depends on a stiffness the user must guess (about 70 eV/A^2 suits Lennard-Jones, 0.5 suits the
soft Mg surfaces); SciPy's L-BFGS-B adds line searches that cost extra calls. Scaling the
initial inverse Hessian by gamma = s.y / y.y of the newest pair adapts it to the system after
one step. No line search: a step is capped so that no atom moves further than max_step; a
pair with non-positive curvature s.y is skipped, and a direction that is not downhill resets
the memory. benchmarks/bench_relaxation.py compares it with ASE's and SciPy's optimizers.
"""

from __future__ import annotations

import numpy as np
from ase.optimize.optimize import Optimizer


class LBFGSCore:
    """Steps of one minimisation on a flat coordinate vector: call step(x, gradient)."""

    def __init__(self, inverse_curvature: float, memory: int = 50, max_step: float = 0.3):
        if inverse_curvature <= 0.0:
            raise ValueError(f"LBFGS: inverse_curvature must be > 0, got {inverse_curvature}")
        self.gamma = inverse_curvature  # initial inverse Hessian is gamma * identity
        self.memory = memory
        self.max_step = max_step
        self.pairs: list[tuple[np.ndarray, np.ndarray, float]] = []  # s, y, 1 / (s.y)
        self.previous: tuple[np.ndarray, np.ndarray] | None = None
        self.last_step: np.ndarray | None = None

    def step(self, x: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """The displacement to take from x (flat arrays)."""
        if self.previous is not None:
            s = x - self.previous[0]
            y = gradient - self.previous[1]
            curvature = float(s @ y)
            if curvature > 1e-14 * float(s @ s):
                self.pairs.append((s, y, 1.0 / curvature))
                self.pairs = self.pairs[-self.memory :]
                self.gamma = curvature / float(y @ y)
        q = gradient.copy()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s @ q)
            alphas.append(a)
            q -= a * y
        r = self.gamma * q
        for (s, y, rho), a in zip(self.pairs, reversed(alphas), strict=True):
            r += s * (a - rho * float(y @ r))
        direction = -r
        if float(direction @ gradient) >= 0.0:
            self.pairs.clear()
            direction = -self.gamma * gradient
        largest = np.sqrt((direction.reshape(-1, 3) ** 2).sum(axis=1)).max()
        if largest > self.max_step:
            direction *= self.max_step / largest
        self.previous = (x.copy(), gradient.copy())
        self.last_step = direction
        return direction


class ScaledLBFGS(Optimizer):
    """ASE optimizer around LBFGSCore (inverse_curvature in A^2/eV: the first step's scale)."""

    def __init__(
        self,
        atoms,
        inverse_curvature: float = 0.01,
        memory: int = 50,
        max_step: float = 0.3,
        logfile=None,
        trajectory=None,
        **kwargs,
    ):
        self.core = LBFGSCore(inverse_curvature, memory, max_step)
        super().__init__(atoms, logfile=logfile, trajectory=trajectory, **kwargs)

    def step(self, gradient=None):
        gradient = self.optimizable.get_gradient() if gradient is None else gradient
        x = self.optimizable.get_x()
        self.optimizable.set_x(x + self.core.step(x, gradient))
