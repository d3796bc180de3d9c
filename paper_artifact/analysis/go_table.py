"""The GO table: per size, the known global minimum (GM), whether global optimisation with the
GAP found it (after the reference relaxation of the lowest GAP isomers), the energy gap and what
the search cost.

Same minimum: overlap-matrix fingerprint distance below SAME_MINIMUM_FP_DISTANCE between our
reference-relaxed GM and the reference-relaxed known GM. 1e-2 lies between the distances of two
relaxations of one minimum (below 1e-5 at fmax 1e-4 eV/A; up to 8e-3 seen with Gaussian's
default 0.023 eV/A) and the smallest distance between different BP86 Mg13 minima (1.9e-2,
mh.fingerprint). A GM that is not the known one but lower by more than LOWER_BY (eV) is a new,
lower GM.
"""

from __future__ import annotations

import pandas as pd
from ase import Atoms

from ..mh.fingerprint import fingerprint, fingerprint_distance
from ..units import EV_TO_KCAL_MOL

SAME_MINIMUM_FP_DISTANCE = 1e-2
LOWER_BY = 1e-3  # eV: above the reference relaxations' energy noise at fmax 1e-4 eV/A


def _energy(atoms: Atoms) -> float:
    """info['energy'], or the energy extxyz reading put into a SinglePointCalculator."""
    if "energy" in atoms.info:
        return float(atoms.info["energy"])
    return float(atoms.get_potential_energy())


def go_table(
    runs: pd.DataFrame,
    hessian_checks: pd.DataFrame,
    gap_gm: dict[int, Atoms],
    refined_gm: dict[int, Atoms],
    known_gm: dict[int, Atoms],
) -> pd.DataFrame:
    """runs: go/mh_runs.csv; hessian_checks: go/hessian_check.csv; structures carry their energy
    (eV; the reference's for refined and known GMs)."""
    rows = []
    for n in sorted(gap_gm):
        size_runs = runs[runs.n_atoms == n]
        checks = hessian_checks[hessian_checks.n_atoms == n]
        row = {
            "n_atoms": n,
            "gap_gm_ev": _energy(gap_gm[n]),
            "refined_gm_ev": _energy(refined_gm[n]) if n in refined_gm else None,
            "known_gm_ev": _energy(known_gm[n]) if n in known_gm else None,
            "mh_runs": len(size_runs),
            "hops": int(size_runs.n_steps.sum()),
            "energy_force_calls": int(
                size_runs.n_force_calls.sum() + checks.energy_force_calls.sum()
            ),
            "wall_seconds": float(size_runs.wall_seconds.sum()),
        }
        if n in refined_gm and n in known_gm:
            distance = fingerprint_distance(fingerprint(refined_gm[n]), fingerprint(known_gm[n]))
            gap = row["refined_gm_ev"] - row["known_gm_ev"]
            row.update(
                fingerprint_distance=distance,
                found=bool(distance < SAME_MINIMUM_FP_DISTANCE),
                lower_than_known=bool(distance >= SAME_MINIMUM_FP_DISTANCE and gap < -LOWER_BY),
                energy_gap_ev=gap,
                energy_gap_kcal_mol_atom=gap / n * EV_TO_KCAL_MOL,
            )
        rows.append(row)
    return pd.DataFrame(rows)
