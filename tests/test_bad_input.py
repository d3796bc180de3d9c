"""Malformed input at every entry point (`energy`, `hop`, `run --dataset`, read_structures): a
clear one-line error naming file, frame and reason, the right exit code, never a made-up number
and no partial output for a fatal error (issue 17)."""

import os
import re
import shutil
from pathlib import Path

import labelled
import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.io import read, write

from paper_artifact.cli import main
from paper_artifact.data import DataError
from paper_artifact.data.ingest import read_structures
from paper_artifact.validation import (
    PAIRWISE_MAX_ATOMS,
    StructureError,
    gap_species,
    rules_for,
    validate_structure,
)

HEADER = "Properties=species:S:1:pos:R:3"


def xyz_frame(lines: list[str], count: int | str | None = None) -> str:
    """One extxyz frame from atom lines; `count` overrides the atom-count line."""
    return "\n".join([str(len(lines) if count is None else count), HEADER, *lines]) + "\n"


MG2 = xyz_frame(["Mg 0 0 0", "Mg 0 0 3.1"])
ONE_FRAME = {
    "cu": xyz_frame(["Cu 0 0 0", "Cu 0 0 2.6"]),
    "nan": xyz_frame(["Mg 0 0 0", "Mg nan 0 3.1"]),
    "inf": xyz_frame(["Mg 0 0 0", "Mg 0 -inf 3.1"]),
    "same_position": xyz_frame(["Mg 1 1 1", "Mg 1 1 1", "Mg 0 0 3.1"]),
    "zero_atoms": xyz_frame([]),
}
REASONS = {
    "cu": "unsupported_element: contains Cu",
    "nan": "non_finite_position: atom 1",
    "inf": "non_finite_position: atom 1",
    "same_position": "overlapping_atoms: atoms 0 and 1 are 0.000",
    "zero_atoms": "too_few_atoms: 0 atom(s)",
}
UNPARSEABLE = {  # nothing can be read: exit 2, nothing written
    "binary": (bytes(range(256)) * 4, "binary data, not a structure file"),
    "xx": (xyz_frame(["Xx 0 0 0", "Mg 0 0 3.1"]).encode(), "unknown element symbol 'Xx'"),
    "empty": (b"", "empty_file"),
    "count_too_high": (xyz_frame(["Mg 0 0 0", "Mg 0 0 3.1"], 5).encode(), "expected 5"),
    "count_not_a_number": (xyz_frame(["Mg 0 0 0"], "two").encode(), "Expected xyz header"),
    "bad_coordinate": (xyz_frame(["Mg 0 0 0", "Mg 0 zero 3"]).encode(), "'zero'"),
}


def energy(path: Path, calculator: str, out: Path, *extra: str) -> int:
    return main(["energy", str(path), "--calculator", calculator, "--out", str(out), *extra])


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def gap_model(tmp_path_factory) -> Path:
    from paper_artifact.calculators.gap import GapFitSettings, SoapParams, run_gap_fit

    soap = SoapParams(cutoff=4.0, n_max=3, l_max=3, n_sparse=15, cutoff_transition_width=0.5)
    settings = GapFitSettings(e0=0.0, default_sigma_energy=0.001, default_sigma_force=0.01)
    train = labelled.lj_clusters(6, [4, 5], 1, 17)
    return run_gap_fit(train, tmp_path_factory.mktemp("gap"), soap, None, settings).xml_path


def no_calculator(*args, **kwargs):
    raise AssertionError("a calculator was built for input that should have been refused")


# --- energy: bad frames are listed, good ones computed, exit 3 ---


@pytest.mark.parametrize("case", sorted(ONE_FRAME))
@pytest.mark.parametrize("calculator", ["gupta", "lj", "gap"])
def test_energy_lists_a_bad_frame_and_computes_the_good_ones(
    case, calculator, gap_model, tmp_path, capsys
):
    if calculator == "lj" and case == "cu":
        pytest.skip("lj takes any one element (reduced units)")
    spec = f"gap:{gap_model}" if calculator == "gap" else calculator
    path = tmp_path / "in.extxyz"
    path.write_text(MG2 + ONE_FRAME[case] + MG2)
    out = tmp_path / "e.csv"
    assert energy(path, spec, out) == 3
    err = capsys.readouterr().err
    assert f"in.extxyz [frame 1]: {REASONS[case]}" in err
    table = pd.read_csv(out)
    assert table["index"].tolist() == [0, 1, 2]
    assert table.error.iloc[1].startswith(REASONS[case])
    assert np.isnan(table.energy_ev.iloc[1]) and np.isnan(table.e_bond_kcal_mol_atom.iloc[1])
    assert np.isfinite(table.energy_ev.iloc[[0, 2]]).all() and table.error.iloc[[0, 2]].isna().all()


def test_lj_takes_one_element_of_any_kind_but_not_two(tmp_path, capsys):
    path = tmp_path / "in.extxyz"
    path.write_text(ONE_FRAME["cu"] + xyz_frame(["Ar 0 0 0", "Kr 0 0 1.1"]))
    assert energy(path, "lj", tmp_path / "e.csv") == 3
    assert "[frame 1]: mixed_elements: contains Ar, Kr" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "e.csv")
    assert np.isfinite(table.energy_ev.iloc[0]) and np.isnan(table.energy_ev.iloc[1])


@pytest.mark.parametrize("calculator", ["gupta", "lj"])
def test_energy_refuses_a_structure_too_large_before_allocating(
    calculator, tmp_path, capsys, monkeypatch
):
    import paper_artifact.commands

    # without the guard the calculator would take 11.6 GB; here it may not even be built
    monkeypatch.setattr(paper_artifact.commands, "make_calculator", no_calculator)
    n = 10_000
    big = Atoms(f"Mg{n}", positions=np.random.default_rng(0).uniform(0, 400, (n, 3)))
    write(tmp_path / "big.extxyz", [big])
    assert energy(tmp_path / "big.extxyz", calculator, tmp_path / "e.csv") == 3
    assert (
        f"big.extxyz [frame 0]: too_many_atoms: {n} atoms; {calculator} takes at most "
        f"{PAIRWISE_MAX_ATOMS}" in capsys.readouterr().err
    )


def test_truncated_file_keeps_the_frames_before_the_break(tmp_path, capsys):
    path = tmp_path / "in.extxyz"
    path.write_text(MG2 + MG2 + MG2.rsplit("Mg", 1)[0])  # the last frame lost an atom line
    assert energy(path, "gupta", tmp_path / "e.csv") == 3
    assert "in.extxyz [frame 2]: unreadable_frame: Frame has 1 atoms, expected 2" in (
        capsys.readouterr().err
    )
    table = pd.read_csv(tmp_path / "e.csv")
    assert table["index"].tolist() == [0, 1, 2] and table.energy_ev.notna().tolist() == [
        True,
        True,
        False,
    ]


def test_relax_writes_only_the_good_structures(tmp_path):
    path = tmp_path / "in.extxyz"
    path.write_text(MG2 + ONE_FRAME["nan"])
    assert energy(path, "gupta", tmp_path / "e.csv", "--relax") == 3
    assert len(read(tmp_path / "e.relaxed.extxyz", ":")) == 1


# --- energy: fatal input, exit 2 and nothing written ---


@pytest.mark.parametrize("case", sorted(UNPARSEABLE))
def test_energy_on_an_unreadable_file_is_one_error_and_writes_nothing(case, tmp_path, capsys):
    content, message = UNPARSEABLE[case]
    path = tmp_path / "in.extxyz"
    path.write_bytes(content)
    out = tmp_path / "results" / "e.csv"
    assert energy(path, "gupta", out) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {path}: ") and message in line
    assert not (tmp_path / "results").exists()


def test_energy_on_a_missing_file(tmp_path, capsys):
    assert energy(tmp_path / "none.extxyz", "gupta", tmp_path / "e.csv") == 2
    assert one_error_line(capsys.readouterr().err).endswith(
        "none.extxyz: unreadable_file: no such file"
    )
    assert not (tmp_path / "e.csv").exists()


def read_only_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "read_only"
    folder.mkdir(mode=0o555)
    return folder


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda tmp: tmp / "in.extxyz" / "e.csv", "is a file, not a folder"),
        (lambda tmp: tmp, "is a folder; give a file name"),
        (lambda tmp: read_only_folder(tmp) / "e.csv", "is not writable"),
    ],
    ids=["under_a_file", "a_folder", "read_only_folder"],
)
def test_energy_checks_the_output_before_any_calculation(
    where, message, tmp_path, capsys, monkeypatch
):
    import paper_artifact.commands

    monkeypatch.setattr(paper_artifact.commands, "make_calculator", no_calculator)
    path = tmp_path / "in.extxyz"
    path.write_text(MG2)
    out = where(tmp_path)
    assert energy(path, "dft", out) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(out) in line and message in line


def test_energy_creates_a_missing_output_folder(tmp_path):
    path = tmp_path / "in.extxyz"
    path.write_text(MG2)
    out = tmp_path / "new" / "deeper" / "e.csv"
    assert energy(path, "gupta", out) == 0
    assert len(pd.read_csv(out)) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--calculator", "gupta", "--steps", "0"],
        ["--calculator", "gupta", "--fmax", "-1"],
        ["--calculator", "gupta", "--fmax", "nan"],
        ["--calculator", "dft", "--threads", "0"],
        ["--calculator", "mopac"],
        ["--calculator", "gap:"],
        ["--calculator", "lj:3"],
    ],
)
def test_energy_rejects_impossible_arguments(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["energy", str(tmp_path / "in.extxyz"), *argv])
    assert exit_info.value.code == 2
    assert f"argument {argv[-2]}:" in capsys.readouterr().err


# --- hop ---


def hop(out: Path, *argv: str) -> int:
    return main(["hop", "--out", str(out), *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--atoms", "5", "--steps", "-5"], "argument --steps: must be >= 1, got -5"),
        (["--atoms", "5", "--steps", "0"], "argument --steps: must be >= 1, got 0"),
        (["--atoms", "1"], "argument --atoms: must be >= 2, got 1"),
        (["--atoms", "0"], "argument --atoms: must be >= 2, got 0"),
        (["--atoms", "5", "--temperature", "0"], "argument --temperature: must be > 0"),
        (["--atoms", "5", "--temperature", "-300"], "argument --temperature: must be > 0"),
        (["--atoms", "5", "--temperature", "inf"], "argument --temperature: must be a finite"),
        (["--atoms", "5", "--mdmin", "0"], "argument --mdmin: must be >= 1, got 0"),
        (["--atoms", "5", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
        (["--atoms", "5", "--target-energy", "nan"], "argument --target-energy: must be a finite"),
        (["--atoms", "five"], "argument --atoms: invalid integer value: 'five'"),
    ],
)
def test_hop_rejects_impossible_arguments(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        hop(tmp_path / "out", "--calculator", "lj", *argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (ONE_FRAME["cu"], "[frame 0]: unsupported_element: contains Cu; gupta takes only Mg"),
        (ONE_FRAME["nan"], "[frame 0]: non_finite_position"),
        (ONE_FRAME["same_position"], "[frame 0]: overlapping_atoms"),
        (ONE_FRAME["zero_atoms"], "[frame 0]: too_few_atoms: 0 atom(s); gupta needs at least 2"),
        (xyz_frame(["Mg 0 0 0"]), "[frame 0]: too_few_atoms: 1 atom(s); gupta needs at least 2"),
        (MG2 + ONE_FRAME["nan"], "[frame 1]: non_finite_position"),  # the last frame is used
        (UNPARSEABLE["binary"][0], ": unreadable_file: binary data"),
        (UNPARSEABLE["xx"][0], ": unreadable_file: unknown element symbol 'Xx'"),
        (b"", ": empty_file"),
    ],
)
def test_hop_validates_the_start_file(content, message, tmp_path, capsys):
    start = tmp_path / "start.extxyz"
    start.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert hop(tmp_path / "out", "--calculator", "gupta", "--start", str(start)) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {start}") and message in line
    assert not (tmp_path / "out").exists()


def test_hop_start_messages_are_exact(tmp_path, capsys):
    start = tmp_path / "start.extxyz"
    start.write_text(ONE_FRAME["zero_atoms"])
    assert hop(tmp_path / "out", "--calculator", "gupta", "--start", str(start)) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"error: {start} [frame 0]: too_few_atoms: 0 atom(s); gupta needs at least 2"
    )


def test_hop_refuses_a_cluster_too_large_before_building_it(tmp_path, capsys):
    assert hop(tmp_path / "out", "--calculator", "gupta", "--atoms", "10000") == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"error: --atoms: too_many_atoms: 10000 atoms; gupta takes at most {PAIRWISE_MAX_ATOMS} "
        "(memory and time grow as N^2)"
    )
    assert not (tmp_path / "out").exists()


def test_hop_output_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert hop(tmp_path / "taken", "--calculator", "lj", "--atoms", "4") == 2
    assert "is a file, not a folder" in one_error_line(capsys.readouterr().err)


FIRST_HOP = {"--calculator": "lj", "--atoms": "5", "--seed": "0", "--steps": "1"}


@pytest.fixture(scope="module")
def first_hop(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hop") / "out"
    assert hop(out, *[item for pair in FIRST_HOP.items() for item in pair]) == 0
    return out


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        (["--seed", "1"], "another seed (0 there, 1 now)"),
        (["--calculator", "gupta"], "another calculator ('lj' there, 'gupta' now)"),
        (["--mdmin", "3"], "another params.mdmin (2 there, 3 now)"),
        (["--atoms", "6"], "another symbols"),
    ],
)
def test_hop_into_the_folder_of_another_run_is_refused(
    change, difference, first_hop, tmp_path, capsys
):
    out = tmp_path / "out"
    shutil.copytree(first_hop, out)
    first = (out / "minima.extxyz").read_bytes()
    run = dict(FIRST_HOP)
    run.update(dict(zip(change[::2], change[1::2], strict=True)))
    assert hop(out, *[item for pair in run.items() for item in pair]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "checkpoint belongs to another run" in line and difference in line
    assert (out / "minima.extxyz").read_bytes() == first


def test_gap_calculator_id_is_the_model_hash(gap_model, tmp_path):
    from paper_artifact.calculators.factory import calculator_id
    from paper_artifact.calculators.gap import copy_model

    copy = copy_model(gap_model, tmp_path / "copy")
    assert calculator_id(f"gap:{copy}") == calculator_id(f"gap:{gap_model}")
    with open(copy, "a") as handle:
        handle.write("\n")  # a refit at the same path is another calculator
    assert calculator_id(f"gap:{copy}") != calculator_id(f"gap:{gap_model}")


# --- the validator and the GAP species ---


def test_gap_species_are_read_from_the_model(gap_model, tmp_path):
    assert gap_species(gap_model) == {"Mg"}
    assert rules_for(f"gap:{gap_model}").species == {"Mg"}
    fake = tmp_path / "two.xml"
    fake.write_text(
        "<GAP><descriptor>soap cutoff=5 Z=12 species_Z={12 13}</descriptor>"
        "<descriptor>distance_2b Z1=12 Z2=29</descriptor></GAP>"
    )
    assert gap_species(fake) == {"Mg", "Al", "Cu"}
    fake.write_text("<GAP><descriptor>soap cutoff=5</descriptor></GAP>")
    with pytest.raises(ValueError, match="no species"):
        gap_species(fake)


def test_validator_message_names_file_frame_and_reason():
    atoms = Atoms("Mg3", positions=[[0, 0, 0], [3, 0, 0], [3, 0.2, 0]])
    with pytest.raises(StructureError) as info:
        validate_structure(atoms, rules_for("gupta"), "set.extxyz", 7)
    assert str(info.value) == (
        "set.extxyz [frame 7]: overlapping_atoms: atoms 1 and 2 are 0.200 A apart (minimum 0.5 A)"
    )
    assert info.value.reason == "overlapping_atoms"
    validate_structure(atoms[:2], rules_for("gupta"))  # a good structure passes


# --- ingest: the same validator, strict and non-strict ---


@pytest.mark.parametrize("case", ["cu", "nan", "same_position", "zero_atoms"])
def test_ingest_uses_the_same_validator(case, tmp_path):
    path = tmp_path / "in.extxyz"
    path.write_text(ONE_FRAME[case])
    result = read_structures(path)
    assert result.atoms == []
    reason = REASONS[case].split(":")[0]
    assert result.drops[["index", "reason"]].values.tolist() == [[0, reason]]
    with pytest.raises(DataError, match=rf"in\.extxyz \[frame 0\]: {reason}"):
        read_structures(path, strict=True)


@pytest.mark.parametrize("case", sorted(UNPARSEABLE))
def test_ingest_reports_an_unreadable_file(case, tmp_path):
    content, message = UNPARSEABLE[case]
    path = tmp_path / "in.extxyz"
    path.write_bytes(content)
    result = read_structures(path)
    assert result.atoms == [] and len(result.drops) == 1
    assert message in f"{result.drops.reason[0]}: {result.drops.detail[0]}"
    with pytest.raises(DataError, match=re.escape(f"{path}: {result.drops.reason[0]}")):
        read_structures(path, strict=True)


def test_run_with_only_bad_dataset_frames_says_so_and_saves_the_reasons(tmp_path, capsys):
    path = tmp_path / "bad.extxyz"
    path.write_text(ONE_FRAME["cu"] + ONE_FRAME["nan"] + ONE_FRAME["same_position"] + MG2)
    out = tmp_path / "run"
    argv = ["run", "--profile", "smoke", "--stage", "data", "--dataset", str(path)]
    assert main([*argv, "--set", "data.generate_sizes=[]", "--out", str(out)]) == 1
    line = one_error_line(capsys.readouterr().err)
    drops_csv = out / ".staging" / "data" / "dropped_structures.csv"
    assert line == (
        "error: all 4 structures of the --dataset file(s) were dropped (missing_energy 1, "
        "non_finite_position 1, overlapping_atoms 1, unsupported_element 1); the reason for each "
        f"is in {drops_csv}"
    )
    drops = pd.read_csv(drops_csv)
    assert drops[["index", "reason"]].values.tolist() == [
        [0, "unsupported_element"],
        [1, "non_finite_position"],
        [2, "overlapping_atoms"],
        [3, "missing_energy"],
    ]
    assert not (out / "data").exists()


def _stage_structures():
    good = Atoms("Mg2", positions=[[0, 0, 0], [0, 0, 3.1]])
    copper = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]])
    overlapping = Atoms("Mg2", positions=[[0, 0, 0], [0, 0, 0.1]])
    return [good, copper, overlapping]


class CountingFactory:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        from paper_artifact.calculators.gupta import Gupta

        self.calls += 1
        return Gupta()


def test_stage_labelling_refuses_what_the_reference_cannot_take():
    from paper_artifact.data.label import label_structures

    factory = CountingFactory()
    result = label_structures(_stage_structures(), factory, rules=rules_for("gupta", 2))
    assert len(result.labelled) == 1 and factory.calls == 1
    reasons = dict(zip(result.failures["index"], result.failures["error"], strict=True))
    assert "unsupported_element: contains Cu; gupta takes only Mg" in reasons[1]
    assert "overlapping_atoms" in reasons[2] and "frame 2" in reasons[2]


def test_stage_relaxations_refuse_what_the_reference_cannot_take():
    from paper_artifact.calculators.relax import relax_many
    from paper_artifact.executor import TaskError, open_executor

    factory = CountingFactory()
    labels = ["good", "copper", "overlapping"]
    with open_executor() as executor:
        results = relax_many(
            _stage_structures(), labels, factory, 0.05, 50, executor.map, rules_for("gupta", 2)
        )
    assert not isinstance(results[0], TaskError) and factory.calls == 1
    assert isinstance(results[1], TaskError) and "copper" in results[1].message
    assert isinstance(results[2], TaskError) and "overlapping_atoms" in results[2].message
