import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read

from paper_artifact.data import REF_ENERGY_KEY, REF_FORCES_KEY, REF_METHOD_KEY, DataError
from paper_artifact.data.split import (
    SplitParams,
    counts_figure,
    split_by_size,
    split_count_table,
    write_counts_figure,
    write_labelled_extxyz,
)


def line(n_atoms: int, energy: float) -> Atoms:
    atoms = Atoms(f"Mg{n_atoms}", positions=[[3.1 * k, 0.0, 0.0] for k in range(n_atoms)])
    atoms.info[REF_ENERGY_KEY] = energy
    atoms.info[REF_METHOD_KEY] = "BP86/6-31G(d)"
    atoms.info["source_file"] = "some file.extxyz"
    atoms.info["source_index"] = n_atoms
    atoms.arrays[REF_FORCES_KEY] = np.arange(3 * n_atoms, dtype=float).reshape(n_atoms, 3) / 7
    return atoms


STRUCTURES = [line(n, -1.5 * n - 0.123456789) for n in (2, 3, 3, 4, 5, 5, 5, 6)]


def test_split_by_size_keeps_order_and_counts_dropped_sizes():
    split = split_by_size(STRUCTURES, train_sizes=(3, 5), test_sizes=(4,))
    assert split.train == [STRUCTURES[k] for k in (1, 2, 4, 5, 6)]
    assert split.test == [STRUCTURES[3]]
    assert split.dropped == {2: 1, 6: 1}
    train, test, _ = split
    assert len(train) + len(test) + sum(split.dropped.values()) == len(STRUCTURES)


def test_size_in_both_lists_is_an_error():
    with pytest.raises(ValueError, match=r"sizes \[4\] are in both"):
        split_by_size(STRUCTURES, train_sizes=(3, 4), test_sizes=(4,))


def test_paper_default_sizes():
    params = SplitParams()
    assert params.train_sizes == (*range(27, 41), 46, 47, 48, 49, 50)
    assert params.test_sizes == (41, 42, 43, 44, 45, 51, 52, 53, 54, 55)


def test_count_table_and_figure(tmp_path):
    split = split_by_size(STRUCTURES, train_sizes=(3, 5), test_sizes=(4,))
    table = split_count_table(split.train, split.test)
    assert table.values.tolist() == [[3, 2, 0], [4, 0, 1], [5, 3, 0]]
    axes = counts_figure(table).axes[0]
    assert axes.get_xlabel() and axes.get_ylabel() == "structures"
    heights = sorted((bar.get_x() + bar.get_width() / 2, bar.get_height()) for bar in axes.patches)
    assert heights == [(3, 2), (4, 1), (5, 3)]
    # The filter's count table with a split column draws the same bars (plus unused sizes).
    filter_counts = pd.DataFrame(
        {
            "n_atoms": [2, 3, 4, 5],
            "kept": [1, 2, 1, 3],
            "split": ["unused", "train", "test", "train"],
        }
    )
    bars = counts_figure(filter_counts).axes[0].patches
    assert sorted((bar.get_x() + bar.get_width() / 2, bar.get_height()) for bar in bars) == [
        (2, 1),
        *heights,
    ]
    with pytest.raises(ValueError, match="count table needs columns"):
        counts_figure(pd.DataFrame({"n_atoms": [3], "read": [2]}))
    path = write_counts_figure(table, tmp_path / "figs" / "counts.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["counts.png"]


def test_labelled_extxyz_round_trips_labels_and_provenance(tmp_path):
    split = split_by_size(STRUCTURES, train_sizes=(3, 5), test_sizes=(4,))
    (tmp_path / "train.extxyz").write_text("stale content\n")
    train = write_labelled_extxyz(split.train, tmp_path / "train.extxyz")
    test = write_labelled_extxyz(split.test, tmp_path / "test.extxyz")
    back = read(train, ":")
    assert len(back) == 5 and len(read(test, ":")) == 1
    for original, copy in zip(split.train, back, strict=True):
        assert copy.info[REF_ENERGY_KEY] == original.info[REF_ENERGY_KEY]
        np.testing.assert_allclose(
            copy.arrays[REF_FORCES_KEY], original.arrays[REF_FORCES_KEY], atol=1e-8
        )
        for key in (REF_METHOD_KEY, "source_file", "source_index"):
            assert copy.info[key] == original.info[key]
        assert copy.calc is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.extxyz", "train.extxyz"]


def test_unlabelled_or_calculator_carrying_structures(tmp_path):
    unlabelled = Atoms("Mg2", positions=[[0, 0, 0], [3, 0, 0]])
    with pytest.raises(DataError, match="train.extxyz: structure 1"):
        write_labelled_extxyz([STRUCTURES[0], unlabelled], tmp_path / "train.extxyz")
    assert not (tmp_path / "train.extxyz").exists()
    with_calc = STRUCTURES[0].copy()
    with_calc.calc = SinglePointCalculator(with_calc, energy=99.0)
    write_labelled_extxyz([with_calc], tmp_path / "train.extxyz")
    (back,) = read(tmp_path / "train.extxyz", ":")
    assert back.calc is None and back.info[REF_ENERGY_KEY] == STRUCTURES[0].info[REF_ENERGY_KEY]
