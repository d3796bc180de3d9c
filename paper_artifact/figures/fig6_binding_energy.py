"""Figure 6: binding energy per atom against cluster size.

(a) reference (DFT) binding energies of the global minima, line, and of other low isomers, dots;
(b) global minima by DFT (solid) and GAP (dashed). Red dashed lines mark sizes whose GM (of any
source shown) lies below both neighbours (local minima of E_bond per atom); green dashed lines
in (b) mark the mass-spectrometry magic sizes. Input e_bond_kcal is per atom, kcal/(mol·atom).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from paper_artifact.analysis.energetics import local_minima, second_difference
from paper_artifact.figures.common import KCAL_PER_ATOM, contiguous_runs, integer_ticks


@dataclass(frozen=True)
class Fig6Params:
    # Sizes the paper discusses as "magic" (mass-spectra peaks, its ref. 61).
    magic_sizes: tuple[int, ...] = (40, 47, 56, 59, 69, 74, 99)


def compute(energies: pd.DataFrame, params: Fig6Params = Fig6Params()) -> pd.DataFrame:
    """Adds to energies (n_atoms, source, kind, e_bond_kcal) the GM-only columns

    local_minimum (GM below both n +- 1 GMs of the same source), second_difference_kcal
    (E(n+1) + E(n-1) - 2E(n) of total binding energies, kcal/mol) and magic.
    """
    missing = {"n_atoms", "source", "kind", "e_bond_kcal"} - set(energies.columns)
    if missing:
        raise ValueError(f"Figure 6 energy table lacks columns {sorted(missing)}")
    df = energies.copy()
    df["local_minimum"] = False
    df["second_difference_kcal"] = float("nan")
    for source, group in df[df["kind"] == "gm"].groupby("source"):
        if group["n_atoms"].duplicated().any():
            raise ValueError(f"Figure 6: more than one GM per size for source {source!r}")
        per_atom = dict(zip(group["n_atoms"], group["e_bond_kcal"], strict=True))
        minima = set(local_minima(per_atom))
        d2 = second_difference({n: e * n for n, e in per_atom.items()})
        for index, n in zip(group.index, group["n_atoms"], strict=True):
            df.loc[index, "local_minimum"] = n in minima
            df.loc[index, "second_difference_kcal"] = d2.get(n, float("nan"))
    df["magic"] = df["n_atoms"].isin(params.magic_sizes)
    return df


def _gm_lines(ax, gms: pd.DataFrame, label: str, style: str, color: str) -> None:
    gms = gms.sort_values("n_atoms").set_index("n_atoms")
    for index, run in enumerate(contiguous_runs(list(gms.index))):
        ax.plot(
            run,
            gms.loc[run, "e_bond_kcal"],
            style,
            color=color,
            marker="o",
            markersize=3,
            label=label if index == 0 else None,
        )


def _mark_sizes(ax, sizes: list[int], label: str, color: str) -> None:
    for index, n in enumerate(sizes):
        ax.axvline(
            n, color=color, linestyle="--", linewidth=0.7, label=label if index == 0 else None
        )


def plot(df: pd.DataFrame) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    reference = df[df["source"] == "reference"]
    gap = df[df["source"] == "gap"]

    ax = axes[0]
    isomers = reference[reference["kind"] == "isomer"]
    ax.scatter(
        isomers["n_atoms"],
        isomers["e_bond_kcal"],
        s=8,
        color="tab:gray",
        label="low-lying isomers (reference)",
    )
    known = reference[reference["kind"] == "known_gm"]
    if len(known):
        ax.scatter(
            known["n_atoms"],
            known["e_bond_kcal"],
            marker="D",
            s=20,
            facecolors="none",
            edgecolors="k",
            label="known GM, not the lowest (reference)",
        )
    ref_gm = reference[reference["kind"] == "gm"]
    _gm_lines(ax, ref_gm, "GM (reference)", "-", "tab:blue")
    _mark_sizes(
        ax,
        sorted(ref_gm.loc[ref_gm["local_minimum"], "n_atoms"]),
        "GM below both neighbours",
        "tab:red",
    )
    ax.set_title("(a)")

    ax = axes[1]
    _gm_lines(ax, ref_gm, "GM (reference)", "-", "tab:blue")
    gap_gm = gap[gap["kind"] == "gm"]
    _gm_lines(ax, gap_gm, "GM (GAP)", "--", "tab:orange")
    gm_minima = df[(df["kind"] == "gm") & df["local_minimum"].astype(bool)]
    _mark_sizes(ax, sorted(gm_minima["n_atoms"].unique()), "GM below both neighbours", "tab:red")
    _mark_sizes(
        ax,
        sorted(df.loc[df["magic"], "n_atoms"].unique()),
        "magic size (mass spectra)",
        "tab:green",
    )
    ax.set_title("(b)")
    for ax in axes:
        ax.set_xlabel("cluster size n, atoms")
        integer_ticks(ax.xaxis)
        ax.set_ylabel(f"$E_{{bond}}$, {KCAL_PER_ATOM}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
