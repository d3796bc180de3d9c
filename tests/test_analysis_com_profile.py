import numpy as np
import pytest
from ase import Atoms
from ase.cluster import Icosahedron

from paper_artifact.analysis.com_profile import (
    CoreParams,
    com_distances,
    core_indices,
    core_size,
    largest_step,
    sorted_com_distances,
    surface_mask,
)

NN = 3.2  # Angstrom, Mg-Mg nearest-neighbour distance


def mackay(shells: int) -> Atoms:
    # ASE's latticeconstant is the fcc cubic constant: nearest neighbours at a / sqrt(2).
    return Icosahedron("Mg", shells, latticeconstant=NN * np.sqrt(2.0))


def test_com_distances_match_hand_values():
    atoms = Atoms("Mg3", positions=[[0, 0, 0], [2, 0, 0], [4, 0, 0]])
    assert np.allclose(com_distances(atoms), [2.0, 0.0, 2.0])
    assert np.allclose(sorted_com_distances(atoms), [0.0, 2.0, 2.0])


@pytest.mark.parametrize(("shells", "expected_core"), [(2, 1), (3, 13), (4, 55)])
def test_mackay_icosahedra_have_the_previous_icosahedron_as_core(shells, expected_core):
    atoms = mackay(shells)
    assert core_size(atoms) == expected_core
    # The core is the innermost closed shell: exactly the expected_core atoms nearest the COM.
    innermost = set(np.argsort(com_distances(atoms))[:expected_core])
    assert set(core_indices(atoms)) == innermost


def test_mg55_profile_step_matches_icosahedral_geometry():
    profile = sorted_com_distances(mackay(3))
    inner_radius = profile[1]
    # Outer-shell edge atoms sit midway between two vertices at 2 r, i.e. at |v_a + v_b| r with
    # unit vertex vectors 63.4 deg apart (cos = 1/sqrt(5)).
    edge_radius = np.sqrt(2.0 + 2.0 / np.sqrt(5.0)) * inner_radius
    count, height = largest_step(profile, (2.5, 5.0))
    assert count == 13
    assert height == pytest.approx(edge_radius - inner_radius, rel=1e-6)


def test_small_and_hollow_clusters_have_no_core():
    tetrahedron = Atoms(
        "Mg4",
        positions=NN / np.sqrt(8.0) * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]),
    )
    assert core_size(tetrahedron) == 0
    hollow = mackay(2)
    del hollow[int(np.argmin(com_distances(hollow)))]
    assert surface_mask(hollow).all()


def test_largest_step_outside_window_is_empty():
    assert largest_step(np.array([0.0, 1.0, 1.2]), (3.0, 5.0)) == (0, 0.0)


def test_invalid_parameters_raise():
    with pytest.raises(ValueError, match="CoreParams"):
        surface_mask(mackay(2), CoreParams(atom_radius=0.0))


def test_core_does_not_depend_on_the_orientation():
    # Mg12 = Mg13 icosahedron without one vertex: the centre atom is seen through the vacancy
    # only over a sliver of its sphere; with a fixed set of test points a bare "any point" rule
    # made it core in one orientation and surface in another.
    atoms = mackay(2)
    centre = int(np.argmin(com_distances(atoms)))
    del atoms[(centre + 1) % len(atoms)]
    rng = np.random.default_rng(0)
    cores = set()
    for _ in range(6):
        rotated = atoms.copy()
        rotated.rotate(rng.uniform(0, 360), rng.normal(size=3), center="COM")
        cores.add(tuple(core_indices(rotated)))
    assert len(cores) == 1


def test_exposed_fraction_must_be_a_fraction():
    with pytest.raises(ValueError, match="min_exposed_fraction"):
        surface_mask(mackay(2), CoreParams(min_exposed_fraction=1.5))


def test_round_off_within_one_shell_is_no_step():
    # Mg13's 12 shell atoms at one distance up to relaxation noise: the biggest of those noise
    # steps moved from atom 12 to atom 2 with another BLAS kernel.
    shell = 3.1 + np.array([0.0, 3e-6, 1e-6, 2e-6, 0.0, 4e-6, 1e-6, 0.0, 2e-6, 1e-6, 3e-6, 0.0])
    profile = np.sort(np.concatenate([[0.0], shell]))
    assert largest_step(profile, (3.0, 5.0), min_height=0.05) == (0, 0.0)
    real = np.concatenate([profile, [4.2, 4.3]])
    assert largest_step(real, (3.0, 5.0), min_height=0.05)[0] == 13
