"""Does Gaussian's integration grid explain the PySCF-Gaussian offset on the Mg13 GM?

Gaussian integrates XC with Stratmann-Scuseria-Frisch (SSF) atomic weights and an Euler-Maclaurin
(Murray-Handy-Laming) radial grid, (99,590) pruned by default in G16; PySCF defaults to Becke
weights with Treutler-Ahlrichs radii adjustment and a Treutler radial grid (PySCF 2.14 has no
Euler-Maclaurin radial grid: `radi.murray` raises "Not implemented"). This computes E(Mg1)
and the Mg13 GM (rank 0 of the Gaussian minima file) for each grid variant and prints the binding
energy per atom error against Gaussian (kcal/mol/atom), each side with its own E(Mg1).

  OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/dft_grid_scheme_mg13.py [--variants ...]
"""

from __future__ import annotations

import argparse
import json
import time

from ase import Atoms
from pyscf.dft import gen_grid

from paper_artifact.calculators.dft import DFTSettings, build_molecule, make_scf
from paper_artifact.data.gaussian_mg13 import read_lowest_distinct_minima
from paper_artifact.units import E_MG1_PAPER_EV, HARTREE_EV, binding_energy_per_atom_kcal

VARIANTS = {
    "pyscf_default_level3": {},
    "ssf_weights": {"becke_scheme": gen_grid.stratmann},
    "ssf_99_590_no_radii_adjust": {
        "becke_scheme": gen_grid.stratmann,
        "radii_adjust": None,
        "atom_grid": (99, 590),
    },
}


def energy_ev(atoms: Atoms, variant: dict, settings: DFTSettings) -> float:
    mf = make_scf(build_molecule(atoms, settings), settings)
    for key, value in variant.items():
        setattr(mf.grids, key, value)
    e = mf.kernel()
    if not mf.converged:
        raise RuntimeError("SCF not converged")
    return e * HARTREE_EV


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--max-memory-mb", type=int, default=6000)
    args = parser.parse_args()
    settings = DFTSettings(conv_tol=1e-7, max_memory_mb=args.max_memory_mb)
    reference = read_lowest_distinct_minima(1)[0]
    gm = Atoms(reference.numbers, positions=reference.positions)
    gaussian = binding_energy_per_atom_kcal(
        reference.info["energy_hartree"] * HARTREE_EV, 13, E_MG1_PAPER_EV
    )
    for name in args.variants:
        start = time.perf_counter()
        e_atom = energy_ev(Atoms("Mg"), VARIANTS[name], settings)
        e_gm = energy_ev(gm, VARIANTS[name], settings)
        print(json.dumps({
            "variant": name,
            "e_mg1_hartree": e_atom / HARTREE_EV,
            "e_mg13_gm_hartree": e_gm / HARTREE_EV,
            "ebond_error_kcal_mol_atom": binding_energy_per_atom_kcal(e_gm, 13, e_atom) - gaussian,
            "wall_s": time.perf_counter() - start,
        }), flush=True)


if __name__ == "__main__":
    main()
