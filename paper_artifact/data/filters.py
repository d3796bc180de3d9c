"""The paper's training-set filters: distance limits, bound clusters only, unique structures.

Order of the checks (each dropped structure gets the first reason that applies):
1. min interatomic distance < FilterParams.min_distance (2.5 A in the paper);
2. max interatomic distance > FilterParams.max_distance (15 A);
3. binding energy per atom (E - n E_atom) / n > FilterParams.max_binding_energy_ev (0: unbound);
4. duplicates among the survivors, per size, by paper_artifact.structures' criterion.

Duplicates: the survivors of one size are taken in order of increasing reference energy; each is
kept unless it is a duplicate (all sorted distances and all principal moments within
uniqueness_tol, component-wise relative difference) of a structure already kept. So the kept set
holds the lowest-energy representative of every group, every kept pair is distinct, and the
result does not depend on the input order (equal energies are ordered by the geometry itself).

Scaling: for positive x, y, |x - y| / max(x, y) <= tol  <=>  |ln x - ln y| <= -ln(1 - tol), so
the criterion is a Chebyshev (L-infinity) ball in log-fingerprint space. A k-d tree over a few
log coordinates (the three moments and evenly spaced entries of the sorted distances) returns
every pair within that radius, a superset of the duplicate pairs because a projection never
increases an L-infinity distance; only those candidate pairs get the full comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from ase import Atoms
from scipy.spatial import cKDTree
from scipy.spatial.distance import pdist

from paper_artifact.data import REF_ENERGY_KEY, DataError
from paper_artifact.structures import principal_moments, sorted_distances
from paper_artifact.units import binding_energy_per_atom_ev

COUNT_COLUMNS = [
    "n_atoms",
    "read",
    "dropped_min_distance",
    "dropped_max_distance",
    "dropped_positive_binding",
    "dropped_duplicate",
    "kept",
]
DROP_COLUMNS = ["index", "n_atoms", "reason", "detail", "duplicate_of"]
PROJECTED_DISTANCES = 13  # sorted-distance entries used by the k-d tree (plus the 3 moments)
_PAIR_CHUNK = 8192
_COLUMN_BLOCK = 64


@dataclass(frozen=True)
class FilterParams:
    min_distance: float = 2.5  # Angstrom
    max_distance: float = 15.0  # Angstrom
    max_binding_energy_ev: float = 0.0  # per atom; above it the cluster is unbound
    uniqueness_tol: float = 0.05  # relative, on sorted distances and principal moments

    def __post_init__(self) -> None:
        if not 0.0 <= self.uniqueness_tol < 1.0:
            raise ValueError(
                f"FilterParams.uniqueness_tol must be in [0, 1), got {self.uniqueness_tol}"
            )
        if self.min_distance >= self.max_distance:
            raise ValueError(
                f"FilterParams.min_distance ({self.min_distance}) must be below "
                f"max_distance ({self.max_distance})"
            )


@dataclass
class FilterResult:
    kept: list[Atoms]  # in input order
    drops: pd.DataFrame  # DROP_COLUMNS; index = position in the input list
    counts: pd.DataFrame  # COUNT_COLUMNS, one row per cluster size


def _reference_energy(atoms: Atoms, index: int) -> float:
    if REF_ENERGY_KEY not in atoms.info:
        source = atoms.info.get("source_file", "input list")
        raise DataError(f"structure {index} ({source}): no info['{REF_ENERGY_KEY}'] to filter on")
    return float(atoms.info[REF_ENERGY_KEY])


def _max_relative_differences(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise structures.max_relative_difference."""
    scale = np.maximum(np.abs(x), np.abs(y))
    scale = np.where(scale > 0.0, scale, 1.0)
    return np.max(np.abs(x - y) / scale, axis=1)


def _fingerprints(structures: list[Atoms]) -> tuple[np.ndarray, np.ndarray]:
    if len({len(atoms) for atoms in structures}) > 1:
        raise ValueError("duplicate search needs structures of one size")
    distances = np.array([sorted_distances(atoms) for atoms in structures])
    moments = np.array([principal_moments(atoms) for atoms in structures])
    return distances, moments


def _candidate_pairs(distances: np.ndarray, moments: np.ndarray, rel_tol: float) -> np.ndarray:
    """Pairs (i < j) within the criterion's radius in a few log coordinates: no duplicate missed."""
    columns = np.unique(np.linspace(0, distances.shape[1] - 1, PROJECTED_DISTANCES).round())
    projected = np.hstack([moments, distances[:, columns.astype(int)]])
    projected = np.log(np.clip(projected, 1e-300, None))
    radius = -np.log1p(-rel_tol) * (1.0 + 1e-9) + 1e-12  # widened: only a candidate pre-filter
    return cKDTree(projected).query_pairs(radius, p=np.inf, output_type="ndarray")


def _duplicate_pairs(distances: np.ndarray, moments: np.ndarray, rel_tol: float) -> np.ndarray:
    if len(distances) < 2:
        return np.zeros((0, 2), dtype=int)
    candidates = _candidate_pairs(distances, moments, rel_tol)
    fingerprints = np.hstack([moments, distances])
    found = [np.zeros((0, 2), dtype=int)]
    for start in range(0, len(candidates), _PAIR_CHUNK):
        chunk = candidates[start : start + _PAIR_CHUNK]
        # A block of columns at a time, so most non-duplicates leave early.
        for column in range(0, fingerprints.shape[1], _COLUMN_BLOCK):
            block = fingerprints[:, column : column + _COLUMN_BLOCK]
            chunk = chunk[
                _max_relative_differences(block[chunk[:, 0]], block[chunk[:, 1]]) <= rel_tol
            ]
        found.append(chunk)
    return np.sort(np.vstack(found), axis=1)


def duplicate_pairs(structures: list[Atoms], rel_tol: float = 0.05) -> np.ndarray:
    """All pairs (i, j), i < j, of same-size structures that are NOT distinct by the paper's
    criterion (structures.distinct_by_paper_criterion is False), as an (m, 2) int array."""
    return _duplicate_pairs(*_fingerprints(structures), rel_tol)


def lowest_energy_representatives(
    structures: list[Atoms], energies: np.ndarray, rel_tol: float = 0.05
) -> dict[int, int]:
    """For same-size structures: {duplicate index: index of the kept structure it duplicates}.

    Indices absent from the result are kept (see the module docstring for the rule). Each
    structure is compared in full only with the already-kept structures among its k-d tree
    candidates, so large duplicate groups cost one comparison per member and kept neighbour.
    """
    if len(structures) < 2:
        return {}
    distances, moments = _fingerprints(structures)
    energies = np.asarray(energies, dtype=float)
    # Energy first; exact ties broken by the geometry so the input order never matters.
    order = np.lexsort((*distances.T[::-1], *moments.T[::-1], energies))
    rank = np.empty(len(structures), dtype=int)
    rank[order] = np.arange(len(structures))
    pairs = _candidate_pairs(distances, moments, rel_tol)
    both = np.vstack([pairs, pairs[:, ::-1]])  # candidate lists: both[starts[i]:starts[i+1], 1]
    both = both[np.argsort(both[:, 0], kind="stable")]
    starts = np.searchsorted(both[:, 0], np.arange(len(structures) + 1))
    fingerprints = np.hstack([moments, distances])
    kept = np.zeros(len(structures), dtype=bool)
    duplicate_of: dict[int, int] = {}
    for i in order.tolist():
        others = both[starts[i] : starts[i + 1], 1]
        others = others[kept[others]]
        if len(others):
            same = _max_relative_differences(fingerprints[others], fingerprints[i][None]) <= rel_tol
            if same.any():
                duplicate_of[i] = int(min(others[same], key=lambda j: rank[j]))
                continue
        kept[i] = True
    return duplicate_of


def apply_paper_filters(
    atoms_list: list[Atoms], e_atom_ev: float, params: FilterParams = FilterParams()
) -> FilterResult:
    """Apply the distance, binding-energy and uniqueness filters (module docstring) to
    structures carrying info[REF_ENERGY_KEY] in eV; e_atom_ev is the isolated Mg atom energy of
    the same reference method."""
    energies = np.array([_reference_energy(atoms, k) for k, atoms in enumerate(atoms_list)])
    drops: list[dict] = []
    survivors_by_size: dict[int, list[int]] = {}
    for k, atoms in enumerate(atoms_list):
        n_atoms = len(atoms)
        distances = pdist(atoms.positions)
        binding = binding_energy_per_atom_ev(energies[k], n_atoms, e_atom_ev)
        reason = None
        if n_atoms < 2 or distances.min() < params.min_distance:
            shortest = distances.min() if n_atoms >= 2 else float("nan")
            reason = "min_distance", f"min distance {shortest:.3f} A < {params.min_distance} A"
        elif distances.max() > params.max_distance:
            reason = (
                "max_distance",
                f"max distance {distances.max():.3f} A > {params.max_distance} A",
            )
        elif binding > params.max_binding_energy_ev:
            reason = (
                "positive_binding",
                f"binding energy {binding:.5f} eV/atom > {params.max_binding_energy_ev} eV/atom",
            )
        if reason is None:
            survivors_by_size.setdefault(n_atoms, []).append(k)
        else:
            drops.append(dict(index=k, n_atoms=n_atoms, reason=reason[0], detail=reason[1]))
    for n_atoms, members in survivors_by_size.items():
        duplicate_of = lowest_energy_representatives(
            [atoms_list[k] for k in members], energies[members], params.uniqueness_tol
        )
        for local, representative in duplicate_of.items():
            original = members[representative]
            drops.append(
                dict(
                    index=members[local],
                    n_atoms=n_atoms,
                    reason="duplicate",
                    detail=f"within {params.uniqueness_tol:.0%} of structure {original}",
                    duplicate_of=original,
                )
            )
    drop_table = pd.DataFrame(drops, columns=DROP_COLUMNS).sort_values("index", ignore_index=True)
    drop_table = drop_table.astype({"index": int, "n_atoms": int, "duplicate_of": "Int64"})
    dropped = set(drop_table["index"])
    kept = [atoms for k, atoms in enumerate(atoms_list) if k not in dropped]
    return FilterResult(kept=kept, drops=drop_table, counts=_count_table(atoms_list, drop_table))


def _count_table(atoms_list: list[Atoms], drops: pd.DataFrame) -> pd.DataFrame:
    sizes = pd.Series([len(atoms) for atoms in atoms_list], dtype=int)
    table = pd.DataFrame({"n_atoms": sorted(sizes.unique())}, dtype=int)
    table["read"] = table["n_atoms"].map(sizes.value_counts()).astype(int)
    for reason in ("min_distance", "max_distance", "positive_binding", "duplicate"):
        per_size = drops.loc[drops["reason"] == reason, "n_atoms"].value_counts()
        table[f"dropped_{reason}"] = table["n_atoms"].map(per_size).fillna(0).astype(int)
    dropped_columns = [column for column in COUNT_COLUMNS if column.startswith("dropped")]
    table["kept"] = table["read"] - table[dropped_columns].sum(axis=1)
    return table[COUNT_COLUMNS]
