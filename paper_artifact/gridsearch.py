"""Two-stage grid search of GAP hyper-parameters (paper, "Selection of Parameters", Figure 1a).

Stage 1 fits a SOAP-only GAP for every point of the SOAP grid; stage 2 keeps the best SOAP
parameters and adds a distance_2b term for every point of the two-body grid. Every fit uses the
full training set. The selection metric is RMSE(E_bond) of the test structures of one cluster size
(the paper uses Mg55, the most extrapolative size); ties go to the earlier grid point. The final
model is the best stage-2 model (the paper's model has both terms), or the best stage-1 model
when the two-body grid is empty.

Each grid point lives in `workdir/<point_id>/`, where point_id hashes the parameters, the fit
settings and a fingerprint of the train/test data. A point whose `result.json` exists is read back
instead of refitted, so an interrupted search resumes. `fit_and_evaluate_point` is a top-level
function of one picklable argument, so `map_fn` may be a process pool's or Parsl's map.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms

from paper_artifact.calculators.gap import (
    GapFitError,
    GapFitSettings,
    SoapParams,
    TwoBodyParams,
    load_gap,
    predict_energies,
    reference_energies,
    run_gap_fit,
)
from paper_artifact.configtree import without_resources
from paper_artifact.evaluation import average_rmse, per_size_metrics
from paper_artifact.fileio import atomic_write_text, read_state_json

RESULT_FILE_NAME = "result.json"


@dataclass(frozen=True)
class GridSpec:
    """Value lists of the two grids; the grid is the Cartesian product, in field order."""

    soap_cutoff: tuple[float, ...] = (4.0, 4.25, 5.0)
    soap_n_max: tuple[int, ...] = (8,)
    soap_l_max: tuple[int, ...] = (8,)
    soap_atom_sigma: tuple[float, ...] = (0.5,)
    soap_zeta: tuple[float, ...] = (4.0,)
    soap_delta: tuple[float, ...] = (0.2,)
    soap_n_sparse: tuple[int, ...] = (200,)
    soap_sparse_method: str = "random"  # see SoapParams.sparse_method
    soap_cutoff_transition_width: float = 1.0
    two_body_cutoff: tuple[float, ...] = (5.0, 7.0)
    two_body_delta: tuple[float, ...] = (0.1, 0.5)
    two_body_theta_uniform: tuple[float, ...] = (1.0,)
    two_body_n_sparse: tuple[int, ...] = (20,)

    def soap_points(self) -> list[SoapParams]:
        grid = itertools.product(
            self.soap_cutoff,
            self.soap_n_max,
            self.soap_l_max,
            self.soap_atom_sigma,
            self.soap_zeta,
            self.soap_delta,
            self.soap_n_sparse,
        )
        return [
            SoapParams(
                cutoff=cutoff,
                n_max=n_max,
                l_max=l_max,
                atom_sigma=atom_sigma,
                zeta=zeta,
                delta=delta,
                n_sparse=n_sparse,
                sparse_method=self.soap_sparse_method,
                cutoff_transition_width=self.soap_cutoff_transition_width,
            )
            for cutoff, n_max, l_max, atom_sigma, zeta, delta, n_sparse in grid
        ]

    def two_body_points(self) -> list[TwoBodyParams]:
        grid = itertools.product(
            self.two_body_cutoff,
            self.two_body_delta,
            self.two_body_theta_uniform,
            self.two_body_n_sparse,
        )
        return [
            TwoBodyParams(cutoff=cutoff, delta=delta, theta_uniform=theta, n_sparse=n_sparse)
            for cutoff, delta, theta, n_sparse in grid
        ]


@dataclass(frozen=True)
class PointTask:
    """Everything one grid point needs; picklable so it can cross process boundaries."""

    stage: int
    grid_index: int
    soap: SoapParams
    two_body: TwoBodyParams | None
    settings: GapFitSettings
    train: tuple[Atoms, ...]
    test: tuple[Atoms, ...]
    selection_size: int
    point_dir: Path


@dataclass(frozen=True, eq=False)
class GridSearchResult:
    table: pd.DataFrame  # one row per fit; wide per-size columns {train,test}_{rmse,pearson}_<n>
    per_size: pd.DataFrame  # long format: point_id, stage, dataset, n_atoms, metrics
    best_soap: SoapParams
    best_two_body: TwoBodyParams | None
    best_model_path: Path


def data_fingerprint(atoms_list: Sequence[Atoms], energy_key: str) -> str:
    """sha256 over species, positions and reference energies of a labelled set."""
    digest = hashlib.sha256()
    for atoms, energy in zip(atoms_list, reference_energies(atoms_list, energy_key), strict=True):
        digest.update(np.ascontiguousarray(atoms.numbers, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(atoms.positions, dtype=np.float64).tobytes())
        digest.update(np.float64(energy).tobytes())
    return digest.hexdigest()


def point_id(
    soap: SoapParams,
    two_body: TwoBodyParams | None,
    settings: GapFitSettings,
    selection_size: int,
    data_hash: str,
) -> str:
    key = {
        "soap": asdict(soap),
        "two_body": None if two_body is None else asdict(two_body),
        # unset optional settings (e.g. no repulsive core) stay out, so adding one keeps old ids
        "settings": {
            k: v for k, v in without_resources(asdict(settings)).items() if v is not None
        },
        "selection_size": selection_size,
        "data": data_hash,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _metric_records(dataset: str, frame: pd.DataFrame) -> list[dict]:
    return [{"dataset": dataset, **row} for row in frame.to_dict(orient="records")]


def fit_and_evaluate_point(task: PointTask) -> dict:
    """Fit one grid point and evaluate it per size on train and test; cached in result.json.

    A failed fit returns status 'failed' with the error and writes no result.json, so a resumed
    search retries it.
    """
    result_file = task.point_dir / RESULT_FILE_NAME
    cached = read_state_json(result_file)
    if cached is not None:
        return cached
    row = {
        "point_id": task.point_dir.name,
        "stage": task.stage,
        "grid_index": task.grid_index,
        **{f"soap_{k}": v for k, v in asdict(task.soap).items()},
        **{
            f"two_body_{k}": (None if task.two_body is None else v)
            for k, v in asdict(task.two_body or TwoBodyParams()).items()
        },
    }
    try:
        model = run_gap_fit(task.train, task.point_dir, task.soap, task.two_body, task.settings)
    except GapFitError as error:
        return {**row, "status": "failed", "error": str(error), "selection_rmse": math.nan}
    calc = load_gap(model.xml_path)
    metrics = {}
    for dataset, atoms_list in (("train", task.train), ("test", task.test)):
        metrics[dataset] = per_size_metrics(
            atoms_list,
            predict_energies(calc, atoms_list),
            reference_energies(atoms_list, task.settings.energy_key),
            task.settings.e0,
        )
    selection = metrics["test"].set_index("n_atoms").loc[task.selection_size]
    row |= {
        "status": "ok",
        "error": "",
        "fit_seconds": model.fit_seconds,
        "peak_memory_mb": model.peak_memory_mb,
        "model_hash": model.content_hash,
        "model_path": str(model.xml_path),
        "selection_size": task.selection_size,
        "selection_rmse": float(selection["rmse_kcal_mol_atom"]),
        "train_average_rmse": average_rmse(metrics["train"]),
        "test_average_rmse": average_rmse(metrics["test"]),
        "per_size": _metric_records("train", metrics["train"])
        + _metric_records("test", metrics["test"]),
    }
    atomic_write_text(result_file, json.dumps(row, indent=1))  # half-written never counts
    return row


def select_best(rows: Iterable[dict]) -> dict:
    """Lowest selection RMSE among successful fits; ties go to the lower grid index."""
    candidates = [r for r in rows if r["status"] == "ok" and math.isfinite(r["selection_rmse"])]
    if not candidates:
        raise RuntimeError("grid search: no grid point was fitted successfully")
    return min(candidates, key=lambda r: (r["selection_rmse"], r["grid_index"]))


def _run_stage(
    tasks: list[PointTask],
    map_fn: Callable,
    progress: Callable[[dict], None] | None,
) -> list[dict]:
    rows = []
    for row in map_fn(fit_and_evaluate_point, tasks):
        rows.append(row)
        if progress is not None:
            progress(row)
    return rows


def _tables(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    long_rows = [
        {"point_id": r["point_id"], "stage": r["stage"], **m}
        for r in rows
        for m in r.get("per_size", [])
    ]
    per_size = pd.DataFrame(long_rows)
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "per_size"} for r in rows])
    if not per_size.empty:
        wide = per_size.pivot_table(
            index="point_id",
            columns=["dataset", "n_atoms"],
            values=["rmse_kcal_mol_atom", "pearson_r"],
            dropna=False,
        )
        short = {"rmse_kcal_mol_atom": "rmse", "pearson_r": "pearson"}
        wide.columns = [f"{dataset}_{short[m]}_{n}" for m, dataset, n in wide.columns]
        table = table.merge(wide, left_on="point_id", right_index=True, how="left")
    return table, per_size


def grid_search(
    train: Sequence[Atoms],
    test: Sequence[Atoms],
    grid: GridSpec,
    settings: GapFitSettings,
    selection_size: int,
    workdir: Path | str,
    map_fn: Callable = map,
    progress: Callable[[dict], None] | None = None,
) -> GridSearchResult:
    """Run (or resume) the two-stage grid search; writes grid_table.csv and grid_per_size.csv."""
    workdir = Path(workdir).resolve()
    test_sizes = {len(a) for a in test}
    if selection_size not in test_sizes:
        raise ValueError(
            f"grid search: selection size {selection_size} is not in the test set "
            f"(sizes {sorted(test_sizes)})"
        )
    soap_points = grid.soap_points()
    if not soap_points:
        raise ValueError("grid search: the SOAP grid is empty")
    data_hash = data_fingerprint(train, settings.energy_key) + data_fingerprint(
        test, settings.energy_key
    )

    def task(stage: int, index: int, soap: SoapParams, two_body: TwoBodyParams | None):
        pid = point_id(soap, two_body, settings, selection_size, data_hash)
        return PointTask(
            stage,
            index,
            soap,
            two_body,
            settings,
            tuple(train),
            tuple(test),
            selection_size,
            workdir / pid,
        )

    stage1 = _run_stage(
        [task(1, i, soap, None) for i, soap in enumerate(soap_points)], map_fn, progress
    )
    best = select_best(stage1)
    best_soap = soap_points[best["grid_index"]]
    stage2 = _run_stage(
        [task(2, i, best_soap, tb) for i, tb in enumerate(grid.two_body_points())],
        map_fn,
        progress,
    )
    best_two_body = None
    if stage2:
        best = select_best(stage2)
        best_two_body = grid.two_body_points()[best["grid_index"]]
    table, per_size = _tables(stage1 + stage2)
    workdir.mkdir(parents=True, exist_ok=True)
    table.to_csv(workdir / "grid_table.csv", index=False)
    per_size.to_csv(workdir / "grid_per_size.csv", index=False)
    return GridSearchResult(table, per_size, best_soap, best_two_body, Path(best["model_path"]))
