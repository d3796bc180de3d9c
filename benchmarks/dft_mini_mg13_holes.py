"""Where a dft-mini run's final GAP puts Mg13 too low (issue 16: why GO misses the Gaussian GM).

Prints DFT minus GAP energy (kcal/mol/atom) grouped by each structure's largest coordination
number (neighbours closer than --cn-cutoff, default 3.6 A: the Gaussian GM's bonds are 3.01-3.33
A, its next distances 3.75 A and more) for three Mg13 sets: the Gaussian BP86 minima (binding
energies, so Gaussian's and PySCF's atom energies each cancel their own), the profile's shipped
Mg13 labels (the run's own DFT: active-learning tests, refinement paths, screened isomers), and
the run's unique GO isomers (the final GAP's minima, DFT energies from the shipped labels). Also
the largest coordination number in the labels of each smaller size, and the mean
nearest-neighbour distance of the Gaussian minima and of the GAP's GO minima.

Run: PYTHONPATH=. python benchmarks/dft_mini_mg13_holes.py RUN [--cn-cutoff 3.6]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read
from ase.neighborlist import neighbor_list

from paper_artifact import paths
from paper_artifact.calculators.gap import load_gap, predict_energies, reference_energies
from paper_artifact.config import load_profile
from paper_artifact.data import REF_ENERGY_KEY
from paper_artifact.stages.common import reference_atom_energy
from paper_artifact.units import EV_TO_KCAL_MOL

sys.path.insert(0, str(Path(__file__).parent))
from dft_mini_mg13_levers import go_labels, shipped_labels  # noqa: E402

N_ATOMS = 13


def max_coordination(atoms: Atoms, cutoff: float) -> int:
    first = neighbor_list("i", atoms, cutoff)
    return int(np.bincount(first, minlength=len(atoms)).max())


def mean_nearest_neighbour(atoms: Atoms) -> float:
    distances = atoms.get_all_distances()
    np.fill_diagonal(distances, np.inf)
    return float(distances.min(axis=1).mean())


def dft_minus_gap(calc, labelled: list[Atoms]) -> np.ndarray:
    """Reference minus GAP energy of each labelled Mg13 structure, kcal/mol/atom."""
    e_gap = predict_energies(calc, labelled)
    return (reference_energies(labelled, REF_ENERGY_KEY) - e_gap) * EV_TO_KCAL_MOL / N_ATOMS


def by_coordination(name: str, structures: list[Atoms], dft_minus_gap: np.ndarray, cutoff: float):
    cn = np.array([max_coordination(a, cutoff) for a in structures])
    print(f"{name} ({len(structures)}): DFT - GAP by largest coordination number")
    for value in sorted(set(cn)):
        chosen = dft_minus_gap[cn == value]
        print(f"  CN {value:2d}: {len(chosen):3d}  {chosen.mean():+.2f} +- {chosen.std():.2f}")
    return cn


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="a dft-mini run folder (its go stage done)")
    parser.add_argument("--cn-cutoff", type=float, default=3.6, metavar="A")
    args = parser.parse_args()
    cfg = load_profile("dft-mini")
    e_atom = reference_atom_energy(cfg)
    calc = load_gap(paths.RunPaths(args.run).final_model)

    gaussian = read(cfg.dft_check.mg13_minima.resolve(), ":")
    gap_bond = predict_energies(calc, gaussian) - N_ATOMS * e_atom
    dft_bond = reference_energies(gaussian, "binding_energy_ev")
    by_coordination(
        "Gaussian Mg13 minima", gaussian, (dft_bond - gap_bond) * EV_TO_KCAL_MOL / N_ATOMS,
        args.cn_cutoff,
    )  # fmt: skip

    shipped = shipped_labels(cfg)
    for n in sorted({len(a) for a in shipped} - {N_ATOMS}):
        largest = max(max_coordination(a, args.cn_cutoff) for a in shipped if len(a) == n)
        print(f"shipped labels of Mg{n}: largest coordination number {largest}")
    mg13 = [a for a in shipped if len(a) == N_ATOMS]
    by_coordination("shipped Mg13 labels", mg13, dft_minus_gap(calc, mg13), args.cn_cutoff)

    isomers = go_labels(args.run, cfg, N_ATOMS)
    hole = dft_minus_gap(calc, isomers)
    cn = by_coordination("GO isomers of the final GAP", isomers, hole, args.cn_cutoff)
    print(
        "  in GAP order (CN: DFT - GAP): "
        + ", ".join(f"{c}: {h:+.1f}" for c, h in zip(cn, hole, strict=True))
    )
    for name, structures in (("Gaussian Mg13 minima", gaussian), ("GO isomers", isomers)):
        nn = [mean_nearest_neighbour(a) for a in structures]
        print(f"{name}: mean nearest-neighbour distance {np.mean(nn):.3f} +- {np.std(nn):.3f} A")


if __name__ == "__main__":
    main()
