"""Known global minima for the Gupta-labelled profiles and benchmarks, computed by long MH runs.

The smoke and default profiles label data with the Gupta Mg potential, so their "known GM" (the
active-learning target and the Table 1 comparison) must be the Gupta GM, not a DFT one. For each
size this script runs minima hopping with the Gupta potential itself from several distinct random
starts, keeps the lowest minimum (relaxed to 1e-4 eV/A, Hessian-checked) and writes
data/known_gm/gupta/Mg<n>.extxyz with how it was obtained and how many runs reached it.

    python scripts/gupta_known_minima.py --sizes 13 19 --seeds 6 --hops 100
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from ase.io import write

from paper_artifact.calculators.gupta import Gupta
from paper_artifact.configtree import PROJECT_ROOT
from paper_artifact.mh.isomers import distinct_random_starts
from paper_artifact.mh.minima_hopping import MHParams, run_minima_hopping

OUT_DIR = PROJECT_ROOT / "data" / "known_gm" / "gupta"


def search(n_atoms: int, seeds: int, hops: int, params: MHParams) -> tuple:
    starts = distinct_random_starts(n_atoms, seeds, seed=1000 + n_atoms)
    best, energies = None, []
    for seed, start in enumerate(starts):
        result = run_minima_hopping(
            start, Gupta(), params, np.random.SeedSequence([n_atoms, seed]), None, hops
        )
        energies.append(result.best_energy)
        if best is None or result.best_energy < best.info["energy"]:
            best = result.best_atoms.copy()
            best.info = {"energy": result.best_energy}
    return best, energies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", required=True)
    parser.add_argument("--seeds", type=int, default=6, help="independent MH runs per size")
    parser.add_argument("--hops", type=int, default=100, help="MH hops per run")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    params = MHParams(temperature0=1000.0)
    args.out.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        start = time.perf_counter()
        best, energies = search(n, args.seeds, args.hops, params)
        hits = sum(abs(e - best.info["energy"]) < 1e-4 for e in energies)
        best.info.update(
            {
                "method": "Gupta Mg (data/reference/gupta_mg_parameters.json)",
                "how": f"lowest of {args.seeds} minima-hopping runs x {args.hops} hops from "
                "distinct random starts (MHParams defaults, T0 1000 K; relaxed to 1e-4 eV/A, "
                "Hessian-checked), scripts/gupta_known_minima.py",
                "runs_reaching_it": f"{hits}/{args.seeds}",
            }
        )
        best.calc = None
        write(args.out / f"Mg{n}.extxyz", best, format="extxyz")
        print(
            f"Mg{n}: E = {best.info['energy']:.6f} eV, reached by {hits}/{args.seeds} runs, "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
