"""Stage `data`: ingest and/or generate Mg_n structures, label them, apply the paper's filters,
split by size into train/test (paper section "Training Data for GAP Model")."""

from __future__ import annotations

import pandas as pd

from .. import paths
from ..data import DataError
from ..data.filters import apply_paper_filters
from ..data.generate import generate_candidates
from ..data.ingest import read_many
from ..data.split import split_by_size, write_counts_figure, write_labelled_extxyz
from ..runner import StageContext
from .common import label_with_reference, reference_atom_energy, reference_factory, stage_seed


def run(ctx: StageContext) -> None:
    cfg = ctx.cfg.data
    ingested = read_many([p.resolve() for p in cfg.datasets], strict=cfg.strict)
    ctx.log(
        f"ingested {len(ingested.atoms)} structures from {len(cfg.datasets)} file(s), "
        f"{len(ingested.drops)} dropped as bad input"
    )
    drops_csv = ctx.out / paths.DATA_DROPS
    if cfg.datasets and not ingested.atoms and not cfg.generate_sizes:
        ingested.drops.assign(stage="ingest").to_csv(drops_csv, index=False)
        raise DataError(_all_dropped(ingested.drops, drops_csv))
    structures = list(ingested.atoms)
    failures = pd.DataFrame(columns=["index", "label", "error"])
    if cfg.generate_sizes:
        candidates = generate_candidates(
            cfg.generate_sizes,
            cfg.generation,
            stage_seed(ctx.cfg, "data"),
            reference_factory(ctx, cheap=True),
        )
        ctx.log(
            f"generated {len(candidates)} candidates for sizes {list(cfg.generate_sizes)}; "
            f"labelling with '{ctx.cfg.reference.calculator}'"
        )
        labelled = label_with_reference(ctx, candidates)
        structures += labelled.labelled
        failures = labelled.failures
        ctx.log(f"labelled {len(labelled.labelled)}, failed {len(failures)}")
    e_atom = reference_atom_energy(ctx.cfg)
    filtered = apply_paper_filters(structures, e_atom, cfg.filters)
    drops = pd.concat(
        [ingested.drops.assign(stage="ingest"), filtered.drops.assign(stage="filter")],
        ignore_index=True,
    )
    drops.to_csv(drops_csv, index=False)
    train, test, _ = split_by_size(filtered.kept, cfg.train_sizes, cfg.test_sizes)
    ctx.log(f"kept {len(filtered.kept)}: train {len(train)}, test {len(test)}")
    if not train or not test:
        raise RuntimeError(
            f"data stage produced an empty split (train {len(train)}, test "
            f"{len(test)}); check data.train_sizes/test_sizes against the data "
            f"({len(drops)} structures dropped, reasons in {drops_csv})"
        )
    write_labelled_extxyz(train, ctx.out / paths.DATA_TRAIN)
    write_labelled_extxyz(test, ctx.out / paths.DATA_TEST)
    if cfg.external_test:
        external = read_many([p.resolve() for p in cfg.external_test], strict=cfg.strict)
        write_labelled_extxyz(external.atoms, ctx.out / paths.DATA_EXTERNAL_TEST)
    failures.to_csv(ctx.out / paths.DATA_LABEL_FAILURES, index=False)
    counts = filtered.counts.copy()
    counts["split"] = counts["n_atoms"].map(
        lambda n: "train" if n in cfg.train_sizes else "test" if n in cfg.test_sizes else "unused"
    )
    counts.to_csv(ctx.out / paths.DATA_COUNTS, index=False)
    write_counts_figure(counts, ctx.out / paths.DATA_COUNTS_FIGURE)


def _all_dropped(drops: pd.DataFrame, drops_csv) -> str:
    by_count = sorted(drops["reason"].value_counts().items(), key=lambda item: (-item[1], item[0]))
    counts = ", ".join(f"{reason} {n}" for reason, n in by_count)
    return (
        f"all {len(drops)} structures of the --dataset file(s) were dropped ({counts}); "
        f"the reason for each is in {drops_csv}"
    )
