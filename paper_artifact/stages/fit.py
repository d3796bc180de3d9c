"""Stage `fit`: the paper's two-stage grid search (SOAP grid, then 2b grid with the best SOAP),
selected by RMSE(E_bond) on the selection size, and the per-size evaluation of the chosen GAP."""

from __future__ import annotations

import dataclasses
import json

from ase.io import read

from .. import paths
from ..calculators.gap import copy_model, model_hash
from ..evaluation import average_rmse
from ..runner import StageContext
from .common import grid_search_for, reference_atom_energy, write_evaluation


def run(ctx: StageContext) -> None:
    train = read(ctx.input("data", paths.DATA_TRAIN), ":")
    test = read(ctx.input("data", paths.DATA_TEST), ":")
    e_atom = reference_atom_energy(ctx.cfg)
    result = grid_search_for(ctx, train, test, ctx.work / "grid", e_atom)
    result.table.to_csv(ctx.out / paths.FIT_GRID_TABLE, index=False)
    result.per_size.to_csv(ctx.out / paths.FIT_GRID_PER_SIZE, index=False)
    final_xml = copy_model(result.best_model_path, ctx.out / paths.MODEL_DIR)
    metrics = write_evaluation(ctx, final_xml, train, test, e_atom)
    two_body = result.best_two_body
    info = {
        "soap": dataclasses.asdict(result.best_soap),
        "two_body": None if two_body is None else dataclasses.asdict(two_body),
        "model_sha256": model_hash(final_xml),
        "train_average_rmse_kcal_mol_atom": average_rmse(metrics[metrics.split == "train"]),
        "test_average_rmse_kcal_mol_atom": average_rmse(metrics[metrics.split == "test"]),
        "n_fits": len(result.table),
    }
    (ctx.out / paths.FIT_SELECTED).write_text(json.dumps(info, indent=2))
    ctx.log(
        f"selected SOAP {info['soap']} 2b {info['two_body']}; average RMSE train "
        f"{info['train_average_rmse_kcal_mol_atom']:.4f}, test "
        f"{info['test_average_rmse_kcal_mol_atom']:.4f} kcal/mol/atom"
    )
