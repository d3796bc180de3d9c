import math

import numpy as np
import pytest
from ase import Atoms

from paper_artifact.evaluation import average_rmse, per_size_metrics

KCAL_MOL_IN_EV = 0.0433641043  # 1 kcal/mol in eV (CODATA, as in the reference data SOURCES.md)


def _cluster(n):
    return Atoms(f"Mg{n}", positions=np.arange(3 * n, dtype=float).reshape(n, 3) * 3.0)


@pytest.fixture
def example():
    # Three Mg2 structures and one Mg3 with E(Mg1) = -1 eV; numbers chosen for hand computation.
    atoms = [_cluster(2), _cluster(2), _cluster(2), _cluster(3)]
    reference = np.array([-3.0, -3.2, -3.4, -4.5])
    predicted = np.array([-2.9, -3.3, -3.4, -4.44])
    return atoms, predicted, reference


def test_per_size_metrics_hand_computed(example):
    atoms, predicted, reference = example
    df = per_size_metrics(atoms, predicted, reference, e_atom_ev=-1.0)
    assert list(df["n_atoms"]) == [2, 3]
    assert list(df["n_structures"]) == [3, 1]
    mg2, mg3 = df.iloc[0], df.iloc[1]
    # Mg2: errors per atom +0.05, -0.05, 0 eV -> RMSE sqrt(0.005/3) eV, mean 0.
    assert mg2["rmse_kcal_mol_atom"] == pytest.approx(math.sqrt(0.005 / 3) / KCAL_MOL_IN_EV)
    assert mg2["mean_signed_error_kcal_mol_atom"] == pytest.approx(0.0, abs=1e-12)
    # E_bond ref (-0.5, -0.6, -0.7), GAP (-0.45, -0.65, -0.7): r = 0.025 / sqrt(0.02 * 0.035).
    assert mg2["pearson_r"] == pytest.approx(0.025 / math.sqrt(0.02 * 0.035))
    assert mg2["mean_reference_e_bond_kcal_mol_atom"] == pytest.approx(-0.6 / KCAL_MOL_IN_EV)
    # Mg3: one structure, error +0.06 eV / 3 atoms; Pearson undefined.
    assert mg3["rmse_kcal_mol_atom"] == pytest.approx(0.02 / KCAL_MOL_IN_EV)
    assert mg3["mean_signed_error_kcal_mol_atom"] == pytest.approx(0.02 / KCAL_MOL_IN_EV)
    assert math.isnan(mg3["pearson_r"])


def test_atom_energy_cancels_in_errors_and_correlation(example):
    atoms, predicted, reference = example
    a = per_size_metrics(atoms, predicted, reference, e_atom_ev=-1.0)
    b = per_size_metrics(atoms, predicted, reference, e_atom_ev=-5444.0)
    for column in ("rmse_kcal_mol_atom", "mean_signed_error_kcal_mol_atom", "pearson_r"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-9, atol=1e-9)


def test_average_rmse_is_unweighted_mean_over_sizes(example):
    atoms, predicted, reference = example
    df = per_size_metrics(atoms, predicted, reference, e_atom_ev=-1.0)
    mg2 = math.sqrt(0.005 / 3) / KCAL_MOL_IN_EV
    mg3 = 0.02 / KCAL_MOL_IN_EV
    assert average_rmse(df) == pytest.approx((mg2 + mg3) / 2)
    assert average_rmse(df, exclude_sizes=(3,)) == pytest.approx(mg2)
    with pytest.raises(ValueError, match="no cluster sizes"):
        average_rmse(df, exclude_sizes=(2, 3))


def test_length_mismatch_is_reported(example):
    atoms, predicted, reference = example
    with pytest.raises(ValueError, match="4 structures, 3 predicted"):
        per_size_metrics(atoms, predicted[:3], reference, e_atom_ev=-1.0)


def test_basin_retention_tells_a_model_with_the_reference_minima_from_one_without():
    from ase.calculators.lj import LennardJones
    from ase.cluster import Icosahedron

    from paper_artifact.calculators.relax import relax
    from paper_artifact.evaluation import basin_retention

    def lj(sigma):  # Mg-like pair scale (nearest neighbours ~3.2 A): the fingerprint's Mg radii
        return LennardJones(sigma=sigma, epsilon=0.05, rc=9.0, smooth=True)

    reference_minimum = relax(Icosahedron("Mg", 2, latticeconstant=4.6), lj(2.9), fmax=1e-4).atoms
    kept, drop = basin_retention(lj(2.9), [reference_minimum], fmax=1e-3)
    assert (kept, drop) == (1, pytest.approx(0.0, abs=1e-5))
    # a model with 10 % shorter bonds: its relaxation leaves the basin (fingerprint distance
    # 0.22) and the energy drops by 0.51 eV
    kept, drop = basin_retention(lj(2.6), [reference_minimum, reference_minimum], fmax=1e-3)
    assert kept == 0
    assert drop == pytest.approx(0.51, abs=0.02)
