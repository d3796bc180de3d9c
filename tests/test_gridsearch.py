import json
import math
import stat
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import labelled
import numpy as np
import pandas as pd
import pytest
from ase.calculators.lj import LennardJones

from paper_artifact.calculators.gap import (
    MODEL_FILE_NAME,
    GapFitSettings,
    RepulsiveCore,
    SoapParams,
    TwoBodyParams,
    run_gap_fit,
)
from paper_artifact.gridsearch import (
    RESULT_FILE_NAME,
    GridSpec,
    grid_search,
    point_id,
    select_best,
)
from paper_artifact.units import KCAL_MOL_EV

SETTINGS = GapFitSettings(e0=0.0, default_sigma_energy=0.001, default_sigma_force=0.01)
TINY_GRID = GridSpec(
    soap_cutoff=(3.5, 4.0),
    soap_n_max=(2,),
    soap_l_max=(2,),
    soap_n_sparse=(10,),
    soap_cutoff_transition_width=0.5,
    two_body_cutoff=(5.0,),
    two_body_delta=(0.05, 0.2),
    two_body_n_sparse=(6,),
)


def lj_clusters(count, sizes, seed, calc=None):
    return labelled.lj_clusters(count, sizes, seed, 11, calc)


@pytest.fixture(scope="module")
def prefit_model(tmp_path_factory):
    """One real gap_fit run whose output files the fake gap_fit hands out."""
    workdir = tmp_path_factory.mktemp("prefit")
    run_gap_fit(lj_clusters(8, [5, 6], seed=0), workdir, TINY_GRID.soap_points()[0], None, SETTINGS)
    return workdir


def install_fake_gap_fit(tmp_path, monkeypatch, body):
    """Put a fake `gap_fit` shell script first on PATH; it logs each call to calls.txt."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    counter = tmp_path / "calls.txt"
    fake = bin_dir / "gap_fit"
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{counter}"\n{body}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")

    def calls():
        return len(counter.read_text().splitlines()) if counter.exists() else 0

    return calls


@pytest.fixture
def copying_gap_fit(tmp_path, monkeypatch, prefit_model):
    """Fake gap_fit that 'fits' by copying the prefit model into the working directory."""
    return install_fake_gap_fit(tmp_path, monkeypatch, f'cp "{prefit_model}"/{MODEL_FILE_NAME}* .')


def test_grid_points_are_the_product_in_field_order():
    grid = GridSpec(soap_cutoff=(4.0, 5.0), soap_n_max=(6, 8), two_body_delta=(0.1, 0.5))
    soap = grid.soap_points()
    assert [(p.cutoff, p.n_max) for p in soap] == [(4.0, 6), (4.0, 8), (5.0, 6), (5.0, 8)]
    assert all(p.l_max == 8 and p.sparse_method == "random" for p in soap)
    two_body = grid.two_body_points()
    assert [(p.cutoff, p.delta) for p in two_body] == [
        (5.0, 0.1),
        (5.0, 0.5),
        (7.0, 0.1),
        (7.0, 0.5),
    ]


def test_select_best_lowest_metric_then_grid_order():
    rows = [
        {"grid_index": 0, "status": "ok", "selection_rmse": 0.30},
        {"grid_index": 1, "status": "failed", "selection_rmse": math.nan},
        {"grid_index": 2, "status": "ok", "selection_rmse": 0.20},
        {"grid_index": 3, "status": "ok", "selection_rmse": 0.20},
        {"grid_index": 4, "status": "ok", "selection_rmse": math.nan},
    ]
    assert select_best(reversed(rows))["grid_index"] == 2
    with pytest.raises(RuntimeError, match="no grid point"):
        select_best([rows[1], rows[4]])


def test_point_id_depends_on_parameters_settings_and_data():
    base = point_id(SoapParams(), None, SETTINGS, 55, "data")
    assert base == point_id(SoapParams(), None, SETTINGS, 55, "data")
    others = {
        point_id(SoapParams(cutoff=5.0), None, SETTINGS, 55, "data"),
        point_id(SoapParams(), TwoBodyParams(), SETTINGS, 55, "data"),
        point_id(SoapParams(), None, GapFitSettings(e0=0.0, rnd_seed=2), 55, "data"),
        point_id(SoapParams(), None, SETTINGS, 55, "other data"),
        point_id(SoapParams(), None, replace(SETTINGS, core=RepulsiveCore()), 55, "data"),
    }
    assert base not in others and len(others) == 5
    launch_only = GapFitSettings(
        e0=0.0,
        default_sigma_energy=0.001,
        default_sigma_force=0.01,
        openmp_threads=4,
        gap_fit_executable="/opt/gap_fit",
    )
    assert point_id(SoapParams(), None, launch_only, 55, "data") == base


def test_selection_size_must_be_in_test_set(tmp_path):
    train, test = lj_clusters(3, [5], 1), lj_clusters(2, [6], 2)
    with pytest.raises(ValueError, match="selection size 7 is not in the test set"):
        grid_search(train, test, TINY_GRID, SETTINGS, 7, tmp_path)


def test_grid_search_parallel_then_resume_without_refitting(tmp_path, copying_gap_fit):
    train = lj_clusters(10, [5, 6, 7], seed=3)
    test = lj_clusters(6, [8, 9], seed=4)
    workdir = tmp_path / "grid"
    seen = []
    with ProcessPoolExecutor(max_workers=2) as pool:
        first = grid_search(train, test, TINY_GRID, SETTINGS, 9, workdir, pool.map, seen.append)
    assert copying_gap_fit() == 4 and len(seen) == 4
    table = first.table
    assert list(table["stage"]) == [1, 1, 2, 2]
    assert (table["status"] == "ok").all()
    assert table["point_id"].nunique() == 4
    # Every fake fit returns the same model, so all metrics tie and grid order decides.
    assert table["selection_rmse"].nunique() == 1
    assert first.best_soap == TINY_GRID.soap_points()[0]
    assert first.best_two_body == TINY_GRID.two_body_points()[0]
    assert first.best_model_path == workdir / table["point_id"].iloc[2] / MODEL_FILE_NAME
    # The selection metric is the test RMSE of the selection size, also in the wide columns.
    np.testing.assert_allclose(table["selection_rmse"], table["test_rmse_9"])
    assert set(first.per_size["dataset"]) == {"train", "test"}
    assert sorted(first.per_size["n_atoms"].unique()) == [5, 6, 7, 8, 9]
    for pid in table["point_id"]:
        assert json.loads((workdir / pid / RESULT_FILE_NAME).read_text())["point_id"] == pid

    again = grid_search(train, test, TINY_GRID, SETTINGS, 9, workdir)  # serial, resumed
    assert copying_gap_fit() == 4
    pd.testing.assert_frame_equal(again.table, first.table)
    assert (workdir / "grid_table.csv").is_file() and (workdir / "grid_per_size.csv").is_file()

    (workdir / table["point_id"].iloc[3] / RESULT_FILE_NAME).unlink()
    grid_search(train, test, TINY_GRID, SETTINGS, 9, workdir)
    assert copying_gap_fit() == 5


def test_failed_point_is_recorded_and_retried(tmp_path, monkeypatch):
    calls = install_fake_gap_fit(
        tmp_path, monkeypatch, 'echo " SYSTEM ABORT: fake failure"\nexit 1'
    )
    train = lj_clusters(6, [5, 6], seed=5)
    test = lj_clusters(2, [7], seed=6)
    grid = GridSpec(soap_cutoff=(3.5,), two_body_cutoff=())
    seen = []
    for expected_calls in (1, 2):
        with pytest.raises(RuntimeError, match="no grid point was fitted successfully"):
            grid_search(train, test, grid, SETTINGS, 7, tmp_path / "grid", progress=seen.append)
        assert calls() == expected_calls  # no result.json, so the rerun retries
    assert seen[0]["status"] == "failed"
    assert "SYSTEM ABORT: fake failure" in seen[0]["error"]


@pytest.mark.slow
def test_real_grid_search_parallel_equals_serial(tmp_path):
    """Real gap_fit on a small Gupta-labelled set; a process pool gives the serial metrics."""
    try:
        from paper_artifact.calculators.gupta import Gupta

        labeller = Gupta()
    except ImportError:  # the Gupta module is written in parallel; LJ keeps the test meaningful
        labeller = LennardJones(sigma=2.9, epsilon=0.05, rc=20.0)
    train = lj_clusters(60, [8, 9, 10, 11, 12, 13], seed=21, calc=labeller)
    test = lj_clusters(12, [14, 15], seed=22, calc=labeller)
    grid = GridSpec(
        soap_cutoff=(4.0, 5.0),
        soap_n_max=(4,),
        soap_l_max=(4,),
        soap_n_sparse=(60,),
        two_body_cutoff=(5.0, 7.0),
        two_body_delta=(0.1,),
        two_body_n_sparse=(15,),
    )
    serial = grid_search(train, test, grid, SETTINGS, 15, tmp_path / "serial")
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = grid_search(train, test, grid, SETTINGS, 15, tmp_path / "parallel", pool.map)
    columns = ["stage", "grid_index", "selection_rmse", "train_average_rmse", "test_average_rmse"]
    pd.testing.assert_frame_equal(serial.table[columns], parallel.table[columns])
    assert (serial.best_soap, serial.best_two_body) == (parallel.best_soap, parallel.best_two_body)
    # The chosen model must beat predicting the mean binding energy of each test size.
    table = serial.per_size
    rmse = table[
        (table["point_id"] == serial.best_model_path.parent.name) & (table["dataset"] == "test")
    ]
    sizes = np.array([len(a) for a in test])
    e_bond = np.array([a.info["ref_energy"] for a in test]) / sizes / KCAL_MOL_EV
    for n, value in zip(rmse["n_atoms"], rmse["rmse_kcal_mol_atom"], strict=True):
        assert value < np.std(e_bond[sizes == n])
