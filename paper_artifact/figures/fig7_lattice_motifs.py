"""Figure 7: fraction of hcp-, fcc- and bcc-like atoms in each global minimum, per SOAP cutoff.

Rows of panels: lattices; columns: 'equal' (d < 0.01) and 'similar' (d < 0.05). The lattice
separation threshold (smallest cosine distance between the reference lattices, the paper's
argument for 0.01) is computed, logged, stored in the CSV and printed in the figure title.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from ase import Atoms
from matplotlib.figure import Figure

from paper_artifact.analysis.lattice_motifs import (
    LATTICES,
    MotifParams,
    lattice_separation_threshold,
    motif_fractions,
)
from paper_artifact.figures.common import contiguous_runs, integer_ticks

log = logging.getLogger(__name__)


def compute(gms: Mapping[int, Atoms], params: MotifParams | None = None) -> pd.DataFrame:
    """Rows: n_atoms, cutoff, lattice, fraction_equal, fraction_similar, separation_threshold."""
    params = params or MotifParams()
    threshold = lattice_separation_threshold(params)
    log.info(
        "smallest cosine distance between reference lattices over cutoffs %s: %.4f "
        "(equal threshold in use: %s)",
        params.cutoffs,
        threshold,
        params.equal_threshold,
    )
    frames = [motif_fractions(atoms, params).assign(n_atoms=n) for n, atoms in sorted(gms.items())]
    df = pd.concat(frames, ignore_index=True)
    df["separation_threshold"] = threshold
    return df[
        [
            "n_atoms",
            "cutoff",
            "lattice",
            "fraction_equal",
            "fraction_similar",
            "separation_threshold",
        ]
    ]


def plot(df: pd.DataFrame) -> Figure:
    fig, axes = plt.subplots(
        len(LATTICES), 2, figsize=(12, 3.2 * len(LATTICES)), sharex=True, sharey=True, squeeze=False
    )
    for row, lattice in enumerate(LATTICES):
        subset = df[df["lattice"] == lattice]
        for col, (column, word) in enumerate(
            [("fraction_equal", "equal"), ("fraction_similar", "similar")]
        ):
            ax = axes[row, col]
            for line_index, (cutoff, group) in enumerate(subset.groupby("cutoff")):
                group = group.set_index("n_atoms").sort_index()
                color = f"C{line_index}"
                for run_index, run in enumerate(contiguous_runs(list(group.index))):
                    ax.plot(
                        run,
                        group.loc[run, column],
                        marker="o",
                        markersize=3,
                        color=color,
                        label=f"r$_{{cut}}$ = {cutoff:g} Å" if run_index == 0 else None,
                    )
            ax.set_title(f"{lattice}-{word} atoms", fontsize=10)
            ax.set_ylabel(f"fraction of {lattice}-like atoms")
            ax.set_xlabel("cluster size n, atoms")
            integer_ticks(ax.xaxis)
            ax.set_ylim(-0.02, 1.02)
            ax.legend(fontsize=7)
    threshold = float(df["separation_threshold"].iloc[0])
    fig.suptitle(f"smallest lattice-lattice cosine distance over cutoffs: {threshold:.4f}")
    fig.tight_layout()
    return fig
