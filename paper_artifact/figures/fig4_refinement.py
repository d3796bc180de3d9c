"""Figure 4: DFT refinement of the lowest GAP isomers and the size of the minima-hopping search.

(a) DFT binding energy per atom of the refined isomers of every size, with the known GMs;
(b) GAP against DFT binding energy per atom for chosen sizes, points labelled by DFT rank;
(c) number of distinct minima visited by minima hopping per size, summed over its starts.
All e_bond_* values are per atom, kcal/(mol·atom).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from paper_artifact.figures.common import KCAL_PER_ATOM, integer_ticks


@dataclass(frozen=True)
class Fig4Params:
    comparison_sizes: tuple[int, ...] = (42, 44, 52, 53)  # paper Figure 4(b)


REFINEMENT_COLUMNS = {
    "n_atoms",
    "isomer_rank_gap",
    "e_bond_gap_kcal",
    "e_bond_ref_kcal",
    "rank_ref",
}


def compute(
    refinement: pd.DataFrame,
    metastable: pd.DataFrame,
    known_gm: pd.DataFrame | None = None,
    params: Fig4Params = Fig4Params(),
) -> pd.DataFrame:
    """Tidy table with a 'kind' column: 'isomer', 'known_gm', 'metastable'.

    refinement: n_atoms, isomer_rank_gap, e_bond_gap_kcal, e_bond_ref_kcal, rank_ref.
    metastable: n_atoms, start, n_minima. known_gm: n_atoms, source, e_bond_kcal (optional).
    Isomer rows get in_comparison = True for the sizes of panel (b).
    """
    missing = REFINEMENT_COLUMNS - set(refinement.columns)
    if missing:
        raise ValueError(f"Figure 4 refinement table lacks columns {sorted(missing)}")
    missing = {"n_atoms", "start", "n_minima"} - set(metastable.columns)
    if missing:
        raise ValueError(f"Figure 4 metastable table lacks columns {sorted(missing)}")
    isomers = refinement.assign(
        kind="isomer", in_comparison=refinement["n_atoms"].isin(params.comparison_sizes)
    )
    parts = [isomers, metastable.assign(kind="metastable")]
    if known_gm is not None:
        parts.append(known_gm[["n_atoms", "source", "e_bond_kcal"]].assign(kind="known_gm"))
    return pd.concat(parts, ignore_index=True)


def plot(df: pd.DataFrame) -> Figure:
    isomers = df[df["kind"] == "isomer"]
    known = df[df["kind"] == "known_gm"]
    metastable = df[df["kind"] == "metastable"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))

    ax = axes[0]
    ax.scatter(
        isomers["n_atoms"],
        isomers["e_bond_ref_kcal"],
        s=14,
        color="tab:blue",
        alpha=0.7,
        label="refined GAP isomers (reference)",
    )
    groups = known.groupby("source") if not known.empty else []
    for marker, (source, group) in zip("D^v*", groups, strict=False):
        ax.scatter(
            group["n_atoms"],
            group["e_bond_kcal"],
            marker=marker,
            s=40,
            facecolors="none",
            edgecolors="k",
            label=f"known GM: {source}",
        )
    ax.set_xlabel("cluster size n, atoms")
    integer_ticks(ax.xaxis)
    ax.set_ylabel(f"reference $E_{{bond}}$, {KCAL_PER_ATOM}")
    ax.set_title("(a)")
    ax.legend(fontsize=8)

    ax = axes[1]
    chosen = isomers[isomers["in_comparison"].astype(bool)]
    for n, group in chosen.groupby("n_atoms"):
        ax.scatter(group["e_bond_ref_kcal"], group["e_bond_gap_kcal"], s=18, label=f"Mg$_{{{n}}}$")
        for _, row in group.iterrows():
            ax.annotate(
                str(int(row["rank_ref"])),
                (row["e_bond_ref_kcal"], row["e_bond_gap_kcal"]),
                fontsize=6,
                xytext=(2, 2),
                textcoords="offset points",
            )
    if len(chosen):
        low = min(chosen["e_bond_ref_kcal"].min(), chosen["e_bond_gap_kcal"].min())
        high = max(chosen["e_bond_ref_kcal"].max(), chosen["e_bond_gap_kcal"].max())
        ax.plot([low, high], [low, high], color="k", linewidth=0.8, label="y = x")
    ax.set_xlabel(f"reference $E_{{bond}}$, {KCAL_PER_ATOM}")
    ax.set_ylabel(f"GAP $E_{{bond}}$, {KCAL_PER_ATOM}")
    ax.set_title("(b) labels: reference rank")
    ax.legend(fontsize=8)

    ax = axes[2]
    # Per size over all its starts, as the paper counts (claims.yaml, metastable_count).
    per_start = metastable.pivot_table(index="n_atoms", columns="start", values="n_minima")
    bottom = pd.Series(0.0, index=per_start.index)
    for start in per_start.columns:
        ax.bar(per_start.index, per_start[start], bottom=bottom, label=f"start {int(start)}")
        bottom += per_start[start].fillna(0.0)
    ax.set_xlabel("cluster size n, atoms")
    integer_ticks(ax.xaxis, ax.yaxis)
    ax.set_ylabel("distinct minima per size (all MH starts)")
    ax.set_title("(c)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
