"""Minima hopping (Goedecker, J. Chem. Phys. 120, 9911 (2004)) for free clusters with any ASE
calculator.

One hop = one escape trial from the current minimum M:
  1. Maxwell-Boltzmann velocities at temperature T without net momentum, their direction softened
     towards low-curvature modes of M (escape.soften; Schoenborn et al. 2009), kinetic energy kept;
  2. velocity-Verlet MD (escape.escape_md) until `mdmin` minima of E_pot have been passed; its
     time step adapts from hop to hop to the measured energy conservation (md_energy_drift).
     An MD whose minimum of E_pot lies back inside M's basin (no atom further than
     md_home_radius x the median nearest-neighbour distance from M) ends there: a failed escape,
     no relaxation;
  3. relaxation with L-BFGS (lbfgs.LBFGSCore) to `fmax`; 1e-4 eV/A puts the energy within
     1e-4 eV of the minimum even on the flat Mg surfaces (tests/test_minima_hopping.py measures
     it). A relaxation that comes within home_radius x NN of M is stopped: it falls back into M;
  4. feedback (Goedecker 2004): back in M or a minimum seen before -> T *= beta_increase; a new
     minimum -> T *= beta_decrease; T stays within [temperature_min, temperature_max]. A minimum
     other than M is accepted when E_new - E_M < Ediff (then Ediff *= alpha_accept, else
     Ediff *= alpha_reject).
Two minima are the same when their energies differ by less than energy_tol and their
overlap-matrix fingerprints by less than fp_threshold (mh.fingerprint). A relaxed structure that
is fragmented (graph of atoms closer than fragmentation_factor x the median nearest-neighbour
distance of the relaxed start has several components) is counted and never accepted; during the
MD a separating fragment is turned back.

Every energy+force call (softening, MD, relaxation, including the start's relaxation) is counted
in n_force_calls. With a workdir the run checkpoints after every hop (state.json with
full-precision minima, RNG state and feedback variables, written atomically); calling
run_minima_hopping again with the same workdir resumes and gives the result of an uninterrupted
run with the same seed. docs/minima_hopping.md has the benchmark against published codes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from ase.io import write

from paper_artifact.calculators.lbfgs import LBFGSCore
from paper_artifact.fileio import atomic_path, atomic_write_text, read_state_json
from paper_artifact.mh.escape import (
    CountedPotential,
    escape_md,
    lowest_curvature_mode,
    median_nearest_neighbour,
    n_fragments,
    project_out,
    relocation_move,
    rigid_motion_basis,
    soften,
    thermal_velocities,
)
from paper_artifact.mh.fingerprint import (
    MG_FP_IDENTITY_THRESHOLD,
    FingerprintParams,
    fingerprint,
    fingerprint_distance,
)

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
MINIMA_FILE = "minima.extxyz"
FINAL_STOP_REASONS = ("target_energy", "target_structure", "callback")
SADDLE_CURVATURE_TOL = 1e-4  # eV/A^2; below minus this the point may be a saddle
SADDLE_PUSH = 0.1  # x median NN distance: the largest atomic move off a saddle


class CheckpointMismatchError(ValueError):
    """A workdir's checkpoint was written for another run (atoms, start, calculator, params or
    seed); the message names every difference."""


@dataclass(frozen=True)
class MHParams:
    """Minima-hopping parameters (energies eV, lengths A, temperatures K, times fs).

    Defaults: benchmarks/bench_minima_hopping.py (Gupta Mg13/Mg19, Lennard-Jones LJ13/LJ38);
    temperature0 is the system's (LJ with epsilon = 1 eV used 3481 K).
    """

    temperature0: float = 1000.0
    temperature_min: float | None = None  # default temperature0 / 4
    temperature_max: float | None = None  # default 8 x temperature0
    beta_increase: float = 1.1
    beta_decrease: float = 1.0 / 1.1
    ediff0: float = 0.1
    alpha_accept: float = 1.0 / 1.05
    alpha_reject: float = 1.05
    mdmin: int = 2  # MD stops at this many minima of E_pot
    md_timestep_fs: float = 10.0  # first time step (real masses); then adapted
    md_energy_drift: float = 0.05  # target (max-min E_tot) / (max-min E_pot) of one MD
    max_md_steps: int = 10000
    softening_steps: int = 15
    softening_displacement: float = 0.01
    fmax: float = 1e-4  # relaxation convergence, eV/A
    relax_inverse_curvature: float = 0.01  # A^2/eV, first L-BFGS scale; then carried along
    max_relax_steps: int = 3000
    md_home_radius: float = 0.3  # x median NN distance: an MD ending this close is not relaxed
    home_radius: float = 0.1  # x median NN distance: a relaxation this close stops
    home_energy: float = 0.1  # ... once less than this above the start minimum
    certify_lowest: int = 5  # at the end, the Hessian of this many lowest minima is checked
    energy_tol: float = 1e-3
    fp_threshold: float = MG_FP_IDENTITY_THRESHOLD
    fp_width_scale: float = 1.0
    fragmentation_factor: float = 1.6
    relocation_probability: float = 1.0  # chance an escape tries relocation_move before MD

    def __post_init__(self) -> None:
        positive = (
            "temperature0", "beta_increase", "beta_decrease", "ediff0", "alpha_accept",
            "alpha_reject", "md_timestep_fs", "md_energy_drift", "softening_displacement",
            "fmax", "relax_inverse_curvature", "home_energy", "energy_tol", "fp_threshold",
            "fp_width_scale", "fragmentation_factor",
        )  # fmt: skip
        for name in positive:
            if not getattr(self, name) > 0.0:
                raise ValueError(f"MHParams.{name} must be > 0, got {getattr(self, name)}")
        for name in ("mdmin", "max_md_steps", "max_relax_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"MHParams.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("softening_steps", "md_home_radius", "home_radius", "certify_lowest"):
            if getattr(self, name) < 0:
                raise ValueError(f"MHParams.{name} must be >= 0, got {getattr(self, name)}")
        if not self.t_min <= self.temperature0 <= self.t_max:
            raise ValueError("MHParams: need temperature_min <= temperature0 <= temperature_max")

    @property
    def t_min(self) -> float:
        return self.temperature0 / 4.0 if self.temperature_min is None else self.temperature_min

    @property
    def t_max(self) -> float:
        return 8.0 * self.temperature0 if self.temperature_max is None else self.temperature_max


# Lennard-Jones clusters with epsilon = 1 eV, sigma = 1 A and Ar masses (the `hop --calculator lj`
# command and benchmarks/bench_minima_hopping.py): k_B T0 = 0.3 epsilon, a first time step of 3 fs
# (the Ar time unit is 64 fs), fingerprint Gaussians half as wide (sigma is about half the Ar
# covalent diameter).
LENNARD_JONES_PARAMS = MHParams(temperature0=3481.0, md_timestep_fs=3.0, fp_width_scale=0.5)


@dataclass(frozen=True)
class MHResult:
    """minima: every distinct minimum in order of discovery; info keys energy, fingerprint,
    step (hop of first discovery, 0 = relaxed start) and visits."""

    minima: list[Atoms]
    best_atoms: Atoms
    best_energy: float
    n_force_calls: int
    n_steps: int
    stop_reason: str  # max_steps|wall_time|max_calls|target_energy|target_structure|callback
    n_accepted: int
    n_rejected: int
    n_same: int  # escapes that fell back into the current minimum
    n_fragmented: int  # relaxed escapes that were not one cluster
    n_unconverged: int  # relaxations that hit max_relax_steps
    n_md_restarts: int  # MDs restarted with a smaller time step
    n_fragment_fixes: int  # fragments turned back during MD
    n_saddles: int  # checked minima that were first-order saddles (relaxed again, dropped)
    wall_seconds: float  # time in hops and in the final check (not reproducible)
    temperature: float
    ediff: float


@dataclass
class _State:
    step: int
    temperature: float
    ediff: float
    dt: float  # ASE time units
    inverse_curvature: float  # L-BFGS scale carried from one relaxation to the next
    current: int
    rng_state: dict
    n_force_calls: int
    fragment_cutoff: float
    n_accepted: int = 0
    n_rejected: int = 0
    n_same: int = 0
    n_fragmented: int = 0
    n_unconverged: int = 0
    n_md_restarts: int = 0
    n_fragment_fixes: int = 0
    n_saddles: int = 0
    wall_seconds: float = 0.0  # spent in hops, over every resumed part of the run
    stop_reason: str = ""
    minima: list[dict] = field(default_factory=list)  # positions, energy, fingerprint, step, visits

    @classmethod
    def fresh(cls, params: MHParams, fragment_cutoff: float = 0.0) -> _State:
        return cls(
            step=0,
            temperature=params.temperature0,
            ediff=params.ediff0,
            dt=params.md_timestep_fs * units.fs,
            inverse_curvature=params.relax_inverse_curvature,
            current=0,
            rng_state={},
            n_force_calls=0,
            fragment_cutoff=fragment_cutoff,
        )


@dataclass(frozen=True)
class Relaxed:
    positions: np.ndarray
    energy: float
    forces: np.ndarray
    converged: bool
    back_home: bool = False  # stopped early inside the harmonic region of the start minimum


def relax_lbfgs(
    potential: CountedPotential,
    x: np.ndarray,
    energy: float,
    forces: np.ndarray,
    fmax: float,
    inverse_curvature: float,
    max_steps: int,
    home: tuple[np.ndarray, float, float, float] | None = None,
) -> tuple[Relaxed, LBFGSCore]:
    """L-BFGS from x (energy and forces known) to max atomic force < fmax; returns the end point
    and the optimizer (its gamma and last step are reused).

    home = (positions, energy, max_displacement, energy_window) of the minimum the escape
    started from: once no atom is further than max_displacement from it and the energy is
    less than energy_window above it, the relaxation stops early (back_home).
    """
    core = LBFGSCore(inverse_curvature)
    for _ in range(max_steps):
        if np.sqrt((forces**2).sum(axis=1)).max() < fmax:
            return Relaxed(x, energy, forces, True), core
        if home is not None and energy < home[1] + home[3]:
            if np.sqrt(((x - home[0]) ** 2).sum(axis=1)).max() < home[2]:
                return Relaxed(x, energy, forces, True, back_home=True), core
        x = x + core.step(x.ravel(), -forces.ravel()).reshape(x.shape)
        energy, forces = potential(x)
    converged = np.sqrt((forces**2).sum(axis=1)).max() < fmax
    return Relaxed(x, energy, forces, bool(converged)), core


class _Hopper:
    def __init__(self, atoms: Atoms, calc: Calculator, params: MHParams, rng, state: _State):
        self.params = params
        self.rng = rng
        self.state = state
        self.potential = CountedPotential(atoms, calc, n_calls=state.n_force_calls)
        self.masses = atoms.get_masses()
        self.fp_params = FingerprintParams(width_scale=params.fp_width_scale)
        self.energies = np.array([m["energy"] for m in state.minima])
        self.fingerprints = [np.array(m["fingerprint"]) for m in state.minima]

    def relax(self, x: np.ndarray, home=None) -> Relaxed:
        energy, forces = self.potential(x)
        relaxed, core = relax_lbfgs(
            self.potential,
            x,
            energy,
            forces,
            self.params.fmax,
            self.state.inverse_curvature,
            self.params.max_relax_steps,
            home,
        )
        self.state.inverse_curvature = core.gamma
        return relaxed

    def certify_lowest(self, count: int) -> None:
        """Check the Hessian of the `count` lowest minima; a first-order saddle is flagged and
        relaxed again from a push along its negative mode (the result joins the minima).

        L-BFGS can stop on a saddle whose negative curvature is tiny: on Gupta Mg19 about 1 in
        40 relaxations ends at forces below 1e-4 eV/A on a saddle of curvature -0.002 eV/A^2,
        0.13 eV above the minimum it leads to. Neither the last L-BFGS steps nor a few
        Rayleigh-quotient steps find such a mode reliably (the lowest positive modes are as
        soft), so the finite-difference Hessian decides, for the minima that are reported.
        """
        p = self.params
        nn = self.state.fragment_cutoff / p.fragmentation_factor
        while True:
            order = [i for i in np.argsort(self.energies) if not self.state.minima[i]["saddle"]]
            todo = [i for i in order[:count] if not self.state.minima[i]["certified"]]
            if not todo:
                return
            for index in todo:
                minimum = self.state.minima[index]
                x = np.array(minimum["positions"])
                curvature, mode = lowest_curvature_mode(self.potential, x)
                minimum["certified"] = True
                if curvature >= -SADDLE_CURVATURE_TOL:
                    continue
                relaxed = self.relax(x + SADDLE_PUSH * nn * mode / np.abs(mode).max())
                if not relaxed.converged or self.fragmented(relaxed.positions):
                    continue
                fp = self.fingerprint(relaxed.positions)
                found = self.find(relaxed.energy, fp)
                if found == index:  # the push came back: a minimum after all
                    continue
                minimum["saddle"] = True
                self.state.n_saddles += 1
                if found is None:
                    self.add_minimum(relaxed, fp, self.state.step)

    def fingerprint(self, positions: np.ndarray) -> np.ndarray:
        return fingerprint(Atoms(self.potential.atoms.numbers, positions=positions), self.fp_params)

    def find(self, energy: float, fp: np.ndarray) -> int | None:
        close = np.flatnonzero(np.abs(self.energies - energy) < self.params.energy_tol)
        for index in close[np.argsort(np.abs(self.energies[close] - energy))]:
            if fingerprint_distance(self.fingerprints[index], fp) < self.params.fp_threshold:
                return int(index)
        return None

    def add_minimum(self, relaxed: Relaxed, fp: np.ndarray, step: int) -> int:
        self.state.minima.append(
            {
                "positions": relaxed.positions.tolist(),
                "forces": relaxed.forces.tolist(),
                "energy": relaxed.energy,
                "fingerprint": fp.tolist(),
                "step": step,
                "visits": 1,
                "certified": False,  # Hessian checked (certify_lowest)
                "saddle": False,
            }
        )
        self.energies = np.append(self.energies, relaxed.energy)
        self.fingerprints.append(fp)
        return len(self.state.minima) - 1

    def fragmented(self, positions: np.ndarray) -> bool:
        return n_fragments(positions, self.state.fragment_cutoff) > 1

    def escape(self) -> Relaxed | None:
        s, p = self.state, self.params
        current = s.minima[s.current]
        x0 = np.array(current["positions"])
        f0 = np.array(current["forces"])
        nn = s.fragment_cutoff / p.fragmentation_factor
        home = (x0, current["energy"], p.home_radius * nn, p.home_energy)
        if p.relocation_probability and self.rng.random() < p.relocation_probability:
            moved = relocation_move(x0, nn, self.rng)
            if moved is not None:
                return self.relax(moved, home)
        velocities = thermal_velocities(self.masses, s.temperature, self.rng)
        speed = np.sqrt(np.sum(self.masses[:, None] * velocities**2))
        if p.softening_steps:
            direction, _ = soften(
                self.potential, x0, f0, velocities, p.softening_steps, p.softening_displacement
            )
        else:
            direction = project_out(velocities, rigid_motion_basis(x0))
        velocities = direction * speed / np.sqrt(np.sum(self.masses[:, None] * direction**2))
        md = escape_md(
            self.potential,
            x0,
            current["energy"],
            f0,
            velocities,
            self.masses,
            s.dt,
            p.mdmin,
            p.max_md_steps,
            s.fragment_cutoff,
            p.md_home_radius * s.fragment_cutoff / p.fragmentation_factor,
        )
        s.n_md_restarts += md.n_restarts
        s.n_fragment_fixes += md.n_fragment_fixes
        factor = 1.05 if md.energy_drift < p.md_energy_drift else 1.0 / 1.05
        s.dt = md.dt * factor
        if md.home:
            return None  # the MD came back into the start basin: no relaxation needed
        return self.relax(md.positions, home)

    def hop(self, on_minimum) -> int | None:
        """One escape trial; returns the index of a newly found minimum, else None."""
        s, p = self.state, self.params
        s.step += 1
        relaxed = self.escape()
        new_index = None
        if relaxed is not None and relaxed.converged and not relaxed.back_home and on_minimum:
            if on_minimum(s.step, relaxed.positions, relaxed.energy):
                s.stop_reason = "callback"
        if relaxed is None or relaxed.back_home:
            s.n_same += 1
            s.minima[s.current]["visits"] += 1
            s.temperature *= p.beta_increase
        elif not relaxed.converged:
            s.n_unconverged += 1
        elif self.fragmented(relaxed.positions):
            s.n_fragmented += 1
            s.temperature *= p.beta_decrease
        else:
            fp = self.fingerprint(relaxed.positions)
            index = self.find(relaxed.energy, fp)
            if index == s.current:
                s.n_same += 1
                s.minima[index]["visits"] += 1
                s.temperature *= p.beta_increase
            else:
                if index is None:
                    index = new_index = self.add_minimum(relaxed, fp, s.step)
                    s.temperature *= p.beta_decrease
                else:
                    s.minima[index]["visits"] += 1
                    s.temperature *= p.beta_increase
                if relaxed.energy - s.minima[s.current]["energy"] < s.ediff:
                    s.current = index
                    s.n_accepted += 1
                    s.ediff *= p.alpha_accept
                else:
                    s.n_rejected += 1
                    s.ediff *= p.alpha_reject
        s.temperature = float(np.clip(s.temperature, p.t_min, p.t_max))
        s.n_force_calls = self.potential.n_calls
        s.rng_state = self.rng.bit_generator.state
        return new_index


def certify_minima(
    minima: list[Atoms], calc: Calculator, params: MHParams, count: int
) -> tuple[list[Atoms], int, int]:
    """Hessian check of the `count` lowest of `minima` (distinct minima of one cluster size, with
    info['energy'] in eV); see _Hopper.certify_lowest.

    Returns the minima sorted by energy, saddles replaced by the minima they relax to (info
    'origin' = 'saddle push'), each with info['certified']; the number of saddles; the calls.
    """
    if not minima:
        return [], 0, 0
    first = minima[0]
    cutoff = params.fragmentation_factor * median_nearest_neighbour(first.positions)
    state = _State.fresh(params, cutoff)
    hopper = _Hopper(first, calc, params, None, state)
    for atoms in minima:
        positions = atoms.positions.copy()
        relaxed = Relaxed(positions, float(atoms.info["energy"]), np.zeros_like(positions), True)
        hopper.add_minimum(relaxed, hopper.fingerprint(positions), int(atoms.info.get("step", 0)))
    hopper.certify_lowest(count)
    out = []
    for index, entry in enumerate(state.minima):
        if entry["saddle"]:
            continue
        if index < len(minima):
            atoms = minima[index].copy()
        else:
            atoms = Atoms(first.numbers, positions=np.array(entry["positions"]))
            atoms.info.update(energy=entry["energy"], origin="saddle push")
        atoms.info["certified"] = entry["certified"]
        out.append(atoms)
    out.sort(key=lambda a: a.info["energy"])
    return out, state.n_saddles, hopper.potential.n_calls


def _minima_atoms(numbers, minima: list[dict]) -> list[Atoms]:
    """The minima as Atoms (info energy, fingerprint, step, visits, certified), saddles left out."""
    out = []
    for m in minima:
        if m["saddle"]:
            continue
        atoms = Atoms(numbers, positions=np.array(m["positions"]))
        atoms.info.update(
            energy=m["energy"],
            fingerprint=np.array(m["fingerprint"]),
            step=m["step"],
            visits=m["visits"],
            certified=m["certified"],
        )
        out.append(atoms)
    return out


def _checkpoint(workdir: Path, key: dict, state: _State, numbers) -> None:
    atomic_write_text(workdir / STATE_FILE, json.dumps({**key, "state": asdict(state)}))
    with atomic_path(workdir / MINIMA_FILE) as temporary:
        write(temporary, _minima_atoms(numbers, state.minima), format="extxyz")


def _load_checkpoint(workdir: Path, key: dict) -> _State | None:
    path = workdir / STATE_FILE
    payload = read_state_json(path)
    if payload is None:
        return None
    differences = _key_differences(payload, key)
    if differences:
        raise CheckpointMismatchError(
            f"{path}: the checkpoint belongs to another run ({'; '.join(differences)}); "
            "use a new workdir or delete this one"
        )
    return _State(**payload["state"])


def _seed_text(key_value: str | None) -> str:
    """The checkpoint's seed entry (entropy followed by the spawn key) for a message."""
    if not key_value:
        return "none"
    entropy, _, spawn = key_value.partition("(")
    return entropy if spawn == ")" else f"{entropy}, spawned ({spawn}"


def _key_differences(saved: dict, key: dict) -> list[str]:
    """'another NAME (SAVED there, NEW now)' for every key entry that differs."""
    found = []
    for name, value in key.items():
        old = saved.get(name)
        if old == value:
            continue
        if name == "start":
            found.append("another start (other positions)")
        elif name == "seed":
            found.append(f"another seed ({_seed_text(old)} there, {_seed_text(value)} now)")
        elif name == "params" and isinstance(old, dict):
            found += [
                f"another params.{field} ({old.get(field)!r} there, {new!r} now)"
                for field, new in value.items()
                if old.get(field) != new
            ]
        else:
            found.append(f"another {name} ({old!r} there, {value!r} now)")
    return found


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
    max_calls: int | None = None,
    progress: Callable[[int, float, float, float, float], None] | None = None,
    on_minimum: Callable[[int, np.ndarray, float], bool] | None = None,
    calculator_id: str = "",
) -> MHResult:
    """Minima hopping from `atoms` (relaxed first, hop 0) for at most max_steps hops.

    Stops early when a minimum with energy <= target_energy + energy_tol or with fingerprint
    within fp_threshold of target_structure is found, when on_minimum(hop, positions, energy),
    called after every finished relaxation, returns True, after max_wall_seconds of this call,
    or once max_calls energy+force calls were spent. progress(step, T, Ediff, E_current, E_best) is
    called after every hop. A workdir checkpoint is resumed only if it was written for the same
    atoms, start positions, calculator_id (e.g. the calculator spec and model hash), parameters
    and seed; otherwise the run refuses and names what differs.
    """
    if any(atoms.pbc):
        raise ValueError("run_minima_hopping: only non-periodic clusters are supported")
    if len(atoms) < 2:
        raise ValueError("run_minima_hopping: a cluster needs at least two atoms")
    started = time.monotonic()
    seed_seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.Generator(np.random.PCG64(seed_seq))
    reached = _target_test(atoms, params, target_energy, target_structure)
    key = {
        "symbols": atoms.get_chemical_formula(mode="all"),
        "start": hashlib.sha256(np.ascontiguousarray(atoms.positions).tobytes()).hexdigest(),
        "calculator": calculator_id,
        "params": json.loads(json.dumps(asdict(params))),
        "seed": str(seed_seq.entropy) + str(seed_seq.spawn_key),
    }

    def checkpoint() -> None:
        if workdir is not None:
            _checkpoint(Path(workdir), key, state, atoms.numbers)

    state = None
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        state = _load_checkpoint(Path(workdir), key)
    if state is not None:
        rng.bit_generator.state = state.rng_state
        hopper = _Hopper(atoms, calc, params, rng, state)
        log.info("resuming minima hopping in %s at hop %d", workdir, state.step)
    else:
        hopper = _start(atoms, calc, params, rng, on_minimum)
        state = hopper.state
        state.stop_reason = state.stop_reason or reached(state.minima[0])
        checkpoint()
    while state.stop_reason not in FINAL_STOP_REASONS:
        budget = _budget_spent(state, max_steps, max_calls, max_wall_seconds, started)
        if budget:
            state.stop_reason = budget
            break
        hop_started = time.monotonic()
        new_index = hopper.hop(on_minimum)
        state.wall_seconds += time.monotonic() - hop_started
        if state.stop_reason != "callback":
            state.stop_reason = reached(state.minima[new_index]) if new_index is not None else ""
        checkpoint()
        e_best = float(hopper.energies.min())
        e_current = state.minima[state.current]["energy"]
        log.debug(
            "MH hop %d T=%.1f K Ediff=%.4g E_current=%.6f E_best=%.6f minima=%d calls=%d",
            state.step, state.temperature, state.ediff, e_current, e_best, len(state.minima),
            state.n_force_calls,
        )  # fmt: skip
        if progress is not None:
            progress(state.step, state.temperature, state.ediff, e_current, e_best)
    return _result(atoms, calc, params, rng, state)


def _target_test(atoms, params: MHParams, target_energy, target_structure) -> Callable:
    """minimum -> 'target_energy' | 'target_structure' | '' for the run's stop targets."""
    target_fp = None
    if target_structure is not None:
        if len(target_structure) != len(atoms):
            raise ValueError("run_minima_hopping: target_structure has a different atom count")
        target_fp = fingerprint(target_structure, FingerprintParams(params.fp_width_scale))

    def reached(minimum: dict) -> str:
        if target_energy is not None and minimum["energy"] <= target_energy + params.energy_tol:
            return "target_energy"
        if target_fp is not None and (
            fingerprint_distance(minimum["fingerprint"], target_fp) < params.fp_threshold
        ):
            return "target_structure"
        return ""

    return reached


def _budget_spent(state, max_steps, max_calls, max_wall_seconds, started) -> str:
    if state.step >= max_steps:
        return "max_steps"
    if max_wall_seconds is not None and time.monotonic() - started > max_wall_seconds:
        return "wall_time"
    if max_calls is not None and state.n_force_calls >= max_calls:
        return "max_calls"
    return ""


def _start(atoms: Atoms, calc, params: MHParams, rng, on_minimum) -> _Hopper:
    """A new run: the start relaxed (hop 0) and checked to be one cluster."""
    state = _State.fresh(params)
    hopper = _Hopper(atoms, calc, params, rng, state)
    start = hopper.relax(atoms.positions.copy())
    if not start.converged:
        raise RuntimeError("run_minima_hopping: relaxation of the start structure failed")
    nearest = median_nearest_neighbour(start.positions)
    state.fragment_cutoff = params.fragmentation_factor * nearest
    if hopper.fragmented(start.positions):
        raise ValueError("run_minima_hopping: the relaxed start structure is fragmented")
    hopper.add_minimum(start, hopper.fingerprint(start.positions), 0)
    if on_minimum is not None and on_minimum(0, start.positions, start.energy):
        state.stop_reason = "callback"
    state.n_force_calls = hopper.potential.n_calls
    state.rng_state = rng.bit_generator.state
    return hopper


def _result(atoms: Atoms, calc, params: MHParams, rng, state: _State) -> MHResult:
    """The run's result after the Hessian check of its lowest minima. The check works on a copy:
    the checkpoint keeps the search state, so a resumed, longer run gives what an uninterrupted
    one does."""
    state = copy.deepcopy(state)
    if params.certify_lowest:
        check_started = time.monotonic()
        checker = _Hopper(atoms, calc, params, rng, state)
        checker.certify_lowest(params.certify_lowest)
        state.n_force_calls = checker.potential.n_calls
        state.wall_seconds += time.monotonic() - check_started
    minima = _minima_atoms(atoms.numbers, state.minima)
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
        n_md_restarts=state.n_md_restarts,
        n_fragment_fixes=state.n_fragment_fixes,
        n_saddles=state.n_saddles,
        wall_seconds=state.wall_seconds,
        temperature=state.temperature,
        ediff=state.ediff,
    )
