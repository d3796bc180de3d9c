"""End-to-end: a micro profile (Gupta labels, Mg5-Mg8) through every stage, the claims report,
the expected-results round trip and resume."""

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.io import read, write

from paper_artifact.calculators.gupta import Gupta
from paper_artifact.check import check_run, update_expected
from paper_artifact.claims import (
    CONSISTENT,
    INCONSISTENT,
    NEEDS_PROFILE,
    NOT_REPRODUCED,
    REPRODUCED,
    VERDICTS,
    evaluate_claims,
)
from paper_artifact.config import load_config
from paper_artifact.configtree import InputPath
from paper_artifact.digest import run_digest
from paper_artifact.mh.minima_hopping import MHParams, run_minima_hopping
from paper_artifact.promises import promised_specs
from paper_artifact.runner import Runner
from paper_artifact.stages import STAGES
from paper_artifact.structures import random_cluster

MICRO = """
seed: 7
reference: {{calculator: gupta}}
data:
  generate_sizes: [5, 6, 7, 8]
  generation: {{n_random: 3, n_fragment: 3, n_relaxed: 3, n_rattled: 4, n_strained: 2, n_md: 3,
               md_steps: 20}}
  train_sizes: [5, 6, 7]
  test_sizes: [8]
  selection_size: 8
fit:
  grid: {{soap_cutoff: [4.0], soap_n_max: [4], soap_l_max: [2], soap_n_sparse: [15],
          two_body_cutoff: [5.0], two_body_delta: [0.5], two_body_n_sparse: [5]}}
  settings: {{use_forces: true}}
active_learning:
  target_size: 8
  known_gm: {gm}
  al_sizes: [7]
  new_isomers_per_size: 2
  max_rounds: 1
  refit: selected
  target_starts: 1
  target_steps: 2
  al_starts: 1
  al_steps: 1
  mh: &mh {{temperature0: 800.0, mdmin: 1, md_timestep_fs: 5.0, fmax: 0.05}}
go:
  sizes: [7, 8]
  n_starts: 2
  max_steps: 2
  n_lowest: 3
  mh: *mh
refine:
  n_lowest: 3
dft_check:
  enabled: false
analysis:
  regression_sizes: [6, 8]
  refinement_plot_sizes: [7, 8]
"""


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    root = tmp_path_factory.mktemp("micro")
    start = random_cluster(8, np.random.default_rng(0))
    result = run_minima_hopping(
        start, Gupta(), MHParams(mdmin=1, temperature0=800.0, md_timestep_fs=5.0), 1, None, 3
    )
    gm = result.best_atoms.copy()
    gm.calc = None
    write(root / "Mg8.extxyz", gm)
    cfg_path = root / "micro.yaml"
    cfg_path.write_text(MICRO.format(gm=root / "Mg8.extxyz"))
    cfg = load_config(cfg_path)
    run_dir = root / "run"
    record = Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    return cfg, run_dir, record


def test_every_stage_runs(micro):
    cfg, run_dir, record = micro
    assert record.executed == [s.name for s in STAGES]
    train = read(run_dir / "data" / "train.extxyz", ":")
    assert {len(a) for a in train} == {5, 6, 7}
    assert all(np.isfinite(a.info["ref_energy"]) for a in train)
    grid = pd.read_csv(run_dir / "fit" / "grid_table.csv")
    assert list(grid.stage) == [1, 2] and (grid.status == "ok").all()
    verdict = json.loads((run_dir / "active_learning" / "verdict.json").read_text())
    assert isinstance(verdict["found"], bool)
    # round 1 tests the grid-search GAP; if it fails, the refitted model is tested as round 2
    assert verdict["enabled"] and verdict["rounds"] == verdict["refits"] + 1 <= 2
    go_table = pd.read_csv(run_dir / "refine" / "go_table.csv")
    assert list(go_table.n_atoms) == [7, 8] and (go_table.energy_force_calls > 0).all()
    gms = read(run_dir / "go" / "gap_global_minima.extxyz", ":")
    assert [len(a) for a in gms] == [7, 8]
    refined = pd.read_csv(run_dir / "refine" / "refined_isomers.csv")
    assert set(refined.n_atoms) == {7, 8}
    # Gupta relaxation of a GAP minimum can only lower the Gupta energy of that geometry
    assert (refined.e_bond_ref_kcal.notna()).all()
    for stem in (
        "fig3_accuracy",
        "fig4_refinement",
        "fig5_com_profiles",
        "fig6_binding_energy",
        "fig7_lattice_motifs",
    ):
        for ext in ("csv", "png", "pdf"):
            assert (run_dir / "figures" / f"{stem}.{ext}").stat().st_size > 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["stages"]) == {s.name for s in STAGES}


def test_same_seed_gives_the_same_results(micro, tmp_path):
    cfg, run_dir, _ = micro
    Runner(cfg, STAGES, tmp_path / "again", log=lambda m: None).run()
    first, second = run_digest(run_dir), run_digest(tmp_path / "again")
    assert len(first) > 40 and first == second


def test_rerun_skips_everything(micro):
    cfg, run_dir, _ = micro
    again = Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    assert again.executed == [] and len(again.skipped) == len(STAGES)


def test_claims_have_verdicts(micro):
    cfg, run_dir, _ = micro
    rows = evaluate_claims(cfg, run_dir)
    assert {r.verdict for r in rows} <= set(VERDICTS)
    by_id = {r.id: r for r in rows}
    assert by_id["e_mg1"].verdict == NEEDS_PROFILE  # dft_check disabled here
    assert by_id["test_rmse"].verdict in (CONSISTENT, INCONSISTENT)  # Gupta labels
    assert not any(r.verdict in (REPRODUCED, NOT_REPRODUCED) for r in rows)


def test_expected_results_round_trip(micro, tmp_path):
    cfg, run_dir, _ = micro
    expected = tmp_path / "expected"
    update_expected(cfg, run_dir, promised_specs(cfg), expected)
    assert check_run(cfg, run_dir, expected).passed
    table = expected / "fit" / "grid_table.csv"
    frame = pd.read_csv(table)
    frame.loc[0, "selection_rmse"] += 1.0
    frame.to_csv(table, index=False)
    report = check_run(cfg, run_dir, expected)
    assert not report.passed
    assert any(
        f.file == "fit/grid_table.csv" and "selection_rmse" in f.item for f in report.failures
    )


def test_active_learning_can_label_reference_relaxation_paths(micro, tmp_path):
    cfg, run_dir, _ = micro
    # a known "GM" far above the real one (a planar ring), so round 1 fails and the set grows
    angles = 2 * np.pi * np.arange(8) / 8
    radius = 3.1 / (2 * np.sin(np.pi / 8))
    decoy = Atoms("Mg8", positions=radius * np.c_[np.cos(angles), np.sin(angles), 0 * angles])
    write(tmp_path / "decoy.extxyz", decoy)
    al = dataclasses.replace(
        cfg.active_learning,
        known_gm=InputPath(tmp_path / "decoy.extxyz"),
        reference_relax_steps=3,
        external_relax_lowest=3,
        test_lowest=1,  # refine.n_lowest is 3
    )
    shutil.copytree(run_dir, tmp_path / "run")
    # an external test set (the Mg8 test split stands in for the Gaussian Mg13 minima)
    data_dir = tmp_path / "run" / "data"
    shutil.copy(data_dir / "test.extxyz", data_dir / "external_test.extxyz")
    record = Runner(
        dataclasses.replace(cfg, active_learning=al), STAGES, tmp_path / "run", log=lambda m: None
    ).run(only=["active_learning"])
    assert record.executed == ["active_learning"]
    added = read(tmp_path / "run" / "active_learning" / "added_structures.extxyz", ":")
    steps = [a.info["relax_step"] for a in added]
    # paths of at most 3 steps from each new isomer, kept or dropped by the paper's filters;
    # a geometry after the first step is a path label, not a single point
    assert set(steps) <= {0, 1, 2, 3} and max(steps) > 0
    for atoms in added:
        gupta = atoms.copy()
        gupta.calc = Gupta()
        assert atoms.info["ref_energy"] == pytest.approx(gupta.get_potential_energy())
    # each round records its model's RMSE on the external set; the last equals the final model's
    rounds = pd.read_csv(tmp_path / "run" / "active_learning" / "rounds.csv")
    assert len(rounds) == 2 and rounds.model[1] != rounds.model[0]
    assert list(rounds.test_isomers_relaxed) == [1, 1]
    metrics = pd.read_csv(tmp_path / "run" / "active_learning" / "metrics_per_size.csv")
    external = metrics[metrics.split == "external"]
    assert list(external.n_atoms) == [8]
    assert rounds.external_rmse_mg8_kcal_mol_atom.iloc[-1] == pytest.approx(
        external.rmse_kcal_mol_atom.iloc[0]
    )
    # and how many of the 3 lowest external structures stay in their basin when GAP-relaxed
    assert list(rounds.external_relaxed_minima_mg8) == [3, 3]
    assert rounds.external_kept_minima_mg8.between(0, 3).all()
    assert (rounds.external_relax_drop_mg8_ev >= 0).all()


def test_refine_can_choose_isomers_by_reference_single_points(micro, tmp_path):
    cfg, run_dir, _ = micro
    shutil.copytree(run_dir, tmp_path / "run")
    refine = dataclasses.replace(cfg.refine, n_lowest=1, screen_lowest=10)
    record = Runner(
        dataclasses.replace(cfg, refine=refine), STAGES, tmp_path / "run", log=lambda m: None
    ).run(only=["refine"])
    assert record.executed == ["refine"]
    screened = pd.read_csv(tmp_path / "run" / "refine" / "screened_isomers.csv")
    refined = pd.read_csv(tmp_path / "run" / "refine" / "refined_isomers.csv")
    for n in (7, 8):
        unique = read(run_dir / "go" / f"Mg{n}_unique_isomers.extxyz", ":")
        rows = screened[screened.n_atoms == n].sort_values("isomer_rank_gap")
        # every unique GAP isomer (at most 10) gets a reference single point, in GAP order
        assert list(rows.isomer_rank_gap) == list(range(min(10, len(unique))))
        for row in rows.itertuples():
            probe = unique[row.isomer_rank_gap].copy()
            probe.calc = Gupta()
            assert row.e_ref_single_point_ev == pytest.approx(probe.get_potential_energy())
        # the one relaxed is the lowest by reference energy, whatever its GAP rank
        lowest = int(rows.isomer_rank_gap[rows.e_ref_single_point_ev.idxmin()])
        assert list(rows.isomer_rank_gap[rows.relaxed]) == [lowest]
        assert list(refined.isomer_rank_gap[refined.n_atoms == n]) == [lowest]


def test_a_failed_screening_single_point_is_reported_and_not_relaxed(micro, tmp_path):
    cfg, run_dir, _ = micro
    shutil.copytree(run_dir, tmp_path / "run")
    unique_file = tmp_path / "run" / "go" / "Mg8_unique_isomers.extxyz"
    unique = read(unique_file, ":")
    unique[0].symbols[0] = "Al"  # the Gupta Mg potential has no aluminium
    write(unique_file, unique)
    refine = dataclasses.replace(cfg.refine, n_lowest=1, screen_lowest=10)
    Runner(
        dataclasses.replace(cfg, refine=refine), STAGES, tmp_path / "run", log=lambda m: None
    ).run(only=["refine"])
    screened = pd.read_csv(tmp_path / "run" / "refine" / "screened_isomers.csv")
    bad = screened[(screened.n_atoms == 8) & (screened.isomer_rank_gap == 0)].iloc[0]
    assert "Al" in bad.error and np.isnan(bad.e_ref_single_point_ev)
    assert not bad.relaxed and bad.rank_screen == -1
    refined = pd.read_csv(tmp_path / "run" / "refine" / "refined_isomers.csv")
    assert 0 not in set(refined.isomer_rank_gap[refined.n_atoms == 8])
    assert len(refined) == 2  # one per size
