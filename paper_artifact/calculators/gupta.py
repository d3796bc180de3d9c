"""Gupta (second-moment tight-binding) potential for Mg clusters, as an ASE calculator.

E = sum_i [ A sum_{j!=i} exp(-p (r_ij/r0 - 1)) - sqrt( xi^2 sum_{j!=i} exp(-2q (r_ij/r0 - 1)) ) ]

No cutoff (all pairs), free clusters only. Energies in eV, forces in eV/Angstrom; the
isolated atom has zero energy, so E itself is the binding energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase.calculators.calculator import all_changes
from scipy.spatial.distance import cdist

from paper_artifact.units import KCAL_MOL_EV

from .state import ExactStateCalculator

GUPTA_MG_PROVENANCE = (
    "github:skignatov/globus@424f4731c4cbc86782e24f3518d06896388fdcbb "
    "samples/globalopt-abc/MgN-globalopt-GP.inp (potential block '*GP 12 12'), BSD-2-Clause; "
    "A and xi in kcal/mol (unit fixed by reproducing the program's printed harmonic frequencies), "
    "r0 in Angstrom; copied via data/reference/gupta_mg_parameters.json"
)


@dataclass(frozen=True)
class GuptaParameters:
    a_kcal_mol: float = 1.249626
    xi_kcal_mol: float = 5.017854
    r0: float = 2.691017  # Angstrom
    p: float = 16.807377
    q: float = 0.431717

    @property
    def a_ev(self) -> float:
        return self.a_kcal_mol * KCAL_MOL_EV

    @property
    def xi_ev(self) -> float:
        return self.xi_kcal_mol * KCAL_MOL_EV


class Gupta(ExactStateCalculator):
    """Vectorised Gupta potential: full N x N pair arrays, analytic forces."""

    implemented_properties = ("energy", "energies", "forces")
    isolated_atom_energy = 0.0  # eV

    def __init__(self, parameters: GuptaParameters | None = None, **kwargs):
        super().__init__(**kwargs)
        self.gupta = parameters or GuptaParameters()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.atoms.pbc.any():
            raise ValueError(
                f"Gupta: periodic boundaries are not supported ({self.atoms.get_chemical_formula()}"
                f" has pbc={self.atoms.pbc.tolist()}); use a free cluster"
            )
        energies, forces = gupta_energies_forces(self.atoms.positions, self.gupta)
        self.results = {"energy": float(energies.sum()), "energies": energies, "forces": forces}


def gupta_energies_forces(
    positions: np.ndarray, parameters: GuptaParameters
) -> tuple[np.ndarray, np.ndarray]:
    """Per-atom energies (eV) and forces (eV/A) for one cluster, from full N x N pair arrays."""
    n = len(positions)
    if n < 2:
        return np.zeros(n), np.zeros((n, 3))
    a, xi, r0, p, q = parameters.a_ev, parameters.xi_ev, parameters.r0, parameters.p, parameters.q
    distances = cdist(positions, positions)
    np.fill_diagonal(distances, np.inf)  # exp(-inf) = 0 removes the self-pairs
    scaled = distances * (1.0 / r0) - 1.0
    repulsive = np.exp(-p * scaled)
    attractive = np.exp(-2.0 * q * scaled)
    sqrt_density = np.sqrt(attractive.sum(axis=1))
    energies = a * repulsive.sum(axis=1) - xi * sqrt_density
    # pair derivative dE/dr_ij (symmetric; both atoms' embedding terms), divided by r_ij
    inv_sqrt = 1.0 / sqrt_density
    weights = (-2.0 * a * p / r0) * repulsive + (xi * q / r0) * attractive * (
        inv_sqrt[:, None] + inv_sqrt[None, :]
    )
    weights /= distances
    # F_i = -sum_j w_ij (r_i - r_j) = (W r)_i - (sum_j w_ij) r_i
    forces = weights @ positions - weights.sum(axis=1)[:, None] * positions
    return energies, forces
