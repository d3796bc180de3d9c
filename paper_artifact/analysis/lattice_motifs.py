"""Similarity of atomic environments to hcp, fcc and bcc lattices (paper Figure 7).

Per-atom SOAP vectors (dscribe, l_max = n_max = 12, sigma = 0.4 A) at four cutoffs are compared
with the SOAP vector of one atom of each periodic reference lattice by the cosine distance
d = 1 - v1.v2 / (|v1| |v2|). An atom is "equal" to a lattice when d < equal_threshold (0.01)
and "similar" when d < similar_threshold (0.05).

Choices the paper leaves open, decided by reproducing its own threshold argument (the paper
takes 0.01 as the smallest cosine distance between the reference lattices over the cutoffs):
- Meaning of "a = 3.209 A" for fcc and bcc. With ase.build.bulk's cubic constant a = 3.209 A
  the fcc nearest-neighbour distance would be 2.27 A (far below any Mg-Mg bond) and the
  smallest lattice separation is 0.076; with a = 3.209 A read as the nearest-neighbour distance
  (the hcp in-plane a) it is 0.0073, i.e. 0.01 to the paper's precision. Default:
  `cubic_a_meaning = "nearest_neighbour"` (cubic constants sqrt(2) a and 2 a / sqrt(3)).
- "Normalised to the [0, 1] range". Any positive rescaling of a vector leaves the cosine
  distance unchanged, so scaling by the maximum (`normalisation = "max"`) is the reading that
  keeps the paper's argument working. Per-vector min-max scaling (`"minmax"`) shifts every
  component by the (negative) minimum; the common offset pushes all lattices below
  d = 0.001, so a 0.01 threshold would call every atom hcp-, fcc- and bcc-equal at once.
  "minmax" is kept selectable to show this.
The dscribe GTO radial basis at n_max = 12 is ill-conditioned (scipy LinAlgWarning from
dscribe's basis orthonormalisation); references and clusters use the same descriptor object,
so comparisons stay consistent.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from ase import Atoms
from ase.build import bulk
from dscribe.descriptors import SOAP
from scipy.spatial.distance import cdist

LATTICES = ("hcp", "fcc", "bcc")


@dataclass(frozen=True)
class MotifParams:
    cutoffs: tuple[float, ...] = (3.209, 4.0, 5.211, 7.0)  # Angstrom
    n_max: int = 12
    l_max: int = 12
    sigma: float = 0.4  # Angstrom
    hcp_a: float = 3.209  # Angstrom
    hcp_c: float = 5.211  # Angstrom
    cubic_a: float = 3.209  # Angstrom, see cubic_a_meaning
    cubic_a_meaning: str = "nearest_neighbour"  # or "cubic_constant"
    normalisation: str = "max"  # "max" (scale only) or "minmax"
    equal_threshold: float = 0.01
    similar_threshold: float = 0.05


def reference_lattices(params: MotifParams = MotifParams()) -> dict[str, Atoms]:
    """Primitive periodic hcp, fcc and bcc Mg cells."""
    if params.cubic_a_meaning == "nearest_neighbour":
        fcc_a, bcc_a = params.cubic_a * np.sqrt(2.0), params.cubic_a * 2.0 / np.sqrt(3.0)
    elif params.cubic_a_meaning == "cubic_constant":
        fcc_a, bcc_a = params.cubic_a, params.cubic_a
    else:
        raise ValueError(
            f"MotifParams.cubic_a_meaning must be 'nearest_neighbour' or 'cubic_constant', "
            f"got {params.cubic_a_meaning!r}"
        )
    return {
        "hcp": bulk("Mg", "hcp", a=params.hcp_a, c=params.hcp_c),
        "fcc": bulk("Mg", "fcc", a=fcc_a),
        "bcc": bulk("Mg", "bcc", a=bcc_a),
    }


@lru_cache(maxsize=32)
def soap_descriptor(r_cut: float, n_max: int, l_max: int, sigma: float, periodic: bool) -> SOAP:
    return SOAP(
        species=["Mg"], r_cut=r_cut, n_max=n_max, l_max=l_max, sigma=sigma, periodic=periodic
    )


def normalise(vectors: np.ndarray, mode: str) -> np.ndarray:
    """Scale each row into [0, 1] ("minmax") or by its largest absolute component ("max")."""
    vectors = np.atleast_2d(vectors)
    if mode == "max":
        return vectors / np.abs(vectors).max(axis=1, keepdims=True)
    if mode == "minmax":
        low = vectors.min(axis=1, keepdims=True)
        return (vectors - low) / (vectors.max(axis=1, keepdims=True) - low)
    raise ValueError(f"MotifParams.normalisation must be 'max' or 'minmax', got {mode!r}")


def soap_vectors(
    atoms: Atoms, r_cut: float, params: MotifParams, centers: list[int] | None = None
) -> np.ndarray:
    """Normalised per-atom SOAP vectors (rows) of atoms, periodic if atoms are."""
    descriptor = soap_descriptor(
        float(r_cut), params.n_max, params.l_max, params.sigma, bool(atoms.pbc.any())
    )
    raw = descriptor.create(atoms, centers=centers)
    return normalise(raw, params.normalisation)


def reference_vectors(r_cut: float, params: MotifParams = MotifParams()) -> dict[str, np.ndarray]:
    """One normalised SOAP vector per lattice (all atoms of these lattices are equivalent)."""
    return {
        name: soap_vectors(cell, r_cut, params, centers=[0])[0]
        for name, cell in reference_lattices(params).items()
    }


def lattice_distances(
    atoms: Atoms,
    r_cut: float,
    params: MotifParams = MotifParams(),
    centers: list[int] | None = None,
) -> pd.DataFrame:
    """Cosine distance of each (centre) atom's environment to each lattice, one column each."""
    refs = reference_vectors(r_cut, params)
    vectors = soap_vectors(atoms, r_cut, params, centers=centers)
    distances = cdist(vectors, np.array([refs[name] for name in LATTICES]), metric="cosine")
    index = pd.Index(range(len(atoms)) if centers is None else list(centers), name="atom")
    return pd.DataFrame(distances, columns=list(LATTICES), index=index)


def motif_fractions(atoms: Atoms, params: MotifParams = MotifParams()) -> pd.DataFrame:
    """Fractions of atoms equal / similar to each lattice, one row per (cutoff, lattice)."""
    rows = []
    for r_cut in params.cutoffs:
        distances = lattice_distances(atoms, r_cut, params)
        for name in LATTICES:
            rows.append(
                {
                    "cutoff": float(r_cut),
                    "lattice": name,
                    "fraction_equal": float((distances[name] < params.equal_threshold).mean()),
                    "fraction_similar": float((distances[name] < params.similar_threshold).mean()),
                }
            )
    return pd.DataFrame(rows)


def reference_separations(params: MotifParams = MotifParams()) -> pd.DataFrame:
    """Cosine distance between every pair of reference lattices at every cutoff."""
    rows = []
    for r_cut in params.cutoffs:
        refs = reference_vectors(r_cut, params)
        for first, second in itertools.combinations(LATTICES, 2):
            d = cdist(refs[first][None, :], refs[second][None, :], metric="cosine")[0, 0]
            rows.append(
                {"cutoff": float(r_cut), "lattice_a": first, "lattice_b": second, "d_cosine": d}
            )
    return pd.DataFrame(rows)


def lattice_separation_threshold(params: MotifParams = MotifParams()) -> float:
    """The paper's way of fixing the 'equal' threshold: the smallest lattice-lattice distance."""
    return float(reference_separations(params)["d_cosine"].min())
