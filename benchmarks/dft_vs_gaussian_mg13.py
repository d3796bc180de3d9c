"""PySCF BP86/6-31G(d) vs the Gaussian energies of the 10 lowest distinct Mg13 minima.

Binding energy per atom on each side uses that side's own E(Mg1) (PySCF: same settings;
Gaussian: the paper's -200.0696953 Ha). Writes one CSV row per structure and prints a JSON summary
(MAE and max |error| in kcal/mol/atom, whether the energy ordering is the same).

With --profile NAME the settings are that profile's reference.dft (e.g. dft-mini: density
fitting, grid level 2; issue 16).

Example (2 threads, results cached so a rerun or a killed run restarts where it stopped):
  PYTHONPATH=. python benchmarks/dft_vs_gaussian_mg13.py --threads 2 \
      --csv docs/dft_vs_gaussian_mg13.csv --cache /tmp/mg13_dft_cache.sqlite
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from ase import Atoms

from paper_artifact.calculators.cache import CachedCalculator, EnergyCache
from paper_artifact.calculators.dft import DFTSettings, PySCFDFT
from paper_artifact.config import load_profile
from paper_artifact.data.gaussian_mg13 import read_lowest_distinct_minima
from paper_artifact.units import (
    E_MG1_PAPER_HARTREE,
    EV_TO_KCAL_MOL,
    HARTREE_EV,
    binding_energy_per_atom_kcal,
)


def compare(
    structures: list[Atoms], settings: DFTSettings, cache: EnergyCache | None, csv_path: Path | None
) -> dict:
    dft = PySCFDFT(settings)
    e_atom_pyscf_ev = dft.isolated_atom_energy()
    calc = dft if cache is None else CachedCalculator(dft, cache, settings.cache_key())
    e_atom_gauss_ev = E_MG1_PAPER_HARTREE * HARTREE_EV
    rows = []
    for reference in structures:
        atoms = Atoms(reference.numbers, positions=reference.positions)
        atoms.info["label"] = reference.info["label"]
        atoms.calc = calc
        start = time.perf_counter()
        energy_ev = atoms.get_potential_energy()
        wall = time.perf_counter() - start
        n = len(atoms)
        gauss_ev = float(reference.info["energy_hartree"]) * HARTREE_EV
        eb_pyscf = binding_energy_per_atom_kcal(energy_ev, n, e_atom_pyscf_ev)
        eb_gauss = binding_energy_per_atom_kcal(gauss_ev, n, e_atom_gauss_ev)
        rows.append(
            {
                "label": reference.info["label"],
                "unique_minimum_rank": int(reference.info["unique_minimum_rank"]),
                "energy_gaussian_hartree": float(reference.info["energy_hartree"]),
                "energy_pyscf_hartree": energy_ev / HARTREE_EV,
                "ebond_gaussian_kcal_mol_atom": eb_gauss,
                "ebond_pyscf_kcal_mol_atom": eb_pyscf,
                "ebond_error_kcal_mol_atom": eb_pyscf - eb_gauss,
                "wall_time_s": wall,
                "from_cache": not dft.last_scf_log,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    errors = np.array([row["ebond_error_kcal_mol_atom"] for row in rows])
    order_gauss = np.argsort([row["energy_gaussian_hartree"] for row in rows], kind="stable")
    order_pyscf = np.argsort([row["energy_pyscf_hartree"] for row in rows], kind="stable")
    relative_gauss = np.array([row["energy_gaussian_hartree"] for row in rows])
    relative_pyscf = np.array([row["energy_pyscf_hartree"] for row in rows])
    relative_error_kcal = (
        ((relative_pyscf - relative_pyscf[0]) - (relative_gauss - relative_gauss[0]))
        * HARTREE_EV
        * EV_TO_KCAL_MOL
    )
    return {
        "settings": settings.cache_key(),
        "n_structures": len(rows),
        "e_mg1_pyscf_hartree": e_atom_pyscf_ev / HARTREE_EV,
        "e_mg1_gaussian_hartree": E_MG1_PAPER_HARTREE,
        "mae_ebond_kcal_mol_atom": float(np.mean(np.abs(errors))),
        "max_abs_error_ebond_kcal_mol_atom": float(np.max(np.abs(errors))),
        "mean_signed_error_ebond_kcal_mol_atom": float(np.mean(errors)),
        "std_error_ebond_kcal_mol_atom": float(np.std(errors)),
        "max_abs_error_relative_to_first_kcal_mol_cluster": float(
            np.abs(relative_error_kcal).max()
        ),
        "same_energy_ordering": bool(np.array_equal(order_gauss, order_pyscf)),
        "ordering_pyscf_by_rank": [rows[i]["unique_minimum_rank"] for i in order_pyscf],
        "mean_wall_time_s_computed": float(
            np.mean([row["wall_time_s"] for row in rows if not row["from_cache"]] or [np.nan])
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grid-level", type=int, default=DFTSettings.grid_level)
    parser.add_argument("--atom-grid", type=int, nargs=2, default=None, metavar=("RAD", "ANG"))
    parser.add_argument("--conv-tol", type=float, default=DFTSettings.conv_tol)
    parser.add_argument("--conv-tol-grad", type=float, default=DFTSettings.conv_tol_grad)
    parser.add_argument("--xc", default=DFTSettings.xc)
    parser.add_argument("--density-fit", action="store_true")
    parser.add_argument(
        "--max-memory-mb",
        type=int,
        default=6000,
        help="6000 keeps Mg13's 4-index ERIs in memory (much faster than direct J)",
    )
    parser.add_argument(
        "--profile",
        default=None,
        help="use this profile's reference.dft (configs/NAME.yaml; --threads still applies) "
        "instead of the settings flags",
    )
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--summary", type=Path, default=None, help="write the summary JSON here")
    parser.add_argument("--cache", type=Path, default=None, help="sqlite EnergyCache file")
    args = parser.parse_args()
    settings = DFTSettings(
        xc=args.xc,
        grid_level=args.grid_level,
        atom_grid=tuple(args.atom_grid) if args.atom_grid else None,
        conv_tol=args.conv_tol,
        conv_tol_grad=args.conv_tol_grad,
        density_fit=args.density_fit,
        threads=args.threads,
        max_memory_mb=args.max_memory_mb,
    )
    if args.profile is not None:
        settings = replace(load_profile(args.profile).reference.dft, threads=args.threads)
    cache = EnergyCache(args.cache) if args.cache else None
    summary = compare(read_lowest_distinct_minima(args.count), settings, cache, args.csv)
    text = json.dumps(summary, indent=1)
    print(text)
    if args.summary is not None:
        args.summary.write_text(text + "\n")


if __name__ == "__main__":
    main()
