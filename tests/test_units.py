import pytest

from paper_artifact import units


def test_kcal_mol_matches_thermochemical_definition():
    # 1 kcal/mol = 4184 J/mol / N_A / e (CODATA 2018 N_A and e)
    ev = 4184.0 / 6.02214076e23 / 1.602176634e-19
    assert units.KCAL_MOL_EV == pytest.approx(ev, rel=1e-6)
    assert units.EV_TO_KCAL_MOL == pytest.approx(23.0605, rel=1e-5)


def test_hartree_in_ev():
    assert units.HARTREE_EV == pytest.approx(27.211386, rel=1e-7)


def test_binding_energy_per_atom_by_hand():
    # Mg13 GM from data/reference SOURCES.md: E = -2601.163726 Ha, E_b = -161.70 kcal/mol total
    e_total = -2601.163726 * units.HARTREE_EV
    per_atom = units.binding_energy_per_atom_kcal(e_total, 13, units.E_MG1_PAPER_EV)
    assert per_atom * 13 == pytest.approx(-161.70, abs=0.01)
    assert units.binding_energy_per_atom_ev(-3.0, 3, -0.5) == pytest.approx(-0.5)
