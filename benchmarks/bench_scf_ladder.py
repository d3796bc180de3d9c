"""SCF convergence ladder on structures whose plain DIIS fails (issue 16, DFT throughput).

The 9 of 41 Mg11/Mg12 data-stage candidates (dft-mini settings) whose first DIIS rung did not
converge are stored in benchmarks/data/scf_ladder_hard.extxyz with the energy the earlier ladder
gave (info `ladder_before_energy_ev`). Each is converged by

  before  the ladder before this change: DIIS (max_cycle), level shift + damping, Fermi smearing
          then DIIS from the smeared density, second-order (newton) from the best density;
  after   paper_artifact.calculators.dft.run_scf: DIIS (diis_max_cycle), Fermi smearing then
          newton from the smeared density, level shift + damping last.

CPU time = time.process_time() of the SCF alone (no gradient), one thread. Prints one row per
structure (rungs, CPU s, E_after - E_before) and the totals.

Run: OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_scf_ladder.py [--variants before after]
     [--count N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ase.io import read
from ase.units import Hartree
from pyscf.scf import addons

from paper_artifact.calculators.dft import build_molecule, make_scf, run_scf
from paper_artifact.config import load_profile

HARD = Path(__file__).parent / "data" / "scf_ladder_hard.extxyz"


def ladder_before(mol, settings):
    """The ladder's order before issue 16's change, rung for rung."""
    tried = []

    def attempt(name, mf, guess):
        mf.kernel(dm0=guess)
        tried.append(f"{name}: {'converged' if mf.converged else 'not converged'}")
        return mf

    mf = attempt("DIIS", make_scf(mol, settings), None)
    if mf.converged:
        return mf, tried
    with_df = getattr(mf, "with_df", None)

    def fresh():
        return make_scf(mol, settings, with_df)

    shifted = fresh()
    shifted.level_shift, shifted.damp, shifted.diis_start_cycle = (
        settings.level_shift,
        settings.damping,
        3,
    )
    shifted = attempt("level shift + damping", shifted, mf.make_rdm1())
    if shifted.converged:
        final = attempt("DIIS from level-shifted density", fresh(), shifted.make_rdm1())
        if final.converged:
            return final, tried
    best = shifted.make_rdm1()
    smeared = attempt(
        "Fermi smearing",
        addons.smearing(fresh(), sigma=settings.smearing_sigma, method="fermi"),
        best,
    )
    if smeared.converged:
        final = attempt("DIIS from smeared density", fresh(), smeared.make_rdm1())
        if final.converged:
            return final, tried
        best = final.make_rdm1()
    return attempt("second-order (newton)", fresh().newton(), best), tried


def ladder_after(mol, settings):
    mf, tried = run_scf(mol, settings)
    return mf, [entry.split(" after")[0] for entry in tried]


LADDERS = {"before": ladder_before, "after": ladder_after}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variants", nargs="+", default=list(LADDERS), choices=LADDERS)
    parser.add_argument("--count", type=int, help="only the first N structures")
    args = parser.parse_args()
    settings = load_profile("dft-mini").reference.dft
    structures = read(HARD, ":")[: args.count]
    totals = dict.fromkeys(args.variants, 0.0)
    for index, atoms in enumerate(structures):
        mol = build_molecule(atoms, settings)
        for variant in args.variants:
            start = time.process_time()
            mf, tried = LADDERS[variant](mol, settings)
            cpu = time.process_time() - start
            totals[variant] += cpu
            row = {
                "structure": index,
                "n_atoms": len(atoms),
                "variant": variant,
                "converged": bool(mf.converged),
                "cpu_s": round(cpu, 1),
                "e_minus_before_ev": float(mf.e_tot) * Hartree
                - atoms.info["ladder_before_energy_ev"],
                "rungs": tried,
            }
            print(json.dumps(row), flush=True)
    print("total CPU s: " + ", ".join(f"{v} {t:.0f}" for v, t in totals.items()))


if __name__ == "__main__":
    main()
