import numpy as np
import pandas as pd
import pytest
import yaml
from ase.io import read, write
from scipy.spatial.transform import Rotation

from paper_artifact.check import check_run, update_expected
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
                "fingerprint_distance": 0.001,
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


def test_same_structure_in_another_orientation_and_order_is_the_same_minimum(cfg, tmp_path):
    # A near-spherical cluster rotated, relabelled and shifted: the aligned-RMSD search it
    # replaced found 1.25 A for two orientations of one Mg26 minimum.
    expected, run = tmp_path / "expected", tmp_path / "run"
    write_gm_expected(expected)
    write_gm_run(run, {})
    frames = read(run / "go" / "gm.extxyz", ":")
    for atoms in frames:
        atoms.positions = atoms.positions @ Rotation.random(random_state=4).as_matrix().T + 2.0
        order = np.random.default_rng(5).permutation(len(atoms))
        atoms.positions = atoms.positions[order]
    write(run / "go" / "gm.extxyz", frames, format="extxyz")
    report = check_run(cfg, run, expected)
    assert report.passed, report.render()
    distances = [float(f.got) for f in report.findings if "fingerprint" in f.item]
    assert len(distances) == 2 and max(distances) < 1e-8


def write_gm_run(root, shifts: dict[int, float], found: bool = True, swap_size: int | None = None):
    """A run with one GM per size (Mg8, Mg11) and a GO table."""
    (root / "go").mkdir(parents=True, exist_ok=True)
    frames = []
    for n in (8, 11):
        seed = 100 + n if n == swap_size else n
        atoms = random_cluster(n, np.random.default_rng(seed))
        atoms.info["energy"] = -0.5 * n + shifts.get(n, 0.0)
        frames.append(atoms)
    write(root / "go" / "gm.extxyz", frames, format="extxyz")
    pd.DataFrame(
        {"n_atoms": [8, 11], "found": [True, found], "known_gm_ev": [-4.0, -5.5],
         "wall_seconds": [1.0, 2.0]}
    ).to_csv(root / "go" / "table.csv", index=False)  # fmt: skip


def write_gm_expected(expected):
    write_gm_run(expected, {})
    specs = {
        "files": [
            {"file": "go/gm.extxyz", "kind": "global_minima", "reason": "test",
             "energy_ev": 0.001, "fingerprint_distance": 0.001},
            {"file": "go/table.csv", "kind": "csv", "reason": "test", "key": ["n_atoms"],
             "abs": 0.001, "ignore": ["wall_seconds"], "better": {"found": "higher"}},
        ]
    }  # fmt: skip
    (expected / "tolerances.yaml").write_text(yaml.safe_dump(specs))


def test_lower_global_minimum_is_a_named_improvement_and_the_check_passes(cfg, tmp_path):
    write_gm_expected(tmp_path / "expected")
    write_gm_run(tmp_path / "run", {11: -0.2}, swap_size=11)
    report = check_run(cfg, tmp_path / "run", tmp_path / "expected")
    assert report.passed, report.render()
    assert [f.item for f in report.improvements] == ["Mg11 GM: energy_ev (a lower minimum)"]
    assert "IMPROVEMENT go/gm.extxyz [Mg11 GM: energy_ev (a lower minimum)]" in report.render()


def test_higher_or_different_global_minimum_is_a_regression(cfg, tmp_path):
    write_gm_expected(tmp_path / "expected")
    write_gm_run(tmp_path / "run", {8: 0.01})
    assert [f.item for f in check_run(cfg, tmp_path / "run", tmp_path / "expected").failures] == [
        "Mg8 GM: energy_ev"
    ]
    write_gm_run(tmp_path / "run2", {}, swap_size=8)  # same energy, another structure
    failures = check_run(cfg, tmp_path / "run2", tmp_path / "expected").failures
    assert [f.item for f in failures] == ["Mg8 GM: fingerprint distance"]


def test_a_known_gm_no_longer_found_fails_and_newly_found_improves(cfg, tmp_path):
    write_gm_expected(tmp_path / "expected")
    write_gm_run(tmp_path / "run", {}, found=False)
    report = check_run(cfg, tmp_path / "run", tmp_path / "expected")
    assert [f.item for f in report.failures] == ["n_atoms=11: found"]
    write_gm_run(tmp_path / "expected2", {}, found=False)
    (tmp_path / "expected2" / "tolerances.yaml").write_text(
        (tmp_path / "expected" / "tolerances.yaml").read_text()
    )
    write_gm_run(tmp_path / "run2", {})
    report = check_run(cfg, tmp_path / "run2", tmp_path / "expected2")
    assert report.passed and [f.item for f in report.improvements] == ["n_atoms=11: found"]


def test_rows_query_limits_the_csv_comparison(cfg, tmp_path):
    """A figure CSV whose isomer rows follow MD trajectories: only the GM rows are promised."""
    table = pd.DataFrame({"kind": ["gm", "isomer"], "n_atoms": [8, 8], "e": [-1.0, -0.5]})
    for folder, isomer_e in (("expected", -0.5), ("run", -0.7)):
        (tmp_path / folder / "figures").mkdir(parents=True)
        table.assign(e=[-1.0, isomer_e]).to_csv(
            tmp_path / folder / "figures" / "f.csv", index=False
        )
    spec = {"file": "figures/f.csv", "kind": "csv", "reason": "t", "key": ["n_atoms"], "abs": 0.01}
    (tmp_path / "expected" / "tolerances.yaml").write_text(yaml.safe_dump({"files": [spec]}))
    assert not check_run(cfg, tmp_path / "run", tmp_path / "expected").passed  # isomer moved
    spec["rows"] = "kind == 'gm'"
    (tmp_path / "expected" / "tolerances.yaml").write_text(yaml.safe_dump({"files": [spec]}))
    report = check_run(cfg, tmp_path / "run", tmp_path / "expected")
    items = [f.item for f in report.findings]
    assert report.passed and items == ["n_atoms=8: kind", "n_atoms=8: n_atoms", "n_atoms=8: e"]


def test_trajectory_output_is_compared_only_with_the_expected_numerics(cfg, tmp_path):
    import json

    def numerics(kernel):
        return {
            "numerics": {"openblas_kernels": [f"libopenblas.so:{kernel}"]},
            "packages": {"numpy": "2.4.6"},
        }

    for folder, value in (("expected", -0.5), ("run", -0.7)):
        (tmp_path / folder / "figures").mkdir(parents=True)
        pd.DataFrame({"n": [8], "e": [value]}).to_csv(tmp_path / folder / "figures" / "f.csv")
    spec = {"file": "figures/f.csv", "kind": "csv", "reason": "isomers", "key": ["n"]}
    spec["trajectory"] = True
    (tmp_path / "expected" / "tolerances.yaml").write_text(yaml.safe_dump({"files": [spec]}))
    (tmp_path / "expected" / "numerics.json").write_text(json.dumps(numerics("Haswell")))
    manifest = tmp_path / "run" / "manifest.json"

    def run_with(**kernels):
        stages = {name: numerics(kernel) for name, kernel in kernels.items()}
        manifest.write_text(json.dumps({"stages": stages}))
        return check_run(cfg, tmp_path / "run", tmp_path / "expected")

    assert not run_with(go="Haswell", figures="Haswell").passed
    report = run_with(go="Prescott", figures="Prescott")
    assert report.passed and not report.findings
    assert "figures/f.csv not compared: isomers" in report.render()
    assert "stage(s)" not in report.render()
    # Figures redrawn under the expected kernels from a search run under others: still not compared.
    report = run_with(go="Prescott", figures="Haswell")
    assert report.passed and "figures/f.csv not compared: isomers" in report.render()
    assert "stage(s) go: this run's numerics differ" in report.render()
    with pytest.raises(ValueError, match="ran with different numerics"):
        update_expected(cfg, tmp_path / "run", [], tmp_path / "stored")
    assert not (tmp_path / "stored").exists() and not (tmp_path / ".stored.new").exists()


@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_stored_expected_results_hold_every_promise(profile):
    """A promise added to promises.yaml but not stored would never be compared."""
    from paper_artifact.check import load_specs
    from paper_artifact.config import load_profile
    from paper_artifact.paths import expected_dir
    from paper_artifact.promises import promised_specs

    stored = load_specs(expected_dir(profile))
    assert stored == promised_specs(load_profile(profile))
    assert all((expected_dir(profile) / spec.file).is_file() for spec in stored)
