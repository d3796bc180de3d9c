"""gap_fit cost vs training-set size, and the cost of evaluating a fitted GAP.

1. Fit a SOAP + 2b GAP (Banik et al.'s SOAP settings, energies and forces) to 50/100/200 random
   Mg13-20 clusters labelled by the Gupta potential (Lennard-Jones if the Gupta module is absent);
   report gap_fit wall time and the peak RSS of the gap_fit process (run_gap_fit's numbers), with
   and without forces in the fit.
2. With the largest model fitted with forces, time one energy+force call on Mg13/55/100 through
   `load_gap` + a free cluster (pbc=False, as `predict_energies` does) and through a bare quippy
   Potential on the cluster in a 40 A periodic box (the training set-up). Positions are rattled
   before every call so each call is a fresh calculation; the two are interleaved (the machine
   load affects both alike) and the median of --repeats calls is given.

Run: OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_gap.py [--sizes 50 100 200]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from ase import Atoms

from paper_artifact.calculators.gap import (
    GapFitSettings,
    SoapParams,
    TwoBodyParams,
    load_gap,
    run_gap_fit,
)
from paper_artifact.structures import random_cluster


def labeller():
    try:
        from paper_artifact.calculators.gupta import Gupta

        return "Gupta", Gupta()
    except ImportError:
        from ase.calculators.lj import LennardJones

        return "Lennard-Jones", LennardJones(sigma=2.9, epsilon=0.05, rc=20.0)


def labelled_set(count: int, seed: int, calc) -> list[Atoms]:
    clusters = []
    for i in range(count):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        atoms = random_cluster(int(rng.integers(13, 21)), rng)
        atoms.calc = calc
        atoms.info["ref_energy"] = atoms.get_potential_energy()
        atoms.arrays["ref_forces"] = atoms.get_forces()
        atoms.calc = None
        clusters.append(atoms)
    return clusters


def time_pair(free: Atoms, boxed: Atoms, loaded, bare, repeats: int, seed: int) -> tuple:
    """Median seconds per energy+force call of (loaded on free, bare on boxed), interleaved."""
    rng = np.random.default_rng(seed)
    free.calc, boxed.calc = loaded, bare
    times = {"loaded": [], "bare": []}
    for _ in range(repeats + 1):  # the first round warms up and is dropped
        shift = rng.normal(scale=0.01, size=free.positions.shape)
        for key, atoms in (("loaded", free), ("bare", boxed)):
            atoms.positions += shift
            start = time.perf_counter()
            atoms.get_potential_energy()
            atoms.get_forces()
            times[key].append(time.perf_counter() - start)
    return float(np.median(times["loaded"][1:])), float(np.median(times["bare"][1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    from quippy.potential import Potential

    name, calc = labeller()
    soap, two_body = SoapParams(), TwoBodyParams(cutoff=7.0, delta=0.5, n_sparse=20)
    settings = GapFitSettings(e0=0.0)
    print(f"labeller {name}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"SOAP {soap}\n2b {two_body}")
    print("| configurations | atoms | forces fitted | gap_fit wall s | peak RSS MB |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        data = labelled_set(max(args.sizes), args.seed, calc)
        models = {}
        for use_forces in (True, False):
            fit_settings = replace(settings, use_forces=use_forces)
            for count in args.sizes:
                subset = data[:count]
                workdir = Path(tmp) / f"{count}_{use_forces}"
                fitted = run_gap_fit(subset, workdir, soap, two_body, fit_settings)
                models[use_forces] = fitted
                atoms = sum(len(a) for a in subset)
                print(
                    f"| {count} | {atoms} | {'yes' if use_forces else 'no'} | "
                    f"{fitted.fit_seconds:.1f} | {fitted.peak_memory_mb:.0f} |"
                )
        print("\n| cluster | load_gap, free cluster ms | bare Potential, 40 A box ms | overhead |")
        print("|---|---|---|---|")
        model = models[True]  # the largest model fitted with forces
        loaded = load_gap(model.xml_path)
        bare = Potential(param_filename=str(model.xml_path))
        for n in (13, 55, 100):
            cluster = random_cluster(
                n, np.random.default_rng(np.random.SeedSequence([args.seed, n]))
            )
            free = Atoms(cluster.numbers, positions=cluster.positions, pbc=False)
            boxed = Atoms(cluster.numbers, positions=cluster.positions, cell=[40.0] * 3, pbc=True)
            boxed.center()
            t_loaded, t_bare = time_pair(free, boxed, loaded, bare, args.repeats, args.seed)
            overhead = (t_loaded - t_bare) / t_bare
            print(
                f"| Mg{n} | {1e3 * t_loaded:.2f} | {1e3 * t_bare:.2f} | {100 * overhead:+.1f} % |"
            )


if __name__ == "__main__":
    main()
