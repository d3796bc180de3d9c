import numpy as np
import pytest
from ase.calculators.lj import LennardJones
from scipy.spatial.distance import pdist

from paper_artifact.data.generate import KINDS, GenerationParams, generate_candidates


def lj():
    return LennardJones(sigma=2.9, epsilon=0.05, rc=20.0)


SMALL = GenerationParams(
    n_random=2,
    n_fragment=4,
    n_relaxed=2,
    n_rattled=2,
    n_strained=2,
    n_md=1,
    md_steps=20,
    relax_steps=100,
)


@pytest.fixture(scope="module")
def candidates():
    return generate_candidates([8, 10], SMALL, seed=3, cheap_calc_factory=lj)


def by_kind(structures, kind, n_atoms):
    return [a for a in structures if a.info["generator"] == kind and len(a) == n_atoms]


def test_counts_order_and_provenance(candidates):
    per_size = dict(zip(KINDS, [2, 4, 2, 2, 2, 1], strict=True))
    expected = [(n, kind) for n in (8, 10) for kind in KINDS for _ in range(per_size[kind])]
    assert [(len(a), a.info["generator"]) for a in candidates] == expected
    assert [a.info["motif"] for a in by_kind(candidates, "fragment", 8)] == [
        "hcp",
        "fcc",
        "bcc",
        "ico",
    ]
    assert [a.info["parent"] for a in by_kind(candidates, "relaxed", 10)] == [
        "random:0",
        "random:1",
    ]
    assert {a.info["parent"] for a in by_kind(candidates, "md", 10)} == {"relaxed:0"}
    assert all(a.calc is None and not a.pbc.any() for a in candidates)
    np.testing.assert_allclose([a.get_center_of_mass() for a in candidates], 0.0, atol=1e-9)


def test_deterministic_per_seed(candidates):
    again = generate_candidates([8, 10], SMALL, seed=3, cheap_calc_factory=lj)
    for first, second in zip(candidates, again, strict=True):
        np.testing.assert_array_equal(first.positions, second.positions)
    other = generate_candidates([8], SMALL, seed=4, cheap_calc_factory=lj)
    assert not np.allclose(other[0].positions, candidates[0].positions)
    # A size's structures do not depend on which other sizes are generated.
    alone = generate_candidates([10], SMALL, seed=3, cheap_calc_factory=lj)
    for first, second in zip(alone, candidates[-len(alone) :], strict=True):
        np.testing.assert_array_equal(first.positions, second.positions)


def test_lattice_fragments_have_the_motif_nearest_neighbour_distance(candidates):
    a, c = 3.209, 5.211  # hcp Mg; fcc and bcc at the same volume per atom
    volume = np.sqrt(3.0) / 4.0 * a**2 * c
    expected = {
        "hcp": min(a, np.sqrt(a**2 / 3.0 + c**2 / 4.0)),
        "fcc": (4.0 * volume) ** (1 / 3) / np.sqrt(2.0),
        "bcc": (2.0 * volume) ** (1 / 3) * np.sqrt(3.0) / 2.0,
    }
    for atoms in by_kind(candidates, "fragment", 10)[:3]:
        assert pdist(atoms.positions).min() == pytest.approx(
            expected[atoms.info["motif"]], abs=1e-6
        )


def test_centred_icosahedral_fragment_of_13_is_the_mackay_icosahedron():
    params = GenerationParams(
        n_random=0, n_fragment=1, n_relaxed=0, n_rattled=0, n_strained=0, n_md=0,
        motifs=("ico",), fragment_centre_spread=0.0,
    )  # fmt: skip
    (atoms,) = generate_candidates([13], params, seed=0, cheap_calc_factory=lj)
    radii = np.sort(np.linalg.norm(atoms.positions, axis=1))
    assert radii[0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(radii[1:], radii[1], rtol=1e-9)


def test_relaxed_structures_are_minima_of_the_cheap_calculator(candidates):
    for atoms in by_kind(candidates, "relaxed", 8) + by_kind(candidates, "relaxed", 10):
        assert atoms.info["relax_converged"]
        check = atoms.copy()
        check.calc = lj()
        assert np.linalg.norm(check.get_forces(), axis=1).max() <= SMALL.relax_fmax


def parent_of(atoms, candidates):
    kind, index = atoms.info["parent"].split(":")
    return by_kind(candidates, kind, len(atoms))[int(index)]


def test_rattled_and_strained_copies_stay_close_to_their_minimum(candidates):
    for atoms in by_kind(candidates, "rattled", 10):
        shift = atoms.positions - parent_of(atoms, candidates).positions
        assert 0.3 * SMALL.rattle_amplitude < shift.std() < 2.0 * SMALL.rattle_amplitude
    for atoms in by_kind(candidates, "strained", 10):
        ratio = pdist(atoms.positions) / pdist(parent_of(atoms, candidates).positions)
        # |strain components| <= s, so the spectral norm of the strain is at most 3 s.
        limit = 3 * SMALL.strain_range
        assert np.all((ratio >= 1 - limit) & (ratio <= 1 + limit)) and ratio.std() > 0


def test_md_snapshot_moves_away_from_its_start(candidates):
    (atoms,) = by_kind(candidates, "md", 8)
    start = parent_of(atoms, candidates)
    assert np.abs(pdist(atoms.positions) - pdist(start.positions)).max() > 0.01
    assert pdist(atoms.positions).min() > 2.3


def test_invalid_requests_are_rejected():
    with pytest.raises(ValueError, match="sizes"):
        generate_candidates([8, 8], SMALL, seed=0, cheap_calc_factory=lj)
    with pytest.raises(ValueError, match="motifs"):
        GenerationParams(motifs=("diamond",))
    with pytest.raises(ValueError, match=">= 0"):
        GenerationParams(n_md=-1)
