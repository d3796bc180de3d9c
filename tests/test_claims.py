import json

import pandas as pd
import pytest
import yaml

from paper_artifact import paths
from paper_artifact.claims import METRICS, evaluate_claims, judge, render_markdown


def test_judge_kinds():
    assert judge({"kind": "abs", "tolerance": 2e-5}, -200.0696953, -200.0696986)
    assert not judge({"kind": "abs", "tolerance": 2e-5}, -200.0696953, -200.0697253)
    assert judge({"kind": "at_most", "tolerance": 0.0}, 0.149, 0.10)
    assert not judge({"kind": "at_most", "tolerance": 0.0}, 0.149, 0.2)
    assert judge({"kind": "at_least", "tolerance": 0.0}, 0.85, 0.9)
    assert judge({"kind": "range"}, [400, 600], 450) and not judge(
        {"kind": "range"}, [400, 600], 50
    )
    assert judge({"kind": "contains"}, [40, 47], [40, 44, 47])
    assert not judge({"kind": "contains"}, [40, 47], [40])


def test_every_claim_names_a_known_metric_and_profiles():
    claims = yaml.safe_load(paths.CLAIMS_FILE.read_text())["claims"]
    assert len(claims) >= 15
    for claim in claims:
        assert claim["metric"] in METRICS, claim["id"]
        assert set(claim["profiles"]) <= {"smoke", "default", "dft-mini", "paper"}
        assert claim["reason"]


@pytest.fixture
def run_dir(tmp_path):
    (tmp_path / "dft_check").mkdir()
    (tmp_path / "dft_check" / paths.DFT_ATOM).write_text(
        json.dumps({"enabled": True, "e_mg1_hartree": -200.0696986})
    )
    (tmp_path / "active_learning").mkdir()
    pd.DataFrame(
        {
            "split": ["train"] * 5 + ["test"] * 2,
            "n_atoms": [1, 2, 3, 4, 5, 6, 7],
            "rmse_kcal_mol_atom": [0.2, 0.2, 0.2, 0.2, 0.05, 0.1, 0.3],
            "pearson_r": [0.95, 0.95, 0.8, 0.95, 0.99, 0.9, 0.86],
        }
    ).to_csv(tmp_path / "active_learning" / paths.FIT_METRICS, index=False)
    (tmp_path / "active_learning" / paths.AL_VERDICT).write_text(
        json.dumps({"enabled": True, "found": False})
    )
    return tmp_path


def test_metrics_on_constructed_outputs(run_dir):
    assert METRICS["test_average_rmse"](run_dir) == pytest.approx(0.2)
    assert METRICS["train_average_rmse"](run_dir) == pytest.approx(0.17)
    assert METRICS["train_average_rmse_without_4_smallest"](run_dir) == pytest.approx(0.05)
    assert METRICS["fraction_train_pearson_above_0.90"](run_dir) == pytest.approx(0.8)
    assert METRICS["min_test_pearson"](run_dir) == pytest.approx(0.86)


def test_report_verdicts_and_scope(run_dir):
    rows = {r.id: r for r in evaluate_claims("default", run_dir)}
    assert rows["e_mg1"].verdict == "reproduced"
    assert rows["test_rmse"].verdict == "not reproduced"  # 0.2 > 0.149
    assert "surrogate" in rows["test_rmse"].note
    assert rows["al_finds_gm"].verdict == "not reproduced"
    assert rows["metastable_count"].verdict == "not checkable"  # paper profile only
    assert rows["gaussian_mg13_energies"].verdict == "not checkable"  # output missing
    text = render_markdown("default", list(rows.values()))
    assert "| claim | paper | ours |" in text and "**reproduced**" in text
