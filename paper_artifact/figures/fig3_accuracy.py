"""Figure 3: GAP accuracy per cluster size on the training and test sets.

(a) RMSE(E_bond) and (b) Pearson r against n for both splits; (c)-(f) GAP vs reference binding
energies for chosen sizes. Every e_bond_* value is a binding energy per atom in kcal/(mol·atom),
so the RMSE is the paper's RMSE(E_bonds) (its Delta E_bonds is divided by n).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import pearsonr

from paper_artifact.figures.common import KCAL_PER_ATOM, integer_ticks


@dataclass(frozen=True)
class Fig3Params:
    regression_sizes: tuple[int, ...] = (28, 48, 41, 54)  # paper: train 28, 48; test 41, 54


def metrics_from_structures(structures: pd.DataFrame) -> pd.DataFrame:
    """Per (n_atoms, split): n_structures, rmse_kcal_mol_atom, pearson_r (NaN below 2 points)."""
    rows = []
    for (n, split), group in structures.groupby(["n_atoms", "split"]):
        error = group["e_bond_gap_kcal"] - group["e_bond_ref_kcal"]
        r = (
            pearsonr(group["e_bond_ref_kcal"], group["e_bond_gap_kcal"]).statistic
            if len(group) > 1
            else np.nan
        )
        rows.append(
            {
                "n_atoms": int(n),
                "split": split,
                "n_structures": len(group),
                "rmse_kcal_mol_atom": float(np.sqrt(np.mean(error**2))),
                "pearson_r": float(r),
            }
        )
    return pd.DataFrame(rows)


def compute(
    metrics: pd.DataFrame, structures: pd.DataFrame | None = None, params: Fig3Params = Fig3Params()
) -> pd.DataFrame:
    """Tidy table: kind 'metric' rows (per size and split) and kind 'regression' rows.

    metrics: n_atoms, split ('train'/'test'), rmse_kcal_mol_atom, pearson_r.
    structures: n_atoms, split, e_bond_ref_kcal, e_bond_gap_kcal (per structure, per atom);
    only the sizes in params.regression_sizes are kept.
    """
    missing = {"n_atoms", "split", "rmse_kcal_mol_atom", "pearson_r"} - set(metrics.columns)
    if missing:
        raise ValueError(f"Figure 3 metrics table lacks columns {sorted(missing)}")
    parts = [metrics.assign(kind="metric")]
    if structures is not None:
        chosen = structures[structures["n_atoms"].isin(params.regression_sizes)]
        # Panel order follows params.regression_sizes.
        order = {n: i for i, n in enumerate(params.regression_sizes)}
        chosen = chosen.sort_values("n_atoms", key=lambda n: n.map(order), kind="stable")
        parts.append(
            chosen[["n_atoms", "split", "e_bond_ref_kcal", "e_bond_gap_kcal"]].assign(
                kind="regression"
            )
        )
    return pd.concat(parts, ignore_index=True)


def plot(df: pd.DataFrame) -> Figure:
    metrics = df[df["kind"] == "metric"].sort_values("n_atoms")
    regression = df[df["kind"] == "regression"]
    sizes = list(dict.fromkeys(regression["n_atoms"].astype(int)))
    n_rows = 1 + (len(sizes) + 1) // 2
    fig, axes = plt.subplots(n_rows, 2, figsize=(10, 3.6 * n_rows), squeeze=False)
    markers = {"train": "o", "test": "s"}
    for ax, column, label in [
        (axes[0, 0], "rmse_kcal_mol_atom", f"RMSE($E_{{bond}}$), {KCAL_PER_ATOM}"),
        (axes[0, 1], "pearson_r", "Pearson r"),
    ]:
        for split, group in metrics.groupby("split"):
            mean = group[column].mean()
            ax.plot(
                group["n_atoms"],
                group[column],
                marker=markers.get(split, "^"),
                linestyle="none",
                label=f"{split} (mean {mean:.3f})",
            )
        ax.set_xlabel("cluster size n, atoms")
        integer_ticks(ax.xaxis)
        ax.set_ylabel(label)
        ax.legend()
    axes[0, 0].set_title("(a)")
    axes[0, 1].set_title("(b)")
    for index, n in enumerate(sizes):
        ax = axes[1 + index // 2, index % 2]
        points = regression[regression["n_atoms"] == n]
        ax.scatter(points["e_bond_ref_kcal"], points["e_bond_gap_kcal"], s=12, label="structures")
        low = min(points["e_bond_ref_kcal"].min(), points["e_bond_gap_kcal"].min())
        high = max(points["e_bond_ref_kcal"].max(), points["e_bond_gap_kcal"].max())
        ax.plot([low, high], [low, high], color="k", linewidth=0.8, label="y = x")
        split = points["split"].iloc[0]
        ax.set_title(f"({chr(ord('c') + index)}) Mg$_{{{n}}}$, {split} set")
        ax.set_xlabel(f"reference $E_{{bond}}$, {KCAL_PER_ATOM}")
        ax.set_ylabel(f"GAP $E_{{bond}}$, {KCAL_PER_ATOM}")
        ax.legend()
    for index in range(len(sizes), 2 * (n_rows - 1)):
        axes[1 + index // 2, index % 2].set_visible(False)
    fig.tight_layout()
    return fig
