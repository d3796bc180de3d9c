"""The `energy` and `hop` commands: any calculator on any structure file, one MH run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms
from ase.io import iread, read, write
from tqdm import tqdm

from .calculators.dft import DFTSettings
from .calculators.factory import calculator_id, isolated_atom_energy, make_calculator
from .units import binding_energy_per_atom_kcal


def _atom_energy(spec: str, threads: int) -> float:
    kind = spec.partition(":")[0]
    if kind == "gap":
        from .units import E_MG1_PAPER_EV

        return E_MG1_PAPER_EV  # a GAP's e0 is the reference E(Mg1) (paper Eq. 2)
    return isolated_atom_energy(spec, DFTSettings(threads=threads))


def energy_command(args: argparse.Namespace) -> int:
    spec = args.calculator
    calc = make_calculator(spec, DFTSettings(threads=args.threads))
    e_atom = _atom_energy(spec, args.threads)
    out = args.out or args.structures.with_suffix(".energies.csv")
    rows, relaxed = [], []
    frames = list(iread(str(args.structures), index=":"))
    for index, atoms in enumerate(tqdm(frames, desc=f"{spec} energies", file=sys.stderr)):
        n = len(atoms)
        row = {
            "index": index,
            "n_atoms": n,
            "energy_ev": np.nan,
            "e_bond_kcal_mol_atom": np.nan,
            "error": "",
        }
        probe = Atoms(
            atoms.numbers,
            positions=atoms.positions,
            info={"label": f"{args.structures.name}[{index}]"},
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
        except Exception as exc:  # noqa: BLE001 - reported per structure, never a made-up energy
            row["error"] = f"{type(exc).__name__}: {exc}"
            print(f"structure {index}: {row['error']}", file=sys.stderr)
        else:
            row["energy_ev"] = energy
            row["e_bond_kcal_mol_atom"] = binding_energy_per_atom_kcal(energy, n, e_atom)
        rows.append(row)
    pd.DataFrame(rows).to_csv(out, index=False)
    if args.relax:
        write(out.with_suffix(".relaxed.extxyz"), relaxed, format="extxyz")
    failed = sum(bool(r["error"]) for r in rows)
    print(f"wrote {out} ({len(rows)} structures, {failed} failed)")
    return 0 if not failed else 3


def hop_command(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .mh.minima_hopping import LENNARD_JONES_PARAMS, MHParams, run_minima_hopping
    from .structures import random_cluster

    kind = args.calculator.partition(":")[0]
    params = LENNARD_JONES_PARAMS if kind == "lj" else MHParams()
    if args.temperature is not None:
        params = replace(params, temperature0=args.temperature)
    if args.mdmin is not None:
        params = replace(params, mdmin=args.mdmin)
    if args.start:
        atoms = read(args.start)
    elif kind == "lj":
        scaled = random_cluster(
            args.atoms, np.random.default_rng(args.seed), min_distance=0.95, bond_length=1.15
        )
        atoms = Atoms(f"Ar{args.atoms}", positions=scaled.positions)
    else:
        atoms = random_cluster(args.atoms, np.random.default_rng(args.seed))
    atoms.pbc = False
    atoms.cell = None

    def progress(step, temperature, ediff, current, best):
        print(
            f"step {step:4d}  T {temperature:8.1f} K  Ediff {ediff:.4f}  E {current:.6f}  "
            f"best {best:.6f}",
            file=sys.stderr,
            flush=True,
        )

    out: Path = args.out
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
