import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from ase.io import read, write

from paper_artifact.cli import main
from paper_artifact.structures import random_cluster


def test_help_explains_profiles(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for word in ("smoke", "default", "dft-mini", "paper", "results/<profile>/"):
        assert word in out


def test_stages_lists_pipeline(capsys):
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.strip().splitlines()]
    assert names == ["data", "fit", "active_learning", "go", "refine", "dft_check", "figures"]


def test_plan_validates_every_profile(capsys):
    for profile in ("smoke", "default", "dft-mini", "paper"):
        assert main(["plan", "--profile", profile]) == 0
    assert "needs its known GM" in capsys.readouterr().out  # the paper profile's Mg56 GM


def test_output_piped_into_a_closed_reader_is_not_an_error(tmp_path, monkeypatch, capsys):
    class ClosedPipe:
        def __init__(self, fd):
            self.fd = fd

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            return self.fd

    with open(tmp_path / "stdout", "w") as sink:
        monkeypatch.setattr(sys, "stdout", ClosedPipe(sink.fileno()))
        assert main(["stages"]) == 0
    assert "error" not in capsys.readouterr().err


def test_bad_config_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\ngo:\n  n_strats: 3\n")
    assert main(["plan", "--config", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "bad.yaml: unknown key 'go.n_strats'" in err


def test_set_override_is_typed(capsys):
    assert main(["plan", "--profile", "smoke", "--set", "go.n_starts=x"]) == 1
    assert "'go.n_starts' must be an integer" in capsys.readouterr().err


def test_energy_command_gupta_dimer_by_hand(tmp_path):
    # Gupta dimer at r0: E = 2 * (A - xi), parameters from data/reference/gupta_mg_parameters.json
    from ase import Atoms

    from paper_artifact.units import KCAL_MOL_EV

    structures = [
        Atoms("Mg2", positions=[[0, 0, 0], [0, 0, 2.691017]]),
        random_cluster(6, np.random.default_rng(1)),
    ]
    write(tmp_path / "in.extxyz", structures)
    out = tmp_path / "e.csv"
    assert (
        main(["energy", str(tmp_path / "in.extxyz"), "--calculator", "gupta", "--out", str(out)])
        == 0
    )
    table = pd.read_csv(out)
    assert list(table["index"]) == [0, 1] and list(table["n_atoms"]) == [2, 6]
    expected = 2 * (1.249626 - 5.017854) * KCAL_MOL_EV
    assert table.energy_ev[0] == pytest.approx(expected, rel=1e-9)
    assert table.e_bond_kcal_mol_atom[0] == pytest.approx(1.249626 - 5.017854, rel=1e-9)


def test_energy_command_relax_and_failure(tmp_path):
    write(tmp_path / "in.extxyz", [random_cluster(5, np.random.default_rng(2))])
    out = tmp_path / "e.csv"
    assert (
        main(
            [
                "energy",
                str(tmp_path / "in.extxyz"),
                "--calculator",
                "gupta",
                "--relax",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    relaxed = read(tmp_path / "e.relaxed.extxyz", ":")
    assert len(relaxed) == 1
    assert np.abs(relaxed[0].get_forces()).max() < 0.0232
    with pytest.raises(SystemExit) as exit_info:  # argparse: the model file does not exist
        main(["energy", str(tmp_path / "in.extxyz"), "--calculator", "gap:nowhere.xml"])
    assert exit_info.value.code == 2


def test_hop_lj13_reaches_cambridge_gm(tmp_path):
    out = tmp_path / "hop"
    code = main(
        [
            "hop",
            "--calculator",
            "lj",
            "--atoms",
            "13",
            "--seed",
            "0",
            "--steps",
            "150",
            "--target-energy",
            "-44.326801",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    best = read(out / "best.extxyz")
    assert best.get_potential_energy() == pytest.approx(-44.326801, abs=1e-3)
    assert len(read(out / "minima.extxyz", ":")) >= 1


def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "paper_artifact", "stages"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "figures" in proc.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("go.n_starts=-2", "'n_starts' must be > 0, got -2"),
        ("go.n_lowest=-5", "'n_lowest' must be > 0, got -5"),
        ("go.max_wall_seconds=0", "'max_wall_seconds' must be > 0"),
        ("active_learning.max_rounds=0", "'max_rounds' must be > 0"),
        ("refine.fmax=0", "'fmax' must be > 0"),
        ("refine.screen_lowest=-1", "'screen_lowest' must be >= 0, got -1"),
        ("refine.screen_lowest=2", "'screen_lowest' (2) must be 0 or at least 'n_lowest' (5)"),
        ("refine.n_lowest=6", "refine.n_lowest (6) exceeds go.n_lowest (5)"),
        ("active_learning.test_lowest=-1", "'test_lowest' must be >= 0, got -1"),
        ("data.train_sizes=[1, 8]", "'train_sizes' has cluster sizes below 2: [1]"),
        ("go.sizes=[]", "'go.sizes' is empty"),
        ("data.train_sizes=[]", "'data.train_sizes' is empty"),
    ],
)
def test_plan_and_run_reject_impossible_values(override, message, tmp_path, capsys):
    for command in ("plan", "run"):
        out = tmp_path / command
        assert main([command, "--profile", "smoke", "--set", override, "--out", str(out)]) == 1
        assert message in capsys.readouterr().err
        assert not out.exists()  # rejected before anything is written


def test_profile_may_be_a_file_outside_configs(tmp_path, capsys):
    own = tmp_path / "mine.yaml"
    own.write_text("extends: smoke\nseed: 3\n")
    assert main(["plan", "--profile", str(own), "--out", str(tmp_path / "run")]) == 0
    assert f"profile mine ({own})" in capsys.readouterr().out
    assert main(["plan", "--profile", str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml: config file not found" in capsys.readouterr().err


@pytest.mark.parametrize("e0", [0.0, -10.0])
def test_energy_command_gap_binding_energy_uses_the_models_own_e0(tmp_path, e0):
    """A GAP fitted to Gupta energies (atom energy 0, shifted by n * e0 here) prints its E_bond
    against its own e0, not against the DFT E(Mg1) (which gave 125,538 kcal/mol/atom for Mg3)."""
    from labelled import lj_clusters

    from paper_artifact.calculators.gap import GapFitSettings, SoapParams, model_e0, run_gap_fit
    from paper_artifact.calculators.gupta import Gupta
    from paper_artifact.units import EV_TO_KCAL_MOL

    train = lj_clusters(8, [3, 4, 5], 1, 41, calc=Gupta())
    for atoms in train:
        atoms.info["ref_energy"] += len(atoms) * e0
    soap = SoapParams(cutoff=5.0, n_max=3, l_max=3, n_sparse=20, cutoff_transition_width=0.5)
    settings = GapFitSettings(e0=e0, default_sigma_energy=0.001, default_sigma_force=0.01)
    model = run_gap_fit(train, tmp_path / "gap", soap, None, settings).xml_path
    assert model_e0(model)[12] == e0
    write(tmp_path / "in.extxyz", train[0])
    out = tmp_path / "e.csv"
    assert (
        main(
            [
                "energy",
                str(tmp_path / "in.extxyz"),
                "--calculator",
                f"gap:{model}",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    row = pd.read_csv(out).iloc[0]
    n = row.n_atoms
    assert row.e_bond_kcal_mol_atom == pytest.approx((row.energy_ev - n * e0) / n * EV_TO_KCAL_MOL)
    gupta = train[0].info["ref_energy"] - n * e0  # Gupta's own binding energy (atom energy 0)
    assert row.e_bond_kcal_mol_atom == pytest.approx(gupta / n * EV_TO_KCAL_MOL, abs=1.0)
