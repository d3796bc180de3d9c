"""What the stage adapters share: task seeds, the reference calculator, and the glue from the
config tree to the GAP-fitting domain (fit settings, grid search, evaluation files)."""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read

from .. import paths
from ..calculators.factory import calculator_factory, isolated_atom_energy
from ..calculators.gap import GapFitSettings, load_gap
from ..calculators.label_store import seed_cache
from ..config import Config
from ..data.label import LabelResult, label_structures
from ..evaluation import evaluate_model
from ..gridsearch import GridSearchResult, grid_search
from ..runner import StageContext
from ..validation import StructureRules, rules_for

CHEAP_CALCULATOR = "gupta"


def stage_seed(cfg: Config, stage: str, *identity: int) -> int:
    """A seed for one task, derived from the config seed, the stage name and the task identity,
    so results do not depend on the order in which parallel tasks run."""
    sequence = np.random.SeedSequence([cfg.seed, zlib.crc32(stage.encode()), *identity])
    return int(sequence.generate_state(1)[0])


def reference_cache(ctx: StageContext) -> Path | None:
    """The run's reference cache, first seeded with the profile's shipped labels."""
    reference = ctx.cfg.reference
    if not reference.use_cache:
        return None
    if reference.stored_labels is not None:
        labels = reference.stored_labels.resolve()
        added, usable = seed_cache(ctx.paths.cache_db, labels, reference.dft.cache_key())
        if added:
            ctx.log(f"{added} stored labels from {labels} added to the run cache ({usable} usable)")
    return ctx.paths.cache_db


def reference_factory(ctx: StageContext, cheap: bool = False):
    if cheap:
        return calculator_factory(CHEAP_CALCULATOR)
    reference = ctx.cfg.reference
    return calculator_factory(reference.calculator, reference.dft, reference_cache(ctx))


def reference_rules(cfg: Config) -> StructureRules:
    """What the reference calculator accepts; every structure is checked before it gets there."""
    return rules_for(cfg.reference.calculator, min_atoms=2)


def label_with_reference(ctx: StageContext, structures: list[Atoms]) -> LabelResult:
    """Reference energies and forces of the structures through the stage's executor."""
    return label_structures(
        structures,
        reference_factory(ctx),
        map_fn=ctx.map,
        progress=ctx.log,
        rules=reference_rules(ctx.cfg),
    )


def reference_atom_energy(cfg: Config) -> float:
    return isolated_atom_energy(cfg.reference.calculator, cfg.reference.dft)


def fit_settings(cfg: Config, e_atom_ev: float) -> GapFitSettings:
    """The config's gap_fit settings with e0 = reference E(Mg1) and the seed from the config."""
    return dataclasses.replace(
        cfg.fit.settings, e0=e_atom_ev, rnd_seed=stage_seed(cfg, "fit") % 2**31
    )


def grid_search_for(
    ctx: StageContext, train: list[Atoms], test: list[Atoms], workdir: Path, e_atom_ev: float
) -> GridSearchResult:
    """The profile's two-stage grid search through the stage's executor, with progress lines."""

    def report(row: dict) -> None:
        ctx.log(
            f"grid stage {row['stage']} point {row['grid_index']}: {row['status']}, "
            f"RMSE(Mg{ctx.cfg.data.selection_size}) = {row['selection_rmse']:.4f} "
            f"kcal/mol/atom"
        )

    return grid_search(
        train,
        test,
        ctx.cfg.fit.grid,
        fit_settings(ctx.cfg, e_atom_ev),
        ctx.cfg.data.selection_size,
        workdir,
        map_fn=ctx.map,
        progress=report,
    )


def external_test(ctx: StageContext) -> list[Atoms]:
    path = ctx.paths.stage("data") / paths.DATA_EXTERNAL_TEST
    return read(path, ":") if path.exists() else []


def write_evaluation(
    ctx: StageContext, model_xml: Path, train: list[Atoms], test: list[Atoms], e_atom_ev: float
):
    """Per-size metrics and per-structure E_bond pairs of a model, into the stage's outputs."""
    metrics, structures = evaluate_model(
        load_gap(model_xml), train, test, e_atom_ev, external_test(ctx)
    )
    metrics.to_csv(ctx.out / paths.FIT_METRICS, index=False)
    structures.to_csv(ctx.out / paths.FIT_PREDICTIONS, index=False)
    return metrics
