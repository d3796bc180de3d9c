"""Local relaxation with ASE optimizers, shared by the GAP, Gupta and DFT stages.

Gaussian's default geometry-convergence test has four criteria (atomic units):
max force 0.00045 Ha/Bohr, RMS force 0.0003 Ha/Bohr, max displacement 0.0018 Bohr and
RMS displacement 0.0012 Bohr (Opt=Tight: 0.000015, 0.00001, 0.00006, 0.00004). Gaussian also
accepts a geometry when the forces are 100x below threshold regardless of the displacements.
Here only the max force criterion is used: an ASE optimizer stops when max_i |F_i| < fmax
(note ASE takes the norm of each atom's force vector, Gaussian the largest Cartesian component,
so ASE's test is slightly stricter at the same number).

The default optimizer is L-BFGS with the standard initial-Hessian scaling (lbfgs.ScaledLBFGS):
on Mg clusters it needs about a third of the force calls of ASE's BFGS with its default
stiffness (benchmarks/bench_relaxation.py), which is what a DFT relaxation costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.calculators.singlepoint import SinglePointCalculator
from ase.optimize import BFGS, FIRE, LBFGS
from ase.units import Bohr, Hartree

from ..validation import StructureRules, validate_structure
from .lbfgs import ScaledLBFGS

GAUSSIAN_DEFAULT_FMAX = 0.00045 * Hartree / Bohr  # eV/A (= 0.02314)
OPTIMIZERS = {"ScaledLBFGS": ScaledLBFGS, "BFGS": BFGS, "FIRE": FIRE, "LBFGS": LBFGS}


@dataclass(frozen=True)
class RelaxResult:
    atoms: Atoms  # relaxed copy carrying a SinglePointCalculator (energy, forces)
    energy: float  # eV
    converged: bool
    n_steps: int
    frames: tuple[Atoms, ...] = ()  # with keep_frames: every geometry evaluated, first = input


def relax(
    atoms: Atoms,
    calc: Calculator,
    fmax: float = GAUSSIAN_DEFAULT_FMAX,
    steps: int = 1000,
    optimizer: str = "ScaledLBFGS",
    logfile: str | None = None,
    trajectory: str | None = None,
    keep_frames: bool = False,
) -> RelaxResult:
    """Relax a copy of `atoms` with `calc`; the input is not modified. keep_frames: return every
    geometry of the path with its energy and forces (SinglePointCalculator)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"relax: optimizer {optimizer!r} is not one of {sorted(OPTIMIZERS)}")
    work = atoms.copy()
    work.calc = calc
    dynamics = OPTIMIZERS[optimizer](work, logfile=logfile, trajectory=trajectory)
    frames = []
    if keep_frames:

        def snapshot() -> None:
            frame = Atoms(work.numbers, positions=work.positions)
            frame.calc = SinglePointCalculator(
                frame, energy=float(work.get_potential_energy()), forces=work.get_forces().copy()
            )
            frames.append(frame)

        dynamics.attach(snapshot, interval=1)
    converged = bool(dynamics.run(fmax=fmax, steps=steps))
    energy = float(work.get_potential_energy())
    forces = work.get_forces()
    relaxed = work.copy()
    relaxed.calc = SinglePointCalculator(relaxed, energy=energy, forces=forces)
    return RelaxResult(relaxed, energy, converged, dynamics.nsteps, tuple(frames))


FRAGMENT_FACTOR = 1.6  # x median nearest-neighbour distance: atoms farther apart are not bonded


@dataclass(frozen=True)
class RelaxTask:
    """One relaxation for an executor: the calculator is made in the worker."""

    atoms: Atoms
    calc_factory: Callable
    fmax: float
    steps: int
    label: str
    rules: StructureRules | None = None
    keep_frames: bool = False


def relax_task(task: RelaxTask) -> dict:
    """atoms (relaxed, SinglePointCalculator), energy_ev, converged, n_steps, fragments; with
    keep_frames also frames (the path, see relax) and method (the calculator's class name)."""
    from ..mh.escape import median_nearest_neighbour, n_fragments

    if task.rules is not None:
        validate_structure(task.atoms, task.rules, file=task.label)
    atoms = Atoms(task.atoms.numbers, positions=task.atoms.positions, info={"label": task.label})
    calc = task.calc_factory()
    result = relax(atoms, calc, fmax=task.fmax, steps=task.steps, keep_frames=task.keep_frames)
    cutoff = FRAGMENT_FACTOR * median_nearest_neighbour(task.atoms.positions)
    outcome = {
        "atoms": result.atoms,
        "energy_ev": result.energy,
        "converged": result.converged,
        "n_steps": result.n_steps,
        "fragments": n_fragments(result.atoms.positions, cutoff),
    }
    if task.keep_frames:
        outcome.update(frames=result.frames, method=type(calc).__name__)
    return outcome


def relax_many(
    structures: Sequence[Atoms],
    labels: Sequence[str],
    calc_factory: Callable,
    fmax: float,
    steps: int,
    map_fn: Callable,
    rules: StructureRules | None = None,
    keep_frames: bool = False,
) -> list:
    """Relax every structure through map_fn (an executor's map); a failure comes back as the
    executor's TaskError in place of the result; with `rules`, so is a structure the calculator
    cannot take (validation.rules_for)."""
    tasks = [
        RelaxTask(a, calc_factory, fmax, steps, label, rules, keep_frames)
        for a, label in zip(structures, labels, strict=True)
    ]
    return map_fn(relax_task, tasks, labels=list(labels), on_error="return", desc="relaxations")
