"""Figure 5: sorted distances of the atoms from the centre of mass for each global minimum.

One small panel per size: COM distance against atom rank, with a red vertical line at the core
size (atoms no probe can touch, see paper_artifact.analysis.com_profile) and the largest step of
the profile inside CoreParams.step_window marked for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from ase import Atoms
from matplotlib.figure import Figure

from paper_artifact.analysis.com_profile import (
    CoreParams,
    core_size,
    largest_step,
    sorted_com_distances,
)
from paper_artifact.figures.common import integer_ticks


def compute(gms: Mapping[int, Atoms], params: CoreParams | None = None) -> pd.DataFrame:
    """One row per atom: n_atoms, rank (1-based), com_distance, core_size, step_after,
    step_height (params default: CoreParams())."""
    params = params or CoreParams()
    frames = []
    for n, atoms in sorted(gms.items()):
        if len(atoms) != n:
            raise ValueError(f"Figure 5: structure for size {n} has {len(atoms)} atoms")
        profile = sorted_com_distances(atoms)
        step_after, step_height = largest_step(profile, params.step_window, params.min_step_height)
        frames.append(
            pd.DataFrame(
                {
                    "n_atoms": n,
                    "rank": np.arange(1, n + 1),
                    "com_distance": profile,
                    "core_size": core_size(atoms, params),
                    "step_after": step_after,
                    "step_height": step_height,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def plot(df: pd.DataFrame, n_cols: int = 6) -> Figure:
    sizes = sorted(df["n_atoms"].unique())
    n_rows = -(-len(sizes) // n_cols)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(2.6 * n_cols, 2.3 * n_rows), squeeze=False, sharey=True
    )
    for ax, n in zip(axes.flat, sizes, strict=False):
        profile = df[df["n_atoms"] == n]
        ax.plot(
            profile["rank"],
            profile["com_distance"],
            marker=".",
            markersize=3,
            linewidth=0.8,
            label="COM distance",
        )
        core = int(profile["core_size"].iloc[0])
        ax.axvline(core, color="red", linewidth=1.0, label=f"core size ({core})")
        step = int(profile["step_after"].iloc[0])
        if step:
            ax.axvline(
                step + 0.5, color="gray", linestyle=":", linewidth=1.0, label="largest profile step"
            )
        ax.set_title(f"Mg$_{{{n}}}$", fontsize=9)
        ax.set_xlabel("atom rank (sorted), count", fontsize=8)
        integer_ticks(ax.xaxis)
        ax.set_ylabel("distance from COM, Å", fontsize=8)
        ax.legend(fontsize=6, loc="lower right")
    for ax in axes.flat[len(sizes) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
