"""Minima hopping (Goedecker, J. Chem. Phys. 120, 9911 (2004)) for clusters, on ASE MD/optimizers.

One MH step = one escape trial from the current minimum:
  1. Maxwell-Boltzmann velocities at temperature T with zero net linear and angular momentum,
     rescaled to exactly 3/2 N k_B T; optionally softened, i.e. their direction is rotated
     towards low-curvature modes of the current minimum by a few steps of curvature
     minimisation with finite-difference Hessian-vector products (Schoenborn et al., J. Chem.
     Phys. 130, 144108 (2009); Amsler & Goedecker, J. Chem. Phys. 133, 224104 (2010)).
  2. Velocity-Verlet MD until the potential energy has passed `mdmin` minima along the trajectory.
  3. Local relaxation with an ASE optimizer, from the MD frame at the last Epot minimum.
  4. Feedback. If the new minimum is the current one (escape failed): T *= beta_same and no
     acceptance test. Otherwise T *= beta_old if it was visited before, T *= beta_new if new, and
     it is accepted when E_new - E_current < Ediff (then Ediff *= alpha_accept, else
     Ediff *= alpha_reject).
Two minima are the same when |dE| < energy_tol and the overlap-matrix fingerprint distance is
below fp_threshold. A cluster that falls apart (the graph of atoms closer than
fragmentation_factor x the median nearest-neighbour distance of the first minimum has more than
one component) during MD or relaxation is rejected, counted, and T is lowered by beta_new, since
fragmentation means the kinetic energy was too high; a fragmented structure is never accepted.

The run checkpoints after every step (atomic writes) to workdir: state.json (full-precision
minima, RNG state, feedback variables, counters) and minima.extxyz (for inspection). Calling
run_minima_hopping again with the same workdir resumes, and gives the same result as an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes
from ase.io import write
from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta
from ase.md.verlet import VelocityVerlet
from ase.optimize import BFGS, FIRE, LBFGS, BFGSLineSearch
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import pdist, squareform

from paper_artifact.mh.fingerprint import (
    MG_FP_IDENTITY_THRESHOLD,
    FingerprintParams,
    fingerprint,
    fingerprint_distance,
)

log = logging.getLogger(__name__)

OPTIMIZERS = {"BFGS": BFGS, "LBFGS": LBFGS, "FIRE": FIRE, "BFGSLineSearch": BFGSLineSearch}
STATE_FILE = "state.json"
MINIMA_FILE = "minima.extxyz"
FINAL_STOP_REASONS = ("target_energy", "target_structure")


@dataclass(frozen=True)
class MHParams:
    """Minima-hopping parameters (energies eV, lengths Angstrom, temperatures K).

    Feedback factors follow Goedecker (2004) as also used by ase.optimize.minimahopping:
    beta 1.1 / 1/1.1, alpha 0.98 / 1/0.98.
    """

    temperature0: float = 2000.0  # initial MD temperature (paper: 2000 K)
    mdmin: int = 60  # MD stops after this many potential-energy minima (paper: 60)
    md_timestep_fs: float = 2.0
    max_md_steps: int = 10000  # per escape; the escape is still relaxed if reached
    beta_same: float = 1.1  # T factor when the escape falls back into the current minimum
    beta_old: float = 1.1  # T factor when the new minimum was visited before
    beta_new: float = 1.0 / 1.1  # T factor when the minimum is new (also after fragmentation)
    ediff0: float = 0.5  # initial acceptance threshold Ediff
    alpha_accept: float = 0.98  # Ediff factor on acceptance
    alpha_reject: float = 1.0 / 0.98  # Ediff factor on rejection
    fmax: float = 0.01  # relaxation force convergence
    optimizer: str = "BFGS"  # one of OPTIMIZERS
    max_relax_steps: int = 3000
    softening_steps: int = 0  # Hessian-vector products used to soften the initial velocities
    softening_displacement: float = 1e-2  # finite-difference step for the softening
    fragmentation_factor: float = 1.6  # x median nearest-neighbour distance of first minimum
    fp_threshold: float = MG_FP_IDENTITY_THRESHOLD
    fp_width_scale: float = 1.0  # FingerprintParams.width_scale
    energy_tol: float = 1e-3  # minima closer in energy (and fingerprint) are the same

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"MHParams.optimizer must be one of {sorted(OPTIMIZERS)}")
        for name in ("temperature0", "md_timestep_fs", "fmax", "fp_threshold", "energy_tol"):
            if getattr(self, name) <= 0.0:
                raise ValueError(f"MHParams.{name} must be > 0, got {getattr(self, name)}")
        if self.mdmin < 1 or self.max_md_steps < 1:
            raise ValueError("MHParams.mdmin and MHParams.max_md_steps must be >= 1")


@dataclass(frozen=True)
class MHResult:
    """minima: every distinct minimum in order of discovery; info keys energy, fingerprint,
    step (MH step of first discovery, 0 = relaxed start) and visits."""

    minima: list[Atoms]
    best_atoms: Atoms
    best_energy: float
    n_force_calls: int
    n_steps: int
    stop_reason: str  # max_steps | target_energy | target_structure | wall_time
    n_accepted: int
    n_rejected: int
    n_same: int  # escapes that fell back into the current minimum
    n_fragmented: int
    n_unconverged: int  # relaxations that hit max_relax_steps (rejected)
    temperature: float
    ediff: float


class CountingCalculator(Calculator):
    """Wraps any ASE calculator and counts energy+force evaluations (one per new geometry)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, calc: Calculator, n_calls: int = 0):
        super().__init__()
        self.inner = calc
        self.n_calls = n_calls

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        probe = self.atoms.copy()
        probe.calc = self.inner
        self.results = {"energy": probe.get_potential_energy(), "forces": probe.get_forces()}
        self.n_calls += 1


def n_fragments(positions: np.ndarray, cutoff: float) -> int:
    """Connected components of the graph linking atoms closer than cutoff."""
    if len(positions) < 2:
        return 1
    adjacency = squareform(pdist(positions) < cutoff)
    return connected_components(adjacency, directed=False)[0]


def median_nearest_neighbour(positions: np.ndarray) -> float:
    dist = squareform(pdist(positions))
    np.fill_diagonal(dist, np.inf)
    return float(np.median(dist.min(axis=1)))


def _project_out_rigid_motion(vectors: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Remove the components of a 3N vector along rigid translations and rotations."""
    centred = positions - positions.mean(axis=0)
    basis = []
    for k in range(3):
        t = np.zeros_like(positions)
        t[:, k] = 1.0
        basis.append(t.ravel())
        axis = np.zeros(3)
        axis[k] = 1.0
        basis.append(np.cross(axis, centred).ravel())
    q, r = np.linalg.qr(np.array(basis).T)
    q = q[:, np.abs(np.diag(r)) > 1e-8]
    flat = vectors.ravel()
    return (flat - q @ (q.T @ flat)).reshape(vectors.shape)


def soften_velocities(
    atoms: Atoms, velocities: np.ndarray, n_steps: int, displacement: float = 1e-2
) -> np.ndarray:
    """Rotate the velocity direction towards low curvature of the PES at atoms; keep its norm.

    Gradient descent of the curvature d.H.d over unit vectors d orthogonal to rigid motions,
    with H d from finite differences of the forces (one force call per step, plus one at x0).
    The first step size is 0.5 / |curvature|; it is halved whenever the curvature increases.
    """
    x0 = atoms.positions.copy()
    f0 = atoms.get_forces()
    direction = _project_out_rigid_motion(velocities, x0)
    direction /= np.linalg.norm(direction)
    step_size, previous_curvature = None, np.inf
    for _ in range(n_steps):
        atoms.positions = x0 + displacement * direction
        hess_dir = -(atoms.get_forces() - f0) / displacement
        curvature = float(np.vdot(direction, hess_dir))
        if step_size is None:
            step_size = 0.5 / max(abs(curvature), 1e-12)
        elif curvature > previous_curvature:
            step_size *= 0.5
        previous_curvature = curvature
        gradient = _project_out_rigid_motion(hess_dir - curvature * direction, x0)
        direction = _project_out_rigid_motion(direction - step_size * gradient, x0)
        direction /= np.linalg.norm(direction)
    atoms.positions = x0
    return direction * np.linalg.norm(velocities)


@dataclass
class _State:
    step: int
    temperature: float
    ediff: float
    current: int
    rng_state: dict
    n_force_calls: int
    n_accepted: int = 0
    n_rejected: int = 0
    n_same: int = 0
    n_fragmented: int = 0
    n_unconverged: int = 0
    stop_reason: str = ""
    fragment_cutoff: float = 0.0
    minima: list[dict] | None = None  # positions, energy, fingerprint, step, visits


class _Hopper:
    def __init__(self, symbols, calc, params: MHParams, rng, state: _State):
        self.symbols = symbols
        self.params = params
        self.rng = rng
        self.state = state
        self.calc = CountingCalculator(calc, n_calls=state.n_force_calls)
        self.fp_params = FingerprintParams(width_scale=params.fp_width_scale)

    def atoms_at(self, positions) -> Atoms:
        atoms = Atoms(self.symbols, positions=np.array(positions, dtype=float))
        self.calc.reset()  # no cached results, so call counts do not depend on history
        atoms.calc = self.calc
        return atoms

    def relax(self, atoms: Atoms) -> bool:
        optimizer = OPTIMIZERS[self.params.optimizer](atoms, logfile=None)
        return bool(optimizer.run(fmax=self.params.fmax, steps=self.params.max_relax_steps))

    def fragmented(self, atoms: Atoms) -> bool:
        return n_fragments(atoms.positions, self.state.fragment_cutoff) > 1

    def escape(self, positions) -> tuple[Atoms, str]:
        """MD + relaxation from a minimum; returns the relaxed atoms and 'ok'|'fragmented'|
        'unconverged'."""
        p = self.params
        atoms = self.atoms_at(positions)
        temperature = self.state.temperature
        thermalize_momenta(atoms, temperature, rng=self.rng)
        Stationary(atoms)
        ZeroRotation(atoms)
        if p.softening_steps > 0:
            velocities = soften_velocities(
                atoms, atoms.get_velocities(), p.softening_steps, p.softening_displacement
            )
            atoms.set_velocities(velocities)
        target_ekin = 1.5 * len(atoms) * units.kB * temperature
        atoms.set_momenta(atoms.get_momenta() * np.sqrt(target_ekin / atoms.get_kinetic_energy()))

        dyn = VelocityVerlet(atoms, timestep=p.md_timestep_fs * units.fs, logfile=None)
        forces = atoms.get_forces(md=True)
        energies = [atoms.get_potential_energy()]
        n_minima = 0
        for _ in range(p.max_md_steps):
            previous_positions = atoms.positions.copy()
            forces = dyn.step(forces)
            energies.append(atoms.get_potential_energy())
            if self.fragmented(atoms):
                return atoms, "fragmented"
            if len(energies) >= 3 and energies[-2] < energies[-3] and energies[-2] <= energies[-1]:
                n_minima += 1
                if n_minima >= p.mdmin:
                    atoms.positions = previous_positions  # relax from the Epot minimum
                    break
        atoms.set_momenta(np.zeros_like(atoms.positions))
        converged = self.relax(atoms)
        if self.fragmented(atoms):
            return atoms, "fragmented"
        return atoms, "ok" if converged else "unconverged"

    def find(self, energy: float, fp: np.ndarray) -> int | None:
        for index, minimum in enumerate(self.state.minima):
            if abs(minimum["energy"] - energy) < self.params.energy_tol and (
                fingerprint_distance(minimum["fingerprint"], fp) < self.params.fp_threshold
            ):
                return index
        return None

    def add_minimum(self, atoms: Atoms, fp: np.ndarray, step: int) -> int:
        self.state.minima.append(
            {
                "positions": atoms.positions.tolist(),
                "energy": float(atoms.get_potential_energy()),
                "fingerprint": fp.tolist(),
                "step": step,
                "visits": 1,
            }
        )
        return len(self.state.minima) - 1

    def hop(self) -> int | None:
        """One MH step; returns the index of a newly found minimum, else None."""
        s, p = self.state, self.params
        s.step += 1
        current = s.minima[s.current]
        atoms, status = self.escape(current["positions"])
        new_index = None
        if status == "fragmented":
            s.n_fragmented += 1
            s.temperature *= p.beta_new
        elif status == "unconverged":
            s.n_unconverged += 1
        else:
            energy = float(atoms.get_potential_energy())
            fp = fingerprint(atoms, self.fp_params)
            index = self.find(energy, fp)
            if index == s.current:
                s.n_same += 1
                s.temperature *= p.beta_same
                s.minima[index]["visits"] += 1
            else:
                if index is None:
                    index = new_index = self.add_minimum(atoms, fp, s.step)
                    s.temperature *= p.beta_new
                else:
                    s.minima[index]["visits"] += 1
                    s.temperature *= p.beta_old
                if energy - current["energy"] < s.ediff:
                    s.current = index
                    s.n_accepted += 1
                    s.ediff *= p.alpha_accept
                else:
                    s.n_rejected += 1
                    s.ediff *= p.alpha_reject
        s.n_force_calls = self.calc.n_calls
        s.rng_state = self.rng.bit_generator.state
        return new_index


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _minima_atoms(symbols, minima: list[dict]) -> list[Atoms]:
    out = []
    for m in minima:
        atoms = Atoms(symbols, positions=np.array(m["positions"]))
        atoms.info.update(
            energy=m["energy"],
            fingerprint=np.array(m["fingerprint"]),
            step=m["step"],
            visits=m["visits"],
        )
        out.append(atoms)
    return out


def _checkpoint(workdir: Path, symbols: str, params: MHParams, state: _State) -> None:
    payload = {"symbols": symbols, "params": asdict(params), "state": asdict(state)}
    _atomic_write_text(workdir / STATE_FILE, json.dumps(payload))
    tmp = workdir / (MINIMA_FILE + ".tmp")
    write(tmp, _minima_atoms(symbols, state.minima), format="extxyz")
    os.replace(tmp, workdir / MINIMA_FILE)


def _load_checkpoint(workdir: Path, symbols: str, params: MHParams) -> _State | None:
    path = workdir / STATE_FILE
    if not path.exists():
        return None
    payload = json.loads(path.read_text())
    if payload["symbols"] != symbols:
        raise ValueError(f"{path}: checkpoint is for {payload['symbols']}, not {symbols}")
    if payload["params"] != json.loads(json.dumps(asdict(params))):
        raise ValueError(f"{path}: checkpoint was written with different MHParams")
    return _State(**payload["state"])


def run_minima_hopping(
    atoms: Atoms,
    calc: Calculator,
    params: MHParams,
    seed: int | np.random.SeedSequence,
    workdir: Path | None,
    max_steps: int,
    target_energy: float | None = None,
    target_structure: Atoms | None = None,
    max_wall_seconds: float | None = None,
    progress: Callable[[int, float, float, float, float], None] | None = None,
) -> MHResult:
    """Minima hopping from `atoms` (relaxed first, step 0) for at most max_steps escape trials.

    Stops early when a minimum with energy <= target_energy + energy_tol or with fingerprint
    within fp_threshold of target_structure is found, or after max_wall_seconds of this call.
    progress(step, T, Ediff, E_current, E_best) is called after every step.
    """
    if any(atoms.pbc):
        raise ValueError("run_minima_hopping: only non-periodic clusters are supported")
    started = time.monotonic()
    symbols = atoms.get_chemical_formula(mode="all")
    seed_seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.Generator(np.random.PCG64(seed_seq))
    fp_params = FingerprintParams(width_scale=params.fp_width_scale)
    target_fp = None
    if target_structure is not None:
        if len(target_structure) != len(atoms):
            raise ValueError("run_minima_hopping: target_structure has a different atom count")
        target_fp = fingerprint(target_structure, fp_params)

    def reached_target(minimum: dict) -> str:
        if target_energy is not None and minimum["energy"] <= target_energy + params.energy_tol:
            return "target_energy"
        if target_fp is not None and (
            fingerprint_distance(minimum["fingerprint"], target_fp) < params.fp_threshold
        ):
            return "target_structure"
        return ""

    if workdir is not None:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    state = _load_checkpoint(workdir, symbols, params) if workdir is not None else None
    if state is not None:
        rng.bit_generator.state = state.rng_state
        hopper = _Hopper(symbols, calc, params, rng, state)
        log.info("resuming minima hopping in %s at step %d", workdir, state.step)
    else:
        state = _State(0, params.temperature0, params.ediff0, 0, {}, 0, minima=[])
        hopper = _Hopper(symbols, calc, params, rng, state)
        start = hopper.atoms_at(atoms.positions)
        converged = hopper.relax(start)
        state.fragment_cutoff = params.fragmentation_factor * median_nearest_neighbour(
            start.positions
        )
        if not converged or hopper.fragmented(start):
            # quasi-Newton steps can blow apart a random start with close contacts: redo it
            # with FIRE, whose steps are limited by the velocity damping
            start = hopper.atoms_at(atoms.positions)
            if not FIRE(start, logfile=None).run(fmax=params.fmax, steps=params.max_relax_steps):
                raise RuntimeError("run_minima_hopping: relaxation of the start structure failed")
            state.fragment_cutoff = params.fragmentation_factor * median_nearest_neighbour(
                start.positions
            )
        if hopper.fragmented(start):
            raise ValueError("run_minima_hopping: the relaxed start structure is fragmented")
        hopper.add_minimum(start, fingerprint(start, fp_params), 0)
        state.n_force_calls = hopper.calc.n_calls
        state.rng_state = rng.bit_generator.state
        state.stop_reason = reached_target(state.minima[0])
        if workdir is not None:
            _checkpoint(workdir, symbols, params, state)

    while state.stop_reason not in FINAL_STOP_REASONS:
        if state.step >= max_steps:
            state.stop_reason = "max_steps"
            break
        if max_wall_seconds is not None and time.monotonic() - started > max_wall_seconds:
            state.stop_reason = "wall_time"
            break
        new_index = hopper.hop()
        state.stop_reason = reached_target(state.minima[new_index]) if new_index is not None else ""
        if workdir is not None:
            _checkpoint(workdir, symbols, params, state)
        e_best = min(m["energy"] for m in state.minima)
        e_current = state.minima[state.current]["energy"]
        log.info(
            "MH step %d T=%.1f K Ediff=%.4g E_current=%.6f E_best=%.6f minima=%d calls=%d",
            state.step,
            state.temperature,
            state.ediff,
            e_current,
            e_best,
            len(state.minima),
            state.n_force_calls,
        )
        if progress is not None:
            progress(state.step, state.temperature, state.ediff, e_current, e_best)
    if workdir is not None:
        _checkpoint(workdir, symbols, params, state)

    minima = _minima_atoms(symbols, state.minima)
    best = min(minima, key=lambda m: m.info["energy"])
    return MHResult(
        minima=minima,
        best_atoms=best,
        best_energy=best.info["energy"],
        n_force_calls=state.n_force_calls,
        n_steps=state.step,
        stop_reason=state.stop_reason,
        n_accepted=state.n_accepted,
        n_rejected=state.n_rejected,
        n_same=state.n_same,
        n_fragmented=state.n_fragmented,
        n_unconverged=state.n_unconverged,
        temperature=state.temperature,
        ediff=state.ediff,
    )
