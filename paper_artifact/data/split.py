"""Train/test split by cluster size, its count table and figure, and the extxyz outputs.

Paper split (section "Training Data for GAP Model"): train Mg27-Mg40 and Mg46-Mg50 (interpolation
and the active-learning sizes), test Mg41-Mg45 and Mg51-Mg55 (3556 / 248 structures there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from ase import Atoms
from ase.io import write
from matplotlib.figure import Figure  # pyplot-free: no backend or global figure state

from paper_artifact.data import REF_ENERGY_KEY, DataError


@dataclass(frozen=True)
class SplitParams:
    train_sizes: tuple[int, ...] = (*range(27, 41), *range(46, 51))
    test_sizes: tuple[int, ...] = (*range(41, 46), *range(51, 56))


class SplitResult(NamedTuple):
    train: list[Atoms]
    test: list[Atoms]
    dropped: dict[int, int]  # cluster size -> structures in neither list


def split_by_size(
    atoms_list: list[Atoms], train_sizes: tuple[int, ...], test_sizes: tuple[int, ...]
) -> SplitResult:
    """Structures whose size is in train_sizes / test_sizes, in input order; others counted."""
    both = sorted(set(train_sizes) & set(test_sizes))
    if both:
        raise ValueError(f"split_by_size: sizes {both} are in both train_sizes and test_sizes")
    train = [atoms for atoms in atoms_list if len(atoms) in set(train_sizes)]
    test = [atoms for atoms in atoms_list if len(atoms) in set(test_sizes)]
    listed = set(train_sizes) | set(test_sizes)
    dropped = Counter(len(atoms) for atoms in atoms_list if len(atoms) not in listed)
    return SplitResult(train, test, dict(sorted(dropped.items())))


def split_count_table(train: list[Atoms], test: list[Atoms]) -> pd.DataFrame:
    """Columns n_atoms, train, test: structures per cluster size."""
    counts = {
        "train": Counter(len(atoms) for atoms in train),
        "test": Counter(len(atoms) for atoms in test),
    }
    sizes = sorted(set(counts["train"]) | set(counts["test"]))
    return pd.DataFrame(
        {
            "n_atoms": sizes,
            "train": [counts["train"][n] for n in sizes],
            "test": [counts["test"][n] for n in sizes],
        }
    )


SPLIT_COLOURS = {"train": "tab:blue", "test": "tab:orange", "unused": "tab:gray"}


def _per_split(count_table: pd.DataFrame) -> pd.DataFrame:
    """Wide table n_atoms x {train, test[, unused]} from either accepted table layout."""
    columns = set(count_table.columns)
    if {"n_atoms", "train", "test"} <= columns:
        return count_table.set_index("n_atoms")[["train", "test"]]
    if {"n_atoms", "kept", "split"} <= columns:
        wide = count_table.pivot_table(
            index="n_atoms", columns="split", values="kept", aggfunc="sum", fill_value=0
        )
        return wide[[name for name in SPLIT_COLOURS if name in wide.columns]]
    raise ValueError(
        "count table needs columns (n_atoms, train, test) as from split_count_table, or "
        f"(n_atoms, kept, split) as the filter counts plus a split column; got {sorted(columns)}"
    )


def counts_figure(count_table: pd.DataFrame) -> Figure:
    """Structures per cluster size, one colour per split."""
    wide = _per_split(count_table)
    figure = Figure(figsize=(8, 3.8), layout="constrained")
    axes = figure.subplots()
    for name in wide.columns:
        shown = wide[name][wide[name] > 0]
        axes.bar(shown.index, shown, color=SPLIT_COLOURS[name], label=f"{name} ({shown.sum()})")
    axes.set_xlabel("cluster size n (Mg$_n$)")
    axes.set_ylabel("structures")
    figure.legend(loc="outside upper center", ncols=len(wide.columns), frameon=False)
    return figure


def write_counts_figure(count_table: pd.DataFrame, path: str | Path) -> Path:
    """counts_figure saved to path (format from the suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    counts_figure(count_table).savefig(path, dpi=150, format=path.suffix.lstrip(".") or "png")
    return path


def write_labelled_extxyz(structures: list[Atoms], path: str | Path) -> Path:
    """extxyz with every info/arrays entry (labels, provenance); refuses unlabelled structures."""
    path = Path(path)
    for k, atoms in enumerate(structures):
        if REF_ENERGY_KEY not in atoms.info:
            raise DataError(f"{path.name}: structure {k} has no info['{REF_ENERGY_KEY}']")
    clean = [atoms.copy() for atoms in structures]  # no calculator: only ref_* labels written
    write(path, clean, format="extxyz")
    return path
