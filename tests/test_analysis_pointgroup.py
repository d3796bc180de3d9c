import numpy as np
from ase import Atoms
from ase.cluster import Icosahedron

from paper_artifact.analysis.pointgroup import PointGroupParams, point_group
from paper_artifact.structures import random_cluster


def test_icosahedron_is_ih_even_with_small_noise():
    atoms = Icosahedron("Mg", 2, latticeconstant=3.2 * np.sqrt(2.0))
    assert point_group(atoms) == "Ih"
    noisy = atoms.copy()
    noisy.positions += np.random.default_rng(0).normal(scale=0.01, size=noisy.positions.shape)
    assert point_group(noisy) == "Ih"
    assert point_group(noisy, PointGroupParams(tolerance=0.001)) == "C1"


def test_dimer_is_d_infinity_h():
    assert point_group(Atoms("Mg2", positions=[[0, 0, 0], [0, 0, 3.2]])) == "D*h"


def test_random_cluster_is_c1():
    assert point_group(random_cluster(12, np.random.default_rng(7))) == "C1"
