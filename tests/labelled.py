"""Random Mg-size clusters with reference labels, shared by the GAP and grid-search tests."""

import numpy as np
from ase.calculators.lj import LennardJones

from paper_artifact.structures import random_cluster


def lj_clusters(count, sizes, seed, salt, calc=None):
    """Random clusters labelled by `calc` (default a Mg-scale Lennard-Jones potential): energy in
    info['ref_energy'], forces in arrays['ref_forces']; `salt` keeps each test file's data set."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, salt]))
    clusters = []
    for _ in range(count):
        atoms = random_cluster(int(rng.choice(sizes)), rng)
        atoms.calc = calc or LennardJones(sigma=2.9, epsilon=0.05, rc=20.0)
        atoms.info["ref_energy"] = atoms.get_potential_energy()
        atoms.arrays["ref_forces"] = atoms.get_forces()
        atoms.calc = None
        clusters.append(atoms)
    return clusters
