import json

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.fd import calculate_numerical_forces
from scipy.spatial.transform import Rotation

from paper_artifact.calculators.gupta import Gupta, GuptaParameters
from paper_artifact.calculators.relax import GAUSSIAN_DEFAULT_FMAX, relax
from paper_artifact.configtree import PROJECT_ROOT
from paper_artifact.structures import random_cluster
from paper_artifact.units import KCAL_MOL_EV

PARAMETERS_JSON = PROJECT_ROOT / "data" / "reference" / "gupta_mg_parameters.json"


def _cluster(n, seed):
    atoms = random_cluster(n, np.random.default_rng(np.random.SeedSequence([seed, n])))
    atoms.calc = Gupta()
    return atoms


def test_dimer_energy_matches_hand_formula():
    r = 3.1
    a, xi, r0, p, q = 1.249626, 5.017854, 2.691017, 16.807377, 0.431717  # kcal/mol, A
    # each atom: one repulsive term and sqrt of one density term
    per_atom = a * np.exp(-p * (r / r0 - 1)) - np.sqrt(xi**2 * np.exp(-2 * q * (r / r0 - 1)))
    dimer = Atoms("Mg2", positions=[[0, 0, 0], [0, 0, r]])
    dimer.calc = Gupta()
    assert dimer.get_potential_energy() == pytest.approx(2 * per_atom * KCAL_MOL_EV, rel=1e-12)


def test_parameters_match_reference_json():
    reference = json.loads(PARAMETERS_JSON.read_text())
    values = reference["parameters"]
    parameters = GuptaParameters()
    assert (
        parameters.a_kcal_mol,
        parameters.xi_kcal_mol,
        parameters.r0,
        parameters.p,
        parameters.q,
    ) == (values["A"], values["xi"], values["r0"], values["p"], values["q"])
    # the JSON used 1 kcal/mol = 0.0433641043 eV (rounded), ASE's constant differs at 1e-8
    assert parameters.a_ev == pytest.approx(reference["parameters_eV"]["A"], rel=1e-7)
    assert parameters.xi_ev == pytest.approx(reference["parameters_eV"]["xi"], rel=1e-7)


def test_isolated_atom_energy_is_zero():
    atom = Atoms("Mg", positions=[[0, 0, 0]])
    atom.calc = Gupta()
    assert Gupta.isolated_atom_energy == 0.0
    assert atom.get_potential_energy() == 0.0


@pytest.mark.parametrize("n", [2, 7, 20])
def test_forces_equal_minus_finite_difference_gradient(n):
    atoms = _cluster(n, seed=3)
    numerical = calculate_numerical_forces(atoms, eps=1e-5)
    assert np.abs(atoms.get_forces() - numerical).max() < 1e-7


def test_rotation_translation_permutation_invariance():
    atoms = _cluster(15, seed=5)
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    rotation = Rotation.from_euler("zyx", [0.3, -1.1, 2.0]).as_matrix()
    moved = atoms.copy()
    moved.positions = atoms.positions @ rotation.T + np.array([4.0, -2.5, 7.0])
    moved.calc = Gupta()
    assert moved.get_potential_energy() == pytest.approx(energy, abs=1e-10)
    assert np.allclose(moved.get_forces(), forces @ rotation.T, atol=1e-10)
    order = np.random.default_rng(7).permutation(len(atoms))
    permuted = atoms[order]
    permuted.calc = Gupta()
    assert permuted.get_potential_energy() == pytest.approx(energy, abs=1e-10)
    assert np.allclose(permuted.get_forces(), forces[order], atol=1e-10)


def test_net_force_vanishes():
    assert np.abs(_cluster(30, seed=11).get_forces().sum(axis=0)).max() < 1e-10


def test_rejects_periodic_cells():
    atoms = Atoms("Mg2", positions=[[0, 0, 0], [0, 0, 3]], cell=[10, 10, 10], pbc=True)
    atoms.calc = Gupta()
    with pytest.raises(ValueError, match="periodic"):
        atoms.get_potential_energy()


@pytest.mark.parametrize("optimizer", ["BFGS", "FIRE", "LBFGS"])
def test_relax_reaches_force_threshold(optimizer):
    start = _cluster(10, seed=13)
    result = relax(start, Gupta(), fmax=1e-3, steps=2000, optimizer=optimizer)
    assert result.converged
    assert result.n_steps > 0
    assert np.linalg.norm(result.atoms.get_forces(), axis=1).max() < 1e-3
    assert result.energy < start.get_potential_energy()
    assert result.atoms.get_potential_energy() == result.energy
    assert not np.allclose(start.positions, result.atoms.positions)  # input not modified


def test_gaussian_default_fmax_in_ev_per_angstrom():
    # 0.00045 Ha/Bohr with 1 Ha = 27.211386245988 eV and 1 Bohr = 0.529177210903 A
    assert GAUSSIAN_DEFAULT_FMAX == pytest.approx(0.00045 * 27.211386245988 / 0.529177210903)


def test_relax_rejects_unknown_optimizer():
    with pytest.raises(ValueError, match="optimizer"):
        relax(_cluster(3, seed=1), Gupta(), optimizer="GD")
