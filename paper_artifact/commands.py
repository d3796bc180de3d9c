"""The `energy`, `hop` and `labels verify` commands: any calculator on any structure file, one MH
run, a recomputed sample of a profile's shipped reference labels."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms
from ase.io import write
from tqdm import tqdm

from .calculators.dft import DFTSettings
from .calculators.factory import calculator_id, isolated_atom_energy, make_calculator
from .fileio import atomic_path
from .units import binding_energy_per_atom_kcal
from .validation import (
    InputError,
    StructureError,
    StructureFileError,
    check_size,
    check_writable,
    location,
    read_frames,
    rules_for,
    validate_structure,
)

EXIT_BAD_INPUT = 2  # nothing computed, nothing written
EXIT_BAD_FRAMES = 3  # some frames rejected or failed; the others computed and written


def _atom_energies(spec: str, threads: int) -> Callable[[Atoms], float]:
    """Per structure, the mean isolated-atom energy for E_bond: a GAP's own e0 per element (what
    its fit subtracted), else the calculator's isolated Mg atom."""
    kind, _, model = spec.partition(":")
    if kind == "gap":
        from .calculators.gap import model_e0

        e0 = model_e0(model)
        return lambda atoms: float(np.mean([e0[z] for z in atoms.numbers]))
    e_atom = isolated_atom_energy(spec, DFTSettings(threads=threads))
    return lambda atoms: e_atom


def energy_command(args: argparse.Namespace) -> int:
    try:
        return _energies(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _read_readable(path: Path) -> tuple[list[Atoms], StructureFileError | None]:
    """The frames up to the first unreadable one, and its error; raises when none is readable."""
    frames: list[Atoms] = []
    try:
        frames.extend(read_frames(path))
    except StructureFileError as error:
        if error.reason != "unreadable_frame":
            raise
        return frames, error
    return frames, None


def _energies(args: argparse.Namespace) -> int:
    spec, source = args.calculator, args.structures
    out = args.out or source.with_suffix(".energies.csv")
    relaxed_out = out.with_suffix(".relaxed.extxyz")
    for path in (out, relaxed_out) if args.relax else (out,):
        check_writable(path)
    rules = rules_for(spec)
    frames, unreadable = _read_readable(source)
    rows, valid = [], []
    for index, atoms in enumerate(frames):
        row = {
            "index": index,
            "n_atoms": len(atoms),
            "energy_ev": np.nan,
            "e_bond_kcal_mol_atom": np.nan,
            "error": "",
        }
        try:
            validate_structure(atoms, rules, source, index)
        except StructureError as error:
            row["error"] = f"{error.reason}: {error.detail}"
            print(error, file=sys.stderr)
        else:
            valid.append((row, atoms))
        rows.append(row)
    if unreadable is not None:
        rows.append(
            {"index": unreadable.frame, "error": f"{unreadable.reason}: {unreadable.detail}"}
        )
        print(unreadable, file=sys.stderr)
    rejected = len(rows) - len(valid)
    relaxed = _compute(args, valid) if valid else []
    failed = sum(bool(row["error"]) for row in rows) - rejected
    with atomic_path(out) as temporary:
        table = pd.DataFrame(rows).astype({"n_atoms": "Int64"})
        table.to_csv(temporary, index=False)
    if args.relax:
        with atomic_path(relaxed_out) as temporary:
            write(temporary, relaxed, format="extxyz")
    print(
        f"wrote {out} ({len(rows)} frame(s): {len(valid) - failed} computed, "
        f"{rejected} rejected, {failed} failed)"
    )
    return EXIT_BAD_FRAMES if rejected or failed else 0


def _compute(args: argparse.Namespace, valid: list[tuple[dict, Atoms]]) -> list[Atoms]:
    """Fill each row's energy (or its error) in place; returns the relaxed structures."""
    spec, source = args.calculator, args.structures
    calc = make_calculator(spec, DFTSettings(threads=args.threads))
    e_atom = _atom_energies(spec, args.threads)
    relaxed = []
    for row, atoms in tqdm(valid, desc=f"{spec} energies", file=sys.stderr):
        index = row["index"]
        probe = Atoms(
            atoms.numbers, positions=atoms.positions, info={"label": f"{source.name}[{index}]"}
        )
        try:
            if args.relax:
                from .calculators.relax import relax

                result = relax(probe, calc, fmax=args.fmax, steps=args.steps)
                probe, energy = result.atoms, result.energy
                row["converged"] = result.converged
                relaxed.append(probe)
            else:
                probe.calc = calc
                energy = float(probe.get_potential_energy())
            if not np.isfinite(energy):
                raise FloatingPointError(f"the calculator returned energy {energy}")
        except Exception as exc:  # noqa: BLE001 - reported per structure, never a made-up energy
            row["error"] = f"{type(exc).__name__}: {exc}"
            print(f"{location(source, index)}: {row['error']}", file=sys.stderr)
        else:
            row["energy_ev"] = energy
            row["e_bond_kcal_mol_atom"] = binding_energy_per_atom_kcal(
                energy, len(probe), e_atom(probe)
            )
    return relaxed


def _random_start(kind: str, n_atoms: int, seed: int) -> Atoms:
    from .structures import random_cluster

    rng = np.random.default_rng(seed)
    if kind == "lj":  # reduced units: Ar masses, sigma = 1
        scaled = random_cluster(n_atoms, rng, min_distance=0.95, bond_length=1.15)
        return Atoms(f"Ar{n_atoms}", positions=scaled.positions)
    return random_cluster(n_atoms, rng)


def hop_command(args: argparse.Namespace) -> int:
    from .mh.minima_hopping import CheckpointMismatchError

    try:
        return _hop(args)
    except (InputError, CheckpointMismatchError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _hop(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .mh.minima_hopping import LENNARD_JONES_PARAMS, MHParams, run_minima_hopping

    out: Path = args.out
    check_writable(out / "minima.extxyz")
    rules = rules_for(args.calculator, min_atoms=2)  # minima hopping needs a cluster
    kind = args.calculator.partition(":")[0]
    params = LENNARD_JONES_PARAMS if kind == "lj" else MHParams()
    if args.temperature is not None:
        params = replace(params, temperature0=args.temperature)
    if args.mdmin is not None:
        params = replace(params, mdmin=args.mdmin)
    if args.start:
        frames = list(read_frames(args.start))
        atoms = frames[-1]  # the last frame, as ase.io.read
        validate_structure(atoms, rules, args.start, len(frames) - 1)
    else:
        check_size(args.atoms, rules, "--atoms")
        atoms = _random_start(kind, args.atoms, args.seed)
    atoms.pbc = False
    atoms.cell = None

    def progress(step, temperature, ediff, current, best):
        print(
            f"step {step:4d}  T {temperature:8.1f} K  Ediff {ediff:.4f}  E {current:.6f}  "
            f"best {best:.6f}",
            file=sys.stderr,
            flush=True,
        )

    out.mkdir(parents=True, exist_ok=True)
    result = run_minima_hopping(
        atoms,
        make_calculator(args.calculator),
        params,
        args.seed,
        out / "checkpoint",
        args.steps,
        target_energy=args.target_energy,
        progress=progress,
        calculator_id=calculator_id(args.calculator),
    )
    for minimum in result.minima:
        minimum.info.pop("fingerprint", None)
    write(out / "minima.extxyz", result.minima, format="extxyz")
    write(out / "best.extxyz", result.best_atoms, format="extxyz")
    print(
        f"best energy {result.best_energy:.6f} after {result.n_steps} steps "
        f"({result.stop_reason}, {result.n_force_calls} force calls); "
        f"{len(result.minima)} minima in {out / 'minima.extxyz'}"
    )
    return 0


def label_tolerances(settings: DFTSettings) -> tuple[float, float]:
    """(energy eV, force eV/A) within which a recomputed DFT label must agree: the SCF's own
    thresholds (conv_tol on the energy, the orbital-gradient threshold on forces), since a fresh
    initial guess converges to another point inside them."""
    from ase.units import Bohr, Hartree

    gradient = settings.conv_tol_grad or float(np.sqrt(settings.conv_tol))
    return settings.conv_tol * Hartree, gradient * Hartree / Bohr


def verify_labels_command(cfg, labels: Path | None, sample: int | None, seed: int | None) -> int:
    """Recompute stored labels with the profile's reference method; exit 1 if any differs."""
    from .calculators.label_store import read_labels, sample_labels, verify_labels

    labels = labels or (cfg.reference.stored_labels and cfg.reference.stored_labels.resolve())
    if not labels:
        print(
            f"profile {cfg.profile} ships no reference labels (reference.stored_labels): "
            "nothing to verify"
        )
        return 0
    settings_key = cfg.reference.dft.cache_key()
    rows = sample_labels(
        read_labels(Path(labels)), settings_key, sample, cfg.seed if seed is None else seed
    )
    if not rows:
        print(f"error: {labels} has no labels made with the profile's settings", file=sys.stderr)
        return EXIT_BAD_INPUT
    energy_tol, force_tol = label_tolerances(cfg.reference.dft)
    print(
        f"recomputing {len(rows)} stored labels of {labels} with PySCF "
        f"(tolerances: {energy_tol:.2g} eV, {force_tol:.2g} eV/A)"
    )
    calculator = make_calculator("dft", cfg.reference.dft)
    checks = verify_labels(rows, calculator, energy_tol, force_tol)
    failed = [c for c in checks if not c.passed]
    worst_e = max(c.energy_difference_ev for c in checks)
    worst_f = max(c.max_force_difference for c in checks)
    print(
        f"{len(checks) - len(failed)} of {len(checks)} labels reproduced; largest |dE| "
        f"{worst_e:.2e} eV, largest |dF| {worst_f:.2e} eV/A"
    )
    return 1 if failed else 0
