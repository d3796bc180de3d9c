"""Stage `fit`: the paper's two-stage grid search (SOAP grid, then 2b grid with the best SOAP),
selected by RMSE(E_bond) on the selection size, and the per-size evaluation of the chosen GAP."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms
from ase.io import read

from .. import paths
from ..calculators.gap import GapFitSettings, load_gap, predict_energies, reference_energies
from ..config import Config
from ..data import REF_ENERGY_KEY
from ..evaluation import average_rmse, per_size_metrics
from ..gridsearch import GridSearchResult, grid_search
from ..runner import StageContext
from ..units import EV_TO_KCAL_MOL
from .common import executor_for, reference_atom_energy, stage_seed


def fit_settings(cfg: Config, e_atom_ev: float) -> GapFitSettings:
    """The config's gap_fit settings with e0 = reference E(Mg1) and the seed from the config."""
    return dataclasses.replace(
        cfg.fit.settings, e0=e_atom_ev, rnd_seed=stage_seed(cfg, "fit") % 2**31
    )


def copy_model(xml_path: Path, target_dir: Path) -> Path:
    """Copy a GAP XML and its sparseX files into target_dir; returns the new XML path."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for file in [xml_path, *sorted(xml_path.parent.glob(xml_path.name + ".sparseX.*"))]:
        shutil.copy2(file, target_dir / file.name)
    return target_dir / xml_path.name


def evaluate(
    model_xml: Path,
    train: list[Atoms],
    test: list[Atoms],
    e_atom_ev: float,
    external: list[Atoms] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-size metrics (paper Figure 3a,b) and per-structure E_bond pairs (Figure 3c-f);
    `external` (e.g. the Gaussian Mg13 minima) is reported as split 'external'."""
    calc = load_gap(model_xml)
    metrics, structures = [], []
    splits = [("train", train), ("test", test)] + ([("external", external)] if external else [])
    for split, atoms_list in splits:
        predicted = predict_energies(calc, atoms_list)
        reference = reference_energies(atoms_list, REF_ENERGY_KEY)
        metrics.append(
            per_size_metrics(atoms_list, predicted, reference, e_atom_ev).assign(split=split)
        )
        sizes = np.array([len(a) for a in atoms_list])
        structures.append(
            pd.DataFrame(
                {
                    "split": split,
                    "n_atoms": sizes,
                    "e_bond_ref_kcal": (reference - sizes * e_atom_ev) / sizes * EV_TO_KCAL_MOL,
                    "e_bond_gap_kcal": (predicted - sizes * e_atom_ev) / sizes * EV_TO_KCAL_MOL,
                }
            )
        )
    return pd.concat(metrics, ignore_index=True), pd.concat(structures, ignore_index=True)


def summary(result: GridSearchResult, metrics: pd.DataFrame, model_hash: str) -> dict:
    train = metrics[metrics.split == "train"]
    test = metrics[metrics.split == "test"]
    return {
        "soap": dataclasses.asdict(result.best_soap),
        "two_body": None
        if result.best_two_body is None
        else dataclasses.asdict(result.best_two_body),
        "model_sha256": model_hash,
        "train_average_rmse_kcal_mol_atom": average_rmse(train),
        "test_average_rmse_kcal_mol_atom": average_rmse(test),
        "n_fits": len(result.table),
    }


def run_grid_search(
    ctx: StageContext, train: list[Atoms], test: list[Atoms], workdir: Path, e_atom_ev: float
) -> GridSearchResult:
    def report(row: dict) -> None:
        ctx.log(
            f"grid stage {row['stage']} point {row['grid_index']}: {row['status']}, "
            f"RMSE(Mg{ctx.cfg.data.selection_size}) = {row['selection_rmse']:.4f} "
            f"kcal/mol/atom"
        )

    with executor_for(ctx) as executor:
        return grid_search(
            train,
            test,
            ctx.cfg.fit.grid,
            fit_settings(ctx.cfg, e_atom_ev),
            ctx.cfg.data.selection_size,
            workdir,
            map_fn=executor.map,
            progress=report,
        )


def external_test(ctx: StageContext) -> list[Atoms]:
    path = ctx.paths.stage("data") / paths.DATA_EXTERNAL_TEST
    return read(path, ":") if path.exists() else []


def write_evaluation(
    out: Path,
    model_xml: Path,
    train: list[Atoms],
    test: list[Atoms],
    e_atom_ev: float,
    external: list[Atoms],
) -> pd.DataFrame:
    metrics, structures = evaluate(model_xml, train, test, e_atom_ev, external)
    metrics.to_csv(out / paths.FIT_METRICS, index=False)
    structures.to_csv(out / paths.FIT_PREDICTIONS, index=False)
    return metrics


def write_fit_outputs(
    out: Path,
    result: GridSearchResult,
    model_xml: Path,
    train: list[Atoms],
    test: list[Atoms],
    e_atom_ev: float,
    external: list[Atoms],
) -> dict:
    from ..calculators.gap import model_hash

    result.table.to_csv(out / paths.FIT_GRID_TABLE, index=False)
    result.per_size.to_csv(out / paths.FIT_GRID_PER_SIZE, index=False)
    final_xml = copy_model(model_xml, out / paths.MODEL_DIR)
    metrics = write_evaluation(out, final_xml, train, test, e_atom_ev, external)
    info = summary(result, metrics, model_hash(final_xml))
    (out / paths.FIT_SELECTED).write_text(json.dumps(info, indent=2))
    return info


def run(ctx: StageContext) -> None:
    train = read(ctx.input("data", paths.DATA_TRAIN), ":")
    test = read(ctx.input("data", paths.DATA_TEST), ":")
    e_atom = reference_atom_energy(ctx.cfg)
    result = run_grid_search(ctx, train, test, ctx.work / "grid", e_atom)
    info = write_fit_outputs(
        ctx.out, result, result.best_model_path, train, test, e_atom, external_test(ctx)
    )
    ctx.log(
        f"selected SOAP {info['soap']} 2b {info['two_body']}; average RMSE train "
        f"{info['train_average_rmse_kcal_mol_atom']:.4f}, test "
        f"{info['test_average_rmse_kcal_mol_atom']:.4f} kcal/mol/atom"
    )
