import pandas as pd
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from paper_artifact.analysis.energetics import (
    binding_energy_table,
    delta_per_atom_kcal,
    local_minima,
    second_difference,
    total_energy_ev,
)
from paper_artifact.units import KCAL_MOL_EV


def test_binding_energy_table_by_hand():
    e_atom = -10.0
    # Mg2 bound by 1 kcal/mol in total: E = 2 e_atom - 1 kcal/mol.
    table = binding_energy_table({2: 2 * e_atom - KCAL_MOL_EV}, e_atom)
    assert table.loc[0, "e_bond_total_kcal"] == pytest.approx(-1.0)
    assert table.loc[0, "e_bond_kcal_per_atom"] == pytest.approx(-0.5)


def test_second_difference_of_a_quadratic_is_constant():
    values = {n: 0.5 * n**2 - 3.0 * n + 1.0 for n in [10, 11, 12, 13, 20]}
    d2 = second_difference(values)
    assert list(d2.index) == [11, 12]  # 10, 13 and 20 lack a neighbour
    assert d2.to_numpy() == pytest.approx([1.0, 1.0])


def test_local_minima_find_dips_with_both_neighbours():
    per_atom = {n: -15.0 - 0.05 * n for n in range(39, 61)}
    for magic in (40, 47, 56):
        per_atom[magic] -= 0.2
    per_atom.pop(58)
    per_atom[59] -= 0.5  # a dip without its n-1 neighbour is not counted
    assert local_minima(per_atom) == [40, 47, 56]


def test_total_energy_sources():
    atoms = Atoms("Mg2", positions=[[0, 0, 0], [0, 0, 3]])
    atoms.info["energy_ev"] = -3.0
    assert total_energy_ev(atoms) == -3.0
    atoms.calc = SinglePointCalculator(atoms, energy=-4.0)
    assert total_energy_ev(atoms) == -4.0
    with pytest.raises(ValueError, match="Mg1"):
        total_energy_ev(Atoms("Mg"))


def test_delta_per_atom_reproduces_paper_table1_mg42():
    # Paper Table 1: GAP -783.7 vs best known -793.16 kcal/mol; text: 0.225 kcal/(mol atom).
    assert delta_per_atom_kcal(-783.7, -793.16, 42) == pytest.approx(0.225, abs=5e-4)
    assert isinstance(second_difference({}), pd.Series)
