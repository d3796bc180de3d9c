"""Table 2: GAP global minima of the sizes explored by global optimisation only (no DFT step).

Energies are GAP energies; as in the paper (E_bonds^GAP = E_total^GAP - n E^DFT(Mg1)) the
free-atom reference stays the DFT atom energy, TableParams.e_atom_ev.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from ase import Atoms

from paper_artifact.analysis.com_profile import CoreParams
from paper_artifact.analysis.pointgroup import PointGroupParams
from paper_artifact.tables.table1_refined_gm import TableParams, structure_summary


def compute(
    gap_gms: Mapping[int, Atoms],
    params: TableParams | None = None,
    core: CoreParams | None = None,
    symmetry: PointGroupParams | None = None,
) -> pd.DataFrame:
    """Per size: n_atoms, e_bond_total_kcal, e_bond_per_atom_kcal, point_group, core_size."""
    return structure_summary(gap_gms, params or TableParams(), core, symmetry)
