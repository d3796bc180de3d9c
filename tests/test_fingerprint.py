import itertools

import numpy as np
import pytest
from ase import Atoms
from ase.io import read
from scipy.spatial.transform import Rotation

from paper_artifact.configtree import PROJECT_ROOT
from paper_artifact.mh.fingerprint import (
    MG13_DIFFERENT_MINIMA_MIN_DISTANCE,
    MG13_SAME_MINIMUM_MAX_DISTANCE,
    MG_FP_IDENTITY_THRESHOLD,
    FingerprintParams,
    fingerprint,
    fingerprint_distance,
    overlap_matrix,
)
from paper_artifact.mh.isomers import distinct_random_starts, lowest, unique_isomers
from paper_artifact.structures import distinct_by_paper_criterion

MG13_MINIMA = PROJECT_ROOT / "data" / "reference" / "mg13_bp86_631gd_minima.extxyz"


def _numerical_overlaps(atoms, params):
    """Overlaps of the s,p Gaussians by quadrature on a 3D grid (independent of the formulas)."""
    from ase.data import covalent_radii

    alpha = 1.0 / (2.0 * (params.width_scale * covalent_radii[atoms.numbers]) ** 2)
    lo, hi = atoms.positions.min(0) - 5.0, atoms.positions.max(0) + 5.0
    axes = [np.linspace(lo[k], hi[k], 121) for k in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    dv = np.prod([ax[1] - ax[0] for ax in axes])
    orbitals = []
    for a, centre in zip(alpha, atoms.positions, strict=True):
        rel = grid - centre
        g = np.exp(-a * np.sum(rel**2, axis=-1))
        orbitals.append(g)
        orbitals.extend(rel[..., k] * g for k in range(3))
    orbitals = [o / np.sqrt(np.sum(o * o) * dv) for o in orbitals]
    return np.array([[np.sum(o1 * o2) * dv for o2 in orbitals] for o1 in orbitals])


def test_overlap_matrix_matches_numerical_integration():
    atoms = Atoms("MgO", positions=[[0.0, 0.0, 0.0], [1.1, -0.7, 0.9]])
    params = FingerprintParams()
    np.testing.assert_allclose(
        overlap_matrix(atoms, params), _numerical_overlaps(atoms, params), atol=2e-4
    )


def _random_cluster(seed, n=10):
    rng = np.random.default_rng(seed)
    return Atoms(f"Mg{n}", positions=rng.uniform(-4.0, 4.0, size=(n, 3)))


def test_invariant_under_rotation_translation_permutation():
    atoms = _random_cluster(1)
    fp0 = fingerprint(atoms)
    moved = atoms.copy()
    moved.positions = Rotation.random(random_state=3).apply(moved.positions) + [3.0, -1.0, 7.5]
    moved = moved[np.random.default_rng(5).permutation(len(moved))]
    assert fingerprint_distance(fp0, fingerprint(moved)) < 1e-12
    assert len(fp0) == 4 * len(atoms)


def test_detects_small_distortion():
    atoms = _random_cluster(2)
    distorted = atoms.copy()
    distorted.positions[0] += [0.2, 0.0, 0.0]
    assert fingerprint_distance(fingerprint(atoms), fingerprint(distorted)) > 1e-3


def test_distance_is_rms_difference():
    # hand computation: differences (3, 4) -> sqrt((9 + 16) / 2)
    assert fingerprint_distance(np.array([1.0, 2.0]), np.array([4.0, 6.0])) == pytest.approx(
        np.sqrt(12.5)
    )
    with pytest.raises(ValueError, match="shapes differ"):
        fingerprint_distance(np.zeros(4), np.zeros(8))


def test_rejects_periodic_structure():
    atoms = _random_cluster(3)
    atoms.pbc = True
    atoms.cell = [20.0, 20.0, 20.0]
    with pytest.raises(ValueError, match="non-periodic"):
        fingerprint(atoms)


def test_mg13_threshold_separates_same_and_different_minima():
    frames = read(MG13_MINIMA, ":")
    fps = [fingerprint(a) for a in frames]
    ranks = [a.info["unique_minimum_rank"] for a in frames]
    same, different = [], []
    for i, j in itertools.combinations(range(len(frames)), 2):
        d = fingerprint_distance(fps[i], fps[j])
        (same if ranks[i] == ranks[j] else different).append(d)
    assert len(same) > 0 and len(different) > 0
    assert max(same) == pytest.approx(MG13_SAME_MINIMUM_MAX_DISTANCE, rel=0.05)
    assert min(different) == pytest.approx(MG13_DIFFERENT_MINIMA_MIN_DISTANCE, rel=0.05)
    assert max(same) < MG_FP_IDENTITY_THRESHOLD < min(different)


def test_unique_isomers_recovers_mg13_reference_grouping():
    frames = read(MG13_MINIMA, ":")
    for atoms in frames:
        atoms.info["energy"] = atoms.info["energy_ev"]
    # reference grouping used |dE| < 2e-6 Ha; our fingerprint criterion must give the same count
    isomers = unique_isomers(frames, MG_FP_IDENTITY_THRESHOLD, energy_tol=2e-6 * 27.211386245988)
    n_ranks = len({a.info["unique_minimum_rank"] for a in frames})
    assert len(isomers) == n_ranks
    energies = [a.info["energy"] for a in isomers]
    assert energies == sorted(energies)
    assert sum(a.info["n_found"] for a in isomers) == len(frames)
    assert [a.info["unique_minimum_rank"] for a in lowest(isomers, 3)] == [0, 1, 2]


def test_unique_isomers_merges_rotated_copy_and_requires_energy():
    atoms = _random_cluster(4)
    atoms.info["energy"] = -1.0
    rotated = atoms.copy()
    rotated.positions = Rotation.random(random_state=1).apply(rotated.positions)
    other = _random_cluster(6)
    other.info["energy"] = -1.0
    assert len(unique_isomers([atoms, rotated, other])) == 2
    with pytest.raises(ValueError, match="minimum 0 has no info"):
        unique_isomers([_random_cluster(7)])


def test_distinct_random_starts_are_pairwise_distinct_and_reproducible():
    starts = distinct_random_starts(8, 4, seed=3)
    assert len(starts) == 4
    for a, b in itertools.combinations(starts, 2):
        assert distinct_by_paper_criterion(a, b, 0.05)
    again = distinct_random_starts(8, 4, seed=3)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(starts, again, strict=True))
