"""Geometry helpers shared by the stages: random clusters and the paper's uniqueness criterion.

Uniqueness (paper, section "Training Data"): two clusters of the same size are the same structure
unless their sorted interatomic distances or their principal moments of inertia differ by more than
5 %. We measure each difference as the largest component-wise relative difference
max_k |x_k - y_k| / max(|x_k|, |y_k|) of the two sorted vectors (an L-infinity relative norm), so a
5 % change in any one distance or moment counts, and a rigid motion or relabelling counts as 0.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from scipy.spatial.distance import pdist

MG_NEAREST_NEIGHBOUR = 3.2  # Angstrom, hcp Mg a = 3.209 (paper, section on lattice motifs)


def sorted_distances(atoms: Atoms) -> np.ndarray:
    return np.sort(pdist(atoms.positions))


def principal_moments(atoms: Atoms) -> np.ndarray:
    """Sorted eigenvalues of the inertia tensor about the centre of mass, unit masses.

    Unit masses keep the criterion purely geometric (every atom is Mg, so it only rescales).
    """
    centred = atoms.positions - atoms.positions.mean(axis=0)
    r2 = np.einsum("ij,ij->i", centred, centred)
    tensor = np.eye(3) * r2.sum() - centred.T @ centred
    return np.sort(np.linalg.eigvalsh(tensor))


def max_relative_difference(x: np.ndarray, y: np.ndarray) -> float:
    scale = np.maximum(np.abs(x), np.abs(y))
    scale = np.where(scale > 0.0, scale, 1.0)
    return float(np.max(np.abs(x - y) / scale))


def distinct_by_paper_criterion(a: Atoms, b: Atoms, rel_tol: float = 0.05) -> bool:
    """True when a and b differ by more than rel_tol in sorted distances or principal moments."""
    if len(a) != len(b):
        return True
    return (
        max_relative_difference(sorted_distances(a), sorted_distances(b)) > rel_tol
        or max_relative_difference(principal_moments(a), principal_moments(b)) > rel_tol
    )


def random_cluster(
    n_atoms: int,
    rng: np.random.Generator,
    min_distance: float = 2.7,
    bond_length: float = MG_NEAREST_NEIGHBOUR,
    candidates: int = 64,
    max_tries: int = 100_000,
) -> Atoms:
    """A compact random Mg cluster grown atom by atom.

    Each step draws `candidates` trial sites at a random direction and distance in
    [min_distance, bond_length] from randomly chosen existing atoms, keeps those at least
    min_distance from every atom, and adds the one closest to the centroid, so the cluster is
    connected by construction and grows compact rather than stringy.
    """
    if n_atoms < 1:
        raise ValueError(f"random_cluster needs n_atoms >= 1, got {n_atoms}")
    positions = np.zeros((1, 3))
    for _ in range(max_tries):
        if len(positions) == n_atoms:
            break
        anchors = positions[rng.integers(len(positions), size=candidates)]
        directions = rng.normal(size=(candidates, 3))
        directions /= np.linalg.norm(directions, axis=1)[:, None]
        trial = anchors + directions * rng.uniform(min_distance, bond_length, size=(candidates, 1))
        gaps = np.linalg.norm(trial[:, None, :] - positions[None, :, :], axis=2).min(axis=1)
        valid = trial[gaps >= min_distance]
        if len(valid):
            centroid = positions.mean(axis=0)
            best = valid[np.argmin(np.linalg.norm(valid - centroid, axis=1))]
            positions = np.vstack([positions, best])
    else:
        raise RuntimeError(f"could not place {n_atoms} atoms with min distance {min_distance} A")
    atoms = Atoms(f"Mg{n_atoms}", positions=positions)
    atoms.positions -= atoms.get_center_of_mass()
    return atoms
