"""Overlap-matrix (s,p) fingerprints of non-periodic clusters.

Definition (Sadeghi et al., J. Chem. Phys. 139, 184118 (2013)): put one normalised s and three
normalised p Cartesian Gaussian orbitals on every atom i,
    s_i(r) ~ exp(-a_i |r - R_i|^2),  p_i,k(r) ~ (r - R_i)_k exp(-a_i |r - R_i|^2),
with a_i = 1 / (2 (width_scale * r_cov,i)^2) (width from the covalent radius), build the
4N x 4N overlap matrix S of these orbitals and take its eigenvalues, sorted in descending order,
as the fingerprint. S changes only by a unitary transform under rotation and by a permutation
under relabelling, and depends only on interatomic vectors, so the eigenvalues are invariant
under rotation, translation and permutation of atoms.

Distance: the root-mean-square difference of the two sorted eigenvalue vectors,
    d(F, G) = sqrt( sum_l (F_l - G_l)^2 / L ),   L = 4N,
the normalisation used by Sadeghi et al. (Euclidean norm divided by sqrt of the vector length).

Why not libfp: the installed libfp 4.0.1 wheel does not import (its extension module is not
linked against BLAS: "undefined symbol: ddot_"), and its API (get_lfp/get_sfp/get_dfp) only
provides the periodic, cutoff-limited per-atom fingerprints of crystals (Zhu et al. 2016), not
the global whole-cluster eigenvalue vector used here, so this module is a numpy implementation.

Identity threshold (MG_FP_IDENTITY_THRESHOLD): measured on
data/reference/mg13_bp86_631gd_minima.extxyz (207 BP86 Mg13 minima, 165 distinct
by `unique_minimum_rank`) with the default parameters: the largest distance between two frames
of the same rank is 4.5e-5, the smallest distance between frames of different rank is 1.93e-2
(ranks 120 and 123, 0.42 kcal/mol apart). The threshold 1.0e-3 is the geometric mean of the gap
ends (9.3e-4), rounded; it leaves room for the looser relaxations of a minima-hopping run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import covalent_radii

# See module docstring for how these numbers were measured (tests/test_fingerprint.py re-checks).
MG13_SAME_MINIMUM_MAX_DISTANCE = 4.5e-5
MG13_DIFFERENT_MINIMA_MIN_DISTANCE = 1.93e-2
MG_FP_IDENTITY_THRESHOLD = 1.0e-3


@dataclass(frozen=True)
class FingerprintParams:
    """width_scale multiplies the covalent radius that sets each Gaussian's width.

    use_p_orbitals=False gives the s-only fingerprint (N eigenvalues instead of 4N).
    """

    width_scale: float = 1.0
    use_p_orbitals: bool = True


def _exponents(atoms: Atoms, params: FingerprintParams) -> np.ndarray:
    if params.width_scale <= 0.0:
        raise ValueError(f"FingerprintParams.width_scale must be > 0, got {params.width_scale}")
    radii = params.width_scale * covalent_radii[atoms.numbers]
    return 1.0 / (2.0 * radii**2)


def overlap_matrix(atoms: Atoms, params: FingerprintParams = FingerprintParams()) -> np.ndarray:
    """Overlap matrix of normalised s (and p) Gaussians, orbital order s, px, py, pz per atom."""
    alpha = _exponents(atoms, params)
    n = len(atoms)
    diff = atoms.positions[:, None, :] - atoms.positions[None, :, :]  # D_ij = R_i - R_j
    dist2 = np.einsum("ijk,ijk->ij", diff, diff)
    a, b = alpha[:, None], alpha[None, :]
    gamma = a + b
    mu = a * b / gamma
    s_ss = (2.0 * np.sqrt(a * b) / gamma) ** 1.5 * np.exp(-mu * dist2)
    if not params.use_p_orbitals:
        return s_ss
    # <s_i|p_j,k> = S_ss 2 sqrt(a_j) a_i D_k / gamma
    s_sp = (s_ss * 2.0 * np.sqrt(b) * a / gamma)[:, :, None] * diff
    # <p_i,k|p_j,l> = S_ss 4 sqrt(a_i a_j) [delta_kl / (2 gamma) - a_i a_j D_k D_l / gamma^2]
    pref = s_ss * 4.0 * np.sqrt(a * b)
    s_pp = pref[:, :, None, None] * (
        np.eye(3)[None, None] / (2.0 * gamma)[:, :, None, None]
        - (a * b / gamma**2)[:, :, None, None] * diff[:, :, :, None] * diff[:, :, None, :]
    )
    full = np.zeros((n, 4, n, 4))
    full[:, 0, :, 0] = s_ss
    full[:, 0, :, 1:] = s_sp
    full[:, 1:, :, 0] = np.transpose(s_sp, (1, 2, 0))
    full[:, 1:, :, 1:] = np.transpose(s_pp, (0, 2, 1, 3))
    return full.reshape(4 * n, 4 * n)


def fingerprint(atoms: Atoms, params: FingerprintParams = FingerprintParams()) -> np.ndarray:
    """Eigenvalues of the overlap matrix, sorted in descending order."""
    if len(atoms) == 0:
        raise ValueError("fingerprint: the structure has no atoms")
    if atoms.pbc.any():
        raise ValueError("fingerprint: only non-periodic clusters are supported (atoms.pbc set)")
    return np.linalg.eigvalsh(overlap_matrix(atoms, params))[::-1].copy()


def fingerprint_distance(fp1: np.ndarray, fp2: np.ndarray) -> float:
    """RMS difference of two sorted fingerprints (Sadeghi et al. 2013 normalisation)."""
    fp1, fp2 = np.asarray(fp1), np.asarray(fp2)
    if fp1.shape != fp2.shape:
        raise ValueError(f"fingerprint_distance: shapes differ, {fp1.shape} vs {fp2.shape}")
    return float(np.sqrt(np.mean((fp1 - fp2) ** 2)))


def closest_distance(reference: Atoms, structures: list[Atoms]) -> float:
    """Smallest fingerprint distance between `reference` and any of `structures` (inf if none)."""
    reference_fp = fingerprint(reference)
    return min(
        (fingerprint_distance(fingerprint(a), reference_fp) for a in structures), default=np.inf
    )
