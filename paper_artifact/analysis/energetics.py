"""Size dependence of cluster energies (paper Figure 6): binding energy, second difference, minima.

Inputs are total energies in eV indexed by cluster size; reported binding energies are in
kcal/mol (per atom or per cluster), following the paper's E_bond = (E_tot - n E(Mg1)) / n.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from ase import Atoms

from paper_artifact.units import binding_energy_per_atom_kcal


def total_energy_ev(atoms: Atoms) -> float:
    """Energy of a stored structure: its calculator result, else atoms.info['energy_ev']."""
    if atoms.calc is not None:
        return float(atoms.get_potential_energy())
    if "energy_ev" in atoms.info:
        return float(atoms.info["energy_ev"])
    raise ValueError(
        f"Mg{len(atoms)} structure has neither a calculator energy nor info['energy_ev']"
    )


def binding_energy_table(energies_ev: Mapping[int, float], e_atom_ev: float) -> pd.DataFrame:
    """One row per size: n_atoms, energy_ev, e_bond_kcal_per_atom, e_bond_total_kcal."""
    rows = []
    for n, energy in sorted(energies_ev.items()):
        per_atom = binding_energy_per_atom_kcal(energy, n, e_atom_ev)
        rows.append(
            {
                "n_atoms": int(n),
                "energy_ev": float(energy),
                "e_bond_kcal_per_atom": per_atom,
                "e_bond_total_kcal": per_atom * n,
            }
        )
    return pd.DataFrame(rows)


def second_difference(values: Mapping[int, float]) -> pd.Series:
    """D2(n) = E(n+1) + E(n-1) - 2 E(n), only for n whose both neighbours are present.

    Pass total energies (any unit; the result has the same unit). D2 > 0 marks a size more
    stable than the average of its neighbours.
    """
    result = {
        n: values[n + 1] + values[n - 1] - 2.0 * values[n]
        for n in sorted(values)
        if n - 1 in values and n + 1 in values
    }
    return pd.Series(result, name="second_difference", dtype=float).rename_axis("n_atoms")


def local_minima(values: Mapping[int, float]) -> list[int]:
    """Sizes whose value is lower than at both n - 1 and n + 1 (both must be present).

    With E_bond per atom this gives the paper's "lower binding energy per atom than the n +- 1
    neighbours" sizes (40, 47, 56 among the known GMs).
    """
    return [
        n
        for n in sorted(values)
        if n - 1 in values and n + 1 in values and values[n] < min(values[n - 1], values[n + 1])
    ]


def delta_per_atom_kcal(total_a_kcal: float, total_b_kcal: float, n_atoms: int) -> float:
    """(E_a - E_b) / n for two binding energies of the same size given per cluster."""
    return (total_a_kcal - total_b_kcal) / n_atoms
