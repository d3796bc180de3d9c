"""Schoenflies point group of a cluster (Tables 1 and 2) with pymatgen's PointGroupAnalyzer."""

from __future__ import annotations

from dataclasses import dataclass

from ase import Atoms
from pymatgen.core import Molecule
from pymatgen.symmetry.analyzer import PointGroupAnalyzer


@dataclass(frozen=True)
class PointGroupParams:
    tolerance: float = 0.3  # Angstrom, distance tolerance for symmetry-equivalent atoms
    eigen_tolerance: float = 0.01  # relative tolerance on equal principal moments
    matrix_tolerance: float = 0.1  # tolerance on symmetry-operation matrices


def point_group(atoms: Atoms, params: PointGroupParams = PointGroupParams()) -> str:
    """Schoenflies symbol, e.g. 'Ih', 'D*h' (linear, centrosymmetric), 'C1'."""
    if len(atoms) == 0:
        raise ValueError("point_group needs at least one atom")
    molecule = Molecule(atoms.get_chemical_symbols(), atoms.positions)
    analyzer = PointGroupAnalyzer(
        molecule,
        tolerance=params.tolerance,
        eigen_tolerance=params.eigen_tolerance,
        matrix_tolerance=params.matrix_tolerance,
    )
    return str(analyzer.sch_symbol)
