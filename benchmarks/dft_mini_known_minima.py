"""A dft-mini run's refined Mg13 isomers against the 207 Gaussian BP86 Mg13 minima (issue 16,
item 3: how close does GO come to the Gaussian GM, and where does the final GAP put the
lowest Gaussian minima?).

1. Each refined isomer of the size (RUN/refine/refined_isomers.extxyz): its reference energy above
   the reference-relaxed known GM (RUN/refine/known_global_minima.extxyz), the nearest unique
   Gaussian minimum (rank by Gaussian energy, 0 = GM; unique by mh.isomers.unique_isomers) and
   whether it is the same minimum (go_table's fingerprint rule), and how many unique Gaussian
   minima lie between it and the GM by energy above the GM (PySCF's for ours, Gaussian's for
   theirs; where both name the same minimum they differ by a few meV: see the matches).
2. With --gap-relax K, the final GAP (RUN/active_learning/model) relaxes the K lowest unique
   Gaussian minima (ScaledLBFGS to refine.fmax): their GAP energies above the GAP-relaxed GM,
   and how many of the run's unique GO isomers lie below each.

Run: PYTHONPATH=. python benchmarks/dft_mini_known_minima.py RUN [--gap-relax 12]
     [--known data/reference/mg13_bp86_631gd_minima.extxyz] [--profile dft-mini]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read

from paper_artifact import paths
from paper_artifact.analysis.go_table import SAME_MINIMUM_FP_DISTANCE
from paper_artifact.calculators.gap import load_gap
from paper_artifact.calculators.relax import relax
from paper_artifact.config import load_profile
from paper_artifact.mh.fingerprint import fingerprint, fingerprint_distance
from paper_artifact.mh.isomers import unique_isomers

GAUSSIAN_MINIMA = (
    Path(__file__).resolve().parents[1] / "data/reference/mg13_bp86_631gd_minima.extxyz"
)


def unique_known_minima(minima: list[Atoms]) -> list[Atoms]:
    """Unique minima sorted by their stored energy (info energy_ev), with info fingerprint."""
    for atoms in minima:
        atoms.info["energy"] = float(atoms.info["energy_ev"])
    return unique_isomers(minima)


def nearest(fp: np.ndarray, known: list[Atoms]) -> tuple[int, float]:
    """Index and fingerprint distance of the nearest of `known` (info fingerprint)."""
    distances = [fingerprint_distance(fp, k.info["fingerprint"]) for k in known]
    index = int(np.argmin(distances))
    return index, float(distances[index])


def minima_below(above_gm_ev: float, known: list[Atoms], same_as: int | None = None) -> int:
    """How many of `known` (sorted, GM first), other than known[same_as], lie lower than
    `above_gm_ev` above their GM."""
    gm = known[0].info["energy"]
    return sum(k.info["energy"] - gm < above_gm_ev for i, k in enumerate(known) if i != same_as)


def refined_against_known(run: paths.RunPaths, size: int, known: list[Atoms]) -> None:
    refined = [
        a for a in read(run.stage("refine") / paths.REFINE_STRUCTURES, ":") if len(a) == size
    ]
    known_gm = {len(a): a for a in read(run.stage("refine") / paths.REFINE_KNOWN_GM, ":")}[size]
    gm_energy = known_gm.get_potential_energy()
    gm_gauss = known[0].info["energy"]
    gm_match, gm_distance = nearest(fingerprint(known_gm), known)
    print(f"{len(known)} unique known Mg{size} minima; the reference-relaxed known GM is nearest "
          f"to rank {gm_match} (fingerprint distance {gm_distance:.4f})")  # fmt: skip
    print("| GAP rank | reference: above the GM (eV) | nearest known minimum: rank, distance, "
          "above the GM (eV) | same minimum | known minima below it |")  # fmt: skip
    print("|---|---|---|---|---|")
    for atoms in sorted(refined, key=lambda a: a.info["isomer_rank_gap"]):
        above = atoms.get_potential_energy() - gm_energy
        index, distance = nearest(fingerprint(atoms), known)
        same = distance < SAME_MINIMUM_FP_DISTANCE
        print(
            f"| {atoms.info['isomer_rank_gap']} | {above:+.4f} | {index}, {distance:.4f}, "
            f"{known[index].info['energy'] - gm_gauss:+.4f} | {'yes' if same else 'no'} | "
            f"{minima_below(above, known, index if same else None)} |",
            flush=True,
        )


def gap_order_of_known(run: paths.RunPaths, size: int, known: list[Atoms], count: int,
                       fmax: float) -> None:  # fmt: skip
    go_energies = [
        a.get_potential_energy() for a in read(run.stage("go") / paths.go_unique(size), ":")
    ]
    gm_gauss = known[0].info["energy"]
    gap = load_gap(run.final_model)
    rows = []
    for atoms in known[:count]:
        start = Atoms(atoms.numbers, positions=atoms.positions)
        start.calc = gap
        at_start = start.get_potential_energy()
        result = relax(start, gap, fmax=fmax, steps=1000)
        moved = fingerprint_distance(atoms.info["fingerprint"], fingerprint(result.atoms))
        rows.append((atoms.info["energy"] - gm_gauss, at_start, result.energy, moved))
    print(f"| known rank | Gaussian: above the GM (eV) | GAP at the Gaussian geometry, above the "
          f"GM's (eV) | GAP-relaxed, above the GAP-relaxed GM (eV) | fingerprint moved | "
          f"unique GO isomers below (of {len(go_energies)}) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for rank, (above, at_start, relaxed, moved) in enumerate(rows):
        below = sum(e < relaxed for e in go_energies)
        print(f"| {rank} | {above:+.4f} | {at_start - rows[0][1]:+.4f} | "
              f"{relaxed - rows[0][2]:+.4f} | {moved:.3f} | {below} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="a dft-mini run folder with its refine stage done")
    parser.add_argument("--known", type=Path, default=GAUSSIAN_MINIMA, help="known minima (extxyz)")
    parser.add_argument(
        "--gap-relax", type=int, default=0, metavar="K",
        help="also relax the K lowest known minima with the run's final GAP (default: skip)",
    )  # fmt: skip
    parser.add_argument("--profile", default="dft-mini")
    args = parser.parse_args()
    cfg = load_profile(args.profile)
    run = paths.RunPaths(args.run)
    known = unique_known_minima(read(args.known, ":"))
    size = len(known[0])
    refined_against_known(run, size, known)
    if args.gap_relax:
        gap_order_of_known(run, size, known, args.gap_relax, cfg.refine.fmax)


if __name__ == "__main__":
    main()
