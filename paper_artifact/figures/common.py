"""Shared output helpers for the figure and table modules: CSV/PNG/PDF/Markdown files.

They write into the figures stage's staging folder, which the runner renames into place only when
the stage finished, so a crash never leaves a half-written figure or table among the results.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

KCAL_PER_ATOM = "kcal/(mol·atom)"


def write_file(path: Path, writer: Callable[[Path], None]) -> Path:
    """writer(path) after creating path's folder; returns path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(path)
    return path


def write(df: pd.DataFrame, fig: Figure, out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Write stem.csv (the plotted data), stem.png and stem.pdf; closes the figure."""
    out_dir = Path(out_dir)
    paths = {
        "csv": write_file(out_dir / f"{stem}.csv", lambda p: df.to_csv(p, index=False)),
        "png": write_file(out_dir / f"{stem}.png", lambda p: fig.savefig(p, dpi=200)),
        "pdf": write_file(out_dir / f"{stem}.pdf", lambda p: fig.savefig(p)),
    }
    plt.close(fig)
    return paths


def write_table(df: pd.DataFrame, out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Write stem.csv and stem.md (a GitHub Markdown table; needs the tabulate package)."""
    out_dir = Path(out_dir)
    markdown = df.to_markdown(index=False, floatfmt=".3f") + "\n"
    return {
        "csv": write_file(out_dir / f"{stem}.csv", lambda p: df.to_csv(p, index=False)),
        "md": write_file(out_dir / f"{stem}.md", lambda p: p.write_text(markdown)),
    }


def contiguous_runs(sizes: list[int]) -> list[list[int]]:
    """Split sorted sizes into runs of consecutive integers (lines are not drawn across gaps)."""
    runs: list[list[int]] = []
    for n in sorted(sizes):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def integer_ticks(*axes) -> None:
    """Integer tick labels only, for axes that count atoms or structures."""
    for axis in axes:
        axis.set_major_locator(MaxNLocator(integer=True))
