import numpy as np
import pandas as pd
import pytest
import yaml
from ase.io import write
from scipy.spatial.transform import Rotation

from paper_artifact.check import aligned_rmsd, check_run
from paper_artifact.config import load_config
from paper_artifact.structures import random_cluster


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("seed: 1\n")
    return load_config(path)


def make_run(root, energy_shift=0.0, rmse=0.10):
    (root / "fit").mkdir(parents=True)
    pd.DataFrame(
        {
            "stage": [1, 1],
            "grid_index": [0, 1],
            "selection_rmse": [rmse, 0.3],
            "fit_seconds": [1.0, 2.0],
        }
    ).to_csv(root / "fit" / "grid.csv", index=False)
    atoms = random_cluster(10, np.random.default_rng(0))
    atoms.info["energy"] = -5.0 + energy_shift
    (root / "go").mkdir()
    write(root / "go" / "gm.extxyz", [atoms], format="extxyz")


def write_expected(expected):
    expected.mkdir(parents=True, exist_ok=True)
    specs = {
        "files": [
            {
                "file": "fit/grid.csv",
                "kind": "csv",
                "reason": "test",
                "key": ["stage", "grid_index"],
                "abs": 0.01,
                "ignore": ["fit_seconds"],
            },
            {
                "file": "go/gm.extxyz",
                "kind": "extxyz",
                "reason": "test",
                "energy_ev": 0.001,
                "rmsd_angstrom": 0.01,
            },
        ]
    }
    (expected / "tolerances.yaml").write_text(yaml.safe_dump(specs))


def test_identical_run_passes(cfg, tmp_path):
    make_run(tmp_path / "expected")
    write_expected(tmp_path / "expected")
    make_run(tmp_path / "run")
    report = check_run(cfg, tmp_path / "run", tmp_path / "expected")
    assert report.passed, report.render()
    assert report.files_checked == 2


def test_changed_expected_value_fails_with_named_regression(cfg, tmp_path):
    make_run(tmp_path / "expected", rmse=0.20)  # deliberately changed expected number
    write_expected(tmp_path / "expected")
    make_run(tmp_path / "run", rmse=0.10)
    report = check_run(cfg, tmp_path / "run", tmp_path / "expected")
    assert not report.passed
    text = report.render()
    assert "REGRESSION fit/grid.csv [stage=1, grid_index=0: selection_rmse]" in text
    assert "expected 0.2, got 0.1" in text and "abs 0.01" in text


def test_energy_regression_in_structures(cfg, tmp_path):
    make_run(tmp_path / "expected")
    write_expected(tmp_path / "expected")
    make_run(tmp_path / "run", energy_shift=0.01)
    report = check_run(cfg, tmp_path / "run", tmp_path / "expected")
    assert [f.item for f in report.failures] == ["frame 0 (Mg10): energy_ev"]


def test_missing_file_and_no_expected(cfg, tmp_path):
    make_run(tmp_path / "expected")
    write_expected(tmp_path / "expected")
    (tmp_path / "run").mkdir()
    report = check_run(cfg, tmp_path / "run", tmp_path / "expected")
    assert not report.passed and "missing" in report.render()
    empty = check_run(cfg, tmp_path / "run", tmp_path / "nothing")
    assert not empty.passed and "nothing was checked" in empty.render()


def test_aligned_rmsd_ignores_rotation_translation_and_labels():
    a = random_cluster(25, np.random.default_rng(3)).positions
    rot = Rotation.random(random_state=4).as_matrix()
    b = (a @ rot.T)[np.random.default_rng(5).permutation(25)] + 2.0
    assert aligned_rmsd(a, b) < 1e-8
    other = random_cluster(25, np.random.default_rng(9)).positions
    assert aligned_rmsd(a, other) > 0.3
