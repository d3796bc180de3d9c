"""The public Gaussian BP86/6-31G(d) Mg13 minima (data/reference, see its SOURCES.md)."""

from __future__ import annotations

from ase import Atoms
from ase.io import read

from ..configtree import PROJECT_ROOT

MINIMA_FILE = PROJECT_ROOT / "data" / "reference" / "mg13_bp86_631gd_minima.extxyz"


def lowest_distinct_minima(frames: list[Atoms], count: int) -> list[Atoms]:
    """The `count` lowest distinct minima (rank 0 = global minimum): the lowest-energy frame of
    each of the file's `unique_minimum_rank` groups 0..count-1."""
    best: dict[int, Atoms] = {}
    for atoms in frames:
        rank = int(atoms.info["unique_minimum_rank"])
        if rank not in best or atoms.info["energy_hartree"] < best[rank].info["energy_hartree"]:
            best[rank] = atoms
    return [best[rank] for rank in sorted(best)[:count]]


def read_lowest_distinct_minima(count: int, path=MINIMA_FILE) -> list[Atoms]:
    return lowest_distinct_minima(read(path, ":"), count)
