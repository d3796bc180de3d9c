import itertools
from dataclasses import replace

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from dscribe.descriptors import SOAP
from scipy.spatial.distance import cosine

from paper_artifact.analysis.lattice_motifs import (
    MotifParams,
    lattice_distances,
    lattice_separation_threshold,
    motif_fractions,
    normalise,
    reference_lattices,
)

A, C = 3.209, 5.211  # Angstrom, the paper's hcp Mg constants
PARAMS = MotifParams()
# dscribe includes atoms up to r_cut + sigma * sqrt(-2 ln 0.001) (its Gaussian padding).
REACH = 3.209 + 0.4 * np.sqrt(-2.0 * np.log(1e-3))


def fragment(cell: Atoms, radius: float) -> tuple[Atoms, list[int]]:
    """Free cluster cut from bulk: all atoms within radius of a central lattice site, plus the
    indices of the interior atoms whose full SOAP neighbourhood lies inside the fragment."""
    supercell = cell.repeat((9, 9, 7))
    centre = supercell.positions[
        np.argmin(np.linalg.norm(supercell.positions - supercell.positions.mean(axis=0), axis=1))
    ]
    r = np.linalg.norm(supercell.positions - centre, axis=1)
    piece = Atoms("Mg" + str(int((r < radius).sum())), positions=supercell.positions[r < radius])
    inner = np.flatnonzero(np.linalg.norm(piece.positions - centre, axis=1) < radius - REACH - 0.1)
    return piece, [int(i) for i in inner]


def test_nearest_neighbour_convention_gives_3209_for_every_lattice():
    for name, cell in reference_lattices(PARAMS).items():
        big = cell.repeat(3)
        d = big.get_distances(0, range(1, len(big)), mic=True)
        assert d.min() == pytest.approx(3.197 if name == "hcp" else A, abs=1e-3)
    cubic = reference_lattices(replace(PARAMS, cubic_a_meaning="cubic_constant"))
    assert cubic["fcc"].cell.cellpar()[0] == pytest.approx(A / np.sqrt(2.0))


def test_threshold_is_minimum_of_separately_computed_pairwise_distances():
    cells = {
        "hcp": bulk("Mg", "hcp", a=A, c=C),
        "fcc": bulk("Mg", "fcc", a=A * np.sqrt(2.0)),
        "bcc": bulk("Mg", "bcc", a=2.0 * A / np.sqrt(3.0)),
    }
    distances = []
    for r_cut in (3.209, 4.0, 5.211, 7.0):
        soap = SOAP(species=["Mg"], r_cut=r_cut, n_max=12, l_max=12, sigma=0.4, periodic=True)
        vectors = {k: soap.create(v, centers=[0])[0] for k, v in cells.items()}
        # Scaling a vector by its maximum does not change a cosine distance.
        distances += [cosine(vectors[p], vectors[q]) for p, q in itertools.combinations(cells, 2)]
    threshold = lattice_separation_threshold(PARAMS)
    assert threshold == pytest.approx(min(distances), rel=1e-9)
    # The paper quotes 0.01 for this number.
    assert threshold == pytest.approx(0.01, abs=0.005)


def test_hcp_fragment_interior_is_hcp_equal_at_3209():
    piece, inner = fragment(bulk("Mg", "hcp", a=A, c=C), REACH + 1.5)
    assert inner
    d = lattice_distances(piece, 3.209, PARAMS, centers=inner)
    assert (d["hcp"] < PARAMS.equal_threshold).all()
    assert (d["fcc"] >= PARAMS.equal_threshold).all()
    assert (d["bcc"] >= PARAMS.equal_threshold).all()


def test_fcc_fragment_interior_is_fcc_not_hcp():
    piece, inner = fragment(bulk("Mg", "fcc", a=A * np.sqrt(2.0)), REACH + 1.5)
    d = lattice_distances(piece, 3.209, PARAMS, centers=inner)
    assert (d["fcc"] < PARAMS.equal_threshold).all()
    assert (d["hcp"] >= PARAMS.equal_threshold).all()


def test_motif_fractions_of_bulk_hcp():
    cell = bulk("Mg", "hcp", a=A, c=C).repeat((2, 2, 1))
    table = motif_fractions(cell, PARAMS)
    assert list(table.columns) == ["cutoff", "lattice", "fraction_equal", "fraction_similar"]
    assert len(table) == 12
    hcp = table[table["lattice"] == "hcp"]
    assert (hcp["fraction_equal"] == 1.0).all()
    bcc = table[table["lattice"] == "bcc"]
    assert (bcc["fraction_equal"] == 0.0).all()


def test_minmax_normalisation_maps_to_unit_range_and_collapses_lattices():
    vectors = normalise(np.array([[-2.0, 0.0, 6.0]]), "minmax")
    assert vectors.tolist() == [[0.0, 0.25, 1.0]]
    assert lattice_separation_threshold(replace(PARAMS, normalisation="minmax")) < 1e-3


def test_unknown_options_raise():
    with pytest.raises(ValueError, match="cubic_a_meaning"):
        reference_lattices(replace(PARAMS, cubic_a_meaning="primitive"))
    with pytest.raises(ValueError, match="normalisation"):
        normalise(np.ones((1, 3)), "zscore")
