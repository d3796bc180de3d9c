"""Shared output helpers for the figure and table modules: atomic CSV/PNG/PDF/Markdown writes.

Every file is written to a temporary file in the target directory and moved into place with
os.replace, so a crash never leaves a half-written figure or table behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

KCAL_PER_ATOM = "kcal/(mol·atom)"


def atomic_write(path: Path, writer: Callable[[Path], None]) -> Path:
    """Run writer(temp_path) in path's directory, then rename the result to path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        writer(Path(temp_name))
        os.chmod(temp_name, 0o644)  # mkstemp creates 0600; outputs are meant to be shared
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def write(df: pd.DataFrame, fig: Figure, out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Write stem.csv (the plotted data), stem.png and stem.pdf; closes the figure."""
    out_dir = Path(out_dir)
    paths = {
        "csv": atomic_write(out_dir / f"{stem}.csv", lambda p: df.to_csv(p, index=False)),
        "png": atomic_write(out_dir / f"{stem}.png", lambda p: fig.savefig(p, dpi=200)),
        "pdf": atomic_write(out_dir / f"{stem}.pdf", lambda p: fig.savefig(p)),
    }
    plt.close(fig)
    return paths


def write_table(df: pd.DataFrame, out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Write stem.csv and stem.md (a GitHub Markdown table; needs the tabulate package)."""
    out_dir = Path(out_dir)
    markdown = df.to_markdown(index=False, floatfmt=".3f") + "\n"
    return {
        "csv": atomic_write(out_dir / f"{stem}.csv", lambda p: df.to_csv(p, index=False)),
        "md": atomic_write(out_dir / f"{stem}.md", lambda p: p.write_text(markdown)),
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
