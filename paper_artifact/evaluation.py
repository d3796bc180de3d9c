"""Per-size accuracy of a model against reference energies (paper, "Selection of Parameters").

For a cluster of n atoms, E_bond = E_total - n * E(Mg1) and the error per atom is
dE_bond = (E_bond^GAP - E_bond^ref) / n. Both binding energies subtract the same n * E(Mg1) of the
reference method, so dE_bond = (E_GAP - E_ref) / n and e_atom_ev cancels in the RMSE, the mean
signed error and the per-size Pearson r (a common shift and scale per size leaves r unchanged); it
only enters the reported mean reference binding energy. RMSE(E_bond) is taken over the N structures
of one size. The paper's "average RMSE(E_bond) across all cluster sizes" (section "Model training")
is the unweighted mean of these per-size RMSEs (`average_rmse`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from ase import Atoms

from paper_artifact.units import binding_energy_per_atom_kcal

METRIC_COLUMNS = (
    "n_atoms",
    "n_structures",
    "rmse_kcal_mol_atom",
    "pearson_r",
    "mean_signed_error_kcal_mol_atom",
    "mean_reference_e_bond_kcal_mol_atom",
)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r; NaN for fewer than 2 structures or a constant series (r is undefined)."""
    if len(x) < 2 or np.ptp(x) == 0.0 or np.ptp(y) == 0.0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def per_size_metrics(
    atoms_list: Sequence[Atoms],
    predicted_ev: Sequence[float],
    reference_ev: Sequence[float],
    e_atom_ev: float,
) -> pd.DataFrame:
    """One row per cluster size (ascending): RMSE, Pearson r and mean signed error of E_bond."""
    predicted = np.asarray(predicted_ev, dtype=float)
    reference = np.asarray(reference_ev, dtype=float)
    sizes = np.array([len(a) for a in atoms_list])
    if not len(sizes) == len(predicted) == len(reference):
        raise ValueError(
            f"per_size_metrics: {len(sizes)} structures, {len(predicted)} predicted and "
            f"{len(reference)} reference energies"
        )
    e_bond_pred = binding_energy_per_atom_kcal(predicted, sizes, e_atom_ev)
    e_bond_ref = binding_energy_per_atom_kcal(reference, sizes, e_atom_ev)
    rows = []
    for n in np.unique(sizes):
        mask = sizes == n
        delta = e_bond_pred[mask] - e_bond_ref[mask]
        rows.append(
            {
                "n_atoms": int(n),
                "n_structures": int(mask.sum()),
                "rmse_kcal_mol_atom": float(np.sqrt(np.mean(delta**2))),
                "pearson_r": _pearson(e_bond_pred[mask], e_bond_ref[mask]),
                "mean_signed_error_kcal_mol_atom": float(np.mean(delta)),
                "mean_reference_e_bond_kcal_mol_atom": float(np.mean(e_bond_ref[mask])),
            }
        )
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


def average_rmse(df: pd.DataFrame, exclude_sizes: Iterable[int] = ()) -> float:
    """Unweighted mean over sizes of the per-size RMSE (kcal/mol/atom), skipping `exclude_sizes`."""
    kept = df[~df["n_atoms"].isin(list(exclude_sizes))]
    if kept.empty:
        raise ValueError("average_rmse: no cluster sizes left after exclusion")
    return float(kept["rmse_kcal_mol_atom"].mean())


def model_metrics(
    calc, atoms_list: Sequence[Atoms], e_atom_ev: float
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """A model's predicted and the reference energies (eV) of atoms_list, and its per-size
    metrics."""
    from paper_artifact.calculators.gap import predict_energies, reference_energies
    from paper_artifact.data import REF_ENERGY_KEY

    predicted = np.asarray(predict_energies(calc, atoms_list), dtype=float)
    reference = np.asarray(reference_energies(atoms_list, REF_ENERGY_KEY), dtype=float)
    return predicted, reference, per_size_metrics(atoms_list, predicted, reference, e_atom_ev)


def evaluate_model(
    calc,
    train: list[Atoms],
    test: list[Atoms],
    e_atom_ev: float,
    external: Sequence[Atoms] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-size metrics (paper Figure 3a,b) and per-structure E_bond pairs (Figure 3c-f) of a
    model (an ASE calculator); `external` (e.g. the Gaussian Mg13 minima) is reported as split
    'external'."""
    metrics, structures = [], []
    splits = [("train", train), ("test", test)] + ([("external", external)] if external else [])
    for split, atoms_list in splits:
        predicted, reference, split_metrics = model_metrics(calc, atoms_list, e_atom_ev)
        metrics.append(split_metrics.assign(split=split))
        sizes = np.array([len(a) for a in atoms_list])
        structures.append(
            pd.DataFrame(
                {
                    "split": split,
                    "n_atoms": sizes,
                    "e_bond_ref_kcal": binding_energy_per_atom_kcal(reference, sizes, e_atom_ev),
                    "e_bond_gap_kcal": binding_energy_per_atom_kcal(predicted, sizes, e_atom_ev),
                }
            )
        )
    return pd.concat(metrics, ignore_index=True), pd.concat(structures, ignore_index=True)


# a reference minimum relaxed with a model and this close (fingerprint distance) to its start is
# in the same basin; the GO match (analysis.go_table.SAME_MINIMUM_FP_DISTANCE) asks more: one
# minimum on one PES
SAME_BASIN_FP_DISTANCE = 0.05


def basin_retention(calc, minima: Sequence[Atoms], fmax: float) -> tuple[int, float]:
    """Relax reference minima with a model: how many stay in their basin, and the mean energy
    drop (eV). A model for GO has its minima where the reference has them."""
    from paper_artifact.calculators.relax import relax
    from paper_artifact.mh.fingerprint import fingerprint, fingerprint_distance

    kept, drops = 0, []
    for atoms in minima:
        start = Atoms(atoms.numbers, positions=atoms.positions)
        start.calc = calc
        start_energy = start.get_potential_energy()
        result = relax(start, calc, fmax=fmax, steps=2000)
        drops.append(start_energy - result.energy)
        kept += fingerprint_distance(fingerprint(result.atoms), fingerprint(start)) <= (
            SAME_BASIN_FP_DISTANCE
        )
    return kept, float(np.mean(drops))
