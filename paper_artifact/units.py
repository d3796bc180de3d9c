"""Units used at the edges: eV/Angstrom inside, kcal/mol/atom where the paper reports it."""

from ase import units

HARTREE_EV = units.Hartree
KCAL_MOL_EV = units.kcal / units.mol
EV_TO_KCAL_MOL = 1.0 / KCAL_MOL_EV

# Paper, section "Calculation of the Binding Energy": Gaussian BP86/6-31G(d) Mg atom.
E_MG1_PAPER_HARTREE = -200.0696953
E_MG1_PAPER_EV = E_MG1_PAPER_HARTREE * HARTREE_EV


def binding_energy_per_atom_ev(energy_ev: float, n_atoms: int, e_atom_ev: float) -> float:
    """E_bond = (E_total - n * E(Mg1)) / n (paper Eq. 1 and the E_bond definition)."""
    return (energy_ev - n_atoms * e_atom_ev) / n_atoms


def binding_energy_per_atom_kcal(energy_ev: float, n_atoms: int, e_atom_ev: float) -> float:
    return binding_energy_per_atom_ev(energy_ev, n_atoms, e_atom_ev) * EV_TO_KCAL_MOL
