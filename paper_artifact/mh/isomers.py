"""Unique isomers from the minima of one or several searches, and distinct random starts.

Two minima are the same isomer when their energies differ by less than energy_tol and their
overlap-matrix fingerprints (paper_artifact.mh.fingerprint) by less than fp_threshold; the
lowest-energy representative is kept and info["n_found"] counts how often the isomer occurred.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from paper_artifact.mh.fingerprint import (
    MG_FP_IDENTITY_THRESHOLD,
    FingerprintParams,
    fingerprint,
    fingerprint_distance,
)
from paper_artifact.structures import distinct_by_paper_criterion, random_cluster


def _energy(atoms: Atoms, index: int) -> float:
    if "energy" in atoms.info:
        return float(atoms.info["energy"])
    if atoms.calc is not None:
        return float(atoms.get_potential_energy())
    raise ValueError(f"unique_isomers: minimum {index} has no info['energy'] and no calculator")


def _find_same(
    atoms: Atoms, isomers: list[Atoms], fp_threshold: float, energy_tol: float
) -> Atoms | None:
    for kept in reversed(isomers):  # isomers are sorted by energy: stop once out of range
        if atoms.info["energy"] - kept.info["energy"] >= energy_tol:
            return None
        if atoms.get_chemical_formula() == kept.get_chemical_formula() and (
            fingerprint_distance(atoms.info["fingerprint"], kept.info["fingerprint"]) < fp_threshold
        ):
            return kept
    return None


def unique_isomers(
    minima: list[Atoms],
    fp_threshold: float = MG_FP_IDENTITY_THRESHOLD,
    energy_tol: float = 1e-3,
    fp_params: FingerprintParams | None = None,
) -> list[Atoms]:
    """Distinct isomers sorted by energy (eV); copies with info energy, fingerprint, n_found."""
    fp_params = fp_params or FingerprintParams()
    candidates = []
    for index, atoms in enumerate(minima):
        copy = atoms.copy()
        copy.info["energy"] = _energy(atoms, index)
        copy.info["fingerprint"] = fingerprint(atoms, fp_params)
        copy.info["n_found"] = 1
        candidates.append(copy)
    candidates.sort(key=lambda a: a.info["energy"])
    isomers: list[Atoms] = []
    for atoms in candidates:
        match = _find_same(atoms, isomers, fp_threshold, energy_tol)
        if match is None:
            isomers.append(atoms)
        else:
            match.info["n_found"] += 1
    return isomers


def lowest(isomers: list[Atoms], n: int) -> list[Atoms]:
    """The n lowest-energy isomers (info['energy'])."""
    return sorted(isomers, key=lambda a: a.info["energy"])[:n]


def new_isomers(
    isomers: list[Atoms], known: list[Atoms], count: int, rel_tol: float
) -> list[Atoms]:
    """The lowest `count` of `isomers` (sorted by energy, one size) that differ by the paper's
    criterion from every structure of that size in `known` and from each other; copies with only
    info['generator'] = 'active_learning'."""
    same_size = [k for k in known if len(k) == len(isomers[0])] if isomers else []
    picked: list[Atoms] = []
    for atoms in isomers:
        if all(distinct_by_paper_criterion(atoms, k, rel_tol) for k in same_size + picked):
            picked.append(atoms)
        if len(picked) == count:
            break
    return [
        Atoms(a.numbers, positions=a.positions, info={"generator": "active_learning"})
        for a in picked
    ]


def distinct_random_starts(
    n_atoms: int,
    n_starts: int,
    seed: int,
    rel_tol: float = 0.05,
    max_draws: int = 10_000,
) -> list[Atoms]:
    """n_starts random Mg clusters (random_cluster), pairwise distinct by the paper criterion.

    The generator is seeded with SeedSequence([seed, n_atoms]) so each size gets its own stream.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_atoms]))
    starts: list[Atoms] = []
    for _ in range(max_draws):
        if len(starts) == n_starts:
            return starts
        candidate = random_cluster(n_atoms, rng)
        if all(distinct_by_paper_criterion(candidate, s, rel_tol) for s in starts):
            starts.append(candidate)
    if len(starts) == n_starts:
        return starts
    raise RuntimeError(
        f"distinct_random_starts: only {len(starts)} of {n_starts} Mg{n_atoms} starts differ by "
        f"more than rel_tol={rel_tol} after {max_draws} draws"
    )
