"""Time the uniqueness filter on 10^4 Mg30 structures: random clusters plus rattled near-copies.

Each copy is rotated, relabelled and rattled (Gaussian, --rattle A per coordinate), so with a
small rattle it is a duplicate of its parent (random clusters of one size are often duplicates
of each other too under the 5 % criterion, so fewer than --parents survive). The
brute-force pairwise loop (structures.distinct_by_paper_criterion on every pair) is timed on
--brute-subset structures and extrapolated quadratically to the full set.

Run: PYTHONPATH=. python benchmarks/bench_filters.py [--parents 2000 --copies 4]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from ase import Atoms
from scipy.spatial.transform import Rotation

from paper_artifact.data import REF_ENERGY_KEY
from paper_artifact.data.filters import (
    FilterParams,
    apply_paper_filters,
    duplicate_pairs,
    lowest_energy_representatives,
)
from paper_artifact.structures import distinct_by_paper_criterion, random_cluster


def synthetic_set(parents: int, copies: int, n_atoms: int, rattle: float, seed: int) -> list[Atoms]:
    structures = []
    for parent in range(parents):
        rng = np.random.default_rng(np.random.SeedSequence([seed, parent]))
        base = random_cluster(n_atoms, rng)
        family = [base]
        for _ in range(copies):
            copy = base[rng.permutation(n_atoms)]
            copy.positions = Rotation.random(random_state=rng).apply(copy.positions)
            copy.positions += rng.normal(scale=rattle, size=copy.positions.shape)
            family.append(copy)
        for atoms in family:
            atoms.info[REF_ENERGY_KEY] = -0.5 * n_atoms + rng.normal(scale=0.1)
        structures.extend(family)
    return structures


def brute_force_pairs_seconds(structures: list[Atoms]) -> float:
    start = time.perf_counter()
    for a, b in itertools.combinations(structures, 2):
        distinct_by_paper_criterion(a, b)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=2000)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--n-atoms", type=int, default=30)
    parser.add_argument("--rattle", type=float, default=0.01)
    parser.add_argument("--brute-subset", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    structures = synthetic_set(args.parents, args.copies, args.n_atoms, args.rattle, args.seed)
    print(f"generated {len(structures)} Mg{args.n_atoms}: {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    energies = [atoms.info[REF_ENERGY_KEY] for atoms in structures]
    duplicates = lowest_energy_representatives(structures, energies)
    elapsed = time.perf_counter() - start
    kept = len(structures) - len(duplicates)
    print(f"lowest_energy_representatives: kept {kept} of {len(structures)} in {elapsed:.2f} s")

    start = time.perf_counter()
    pairs = duplicate_pairs(structures)
    print(f"duplicate_pairs (all pairs): {len(pairs)} pairs in {time.perf_counter() - start:.2f} s")

    start = time.perf_counter()
    result = apply_paper_filters(structures, e_atom_ev=0.0, params=FilterParams())
    elapsed = time.perf_counter() - start
    print(f"apply_paper_filters: kept {len(result.kept)} of {len(structures)} in {elapsed:.2f} s")
    print(result.counts.to_string(index=False))

    subset = structures[: args.brute_subset]
    seconds = brute_force_pairs_seconds(subset)
    scale = (len(structures) / len(subset)) ** 2
    print(
        f"brute force: {len(subset)} structures in {seconds:.2f} s, "
        f"extrapolated to {len(structures)}: {seconds * scale:.0f} s"
    )


if __name__ == "__main__":
    main()
