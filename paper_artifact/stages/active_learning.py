"""Stage `active_learning` (paper Figure 1a): grow the training set until GO with the GAP finds
the known global minimum (GM) of the target size.

Round r: GO (MH) with the current GAP on the target size; its lowest isomers are relaxed with
the reference, as the refine stage does. Found, the paper's criterion ("the GAP model predicted
the structure corresponding to the known GM"): the lowest of them is the reference-relaxed known
GM. Whether the MH visited the known GM relaxed with the GAP is recorded too. Found: stop. Not
found: MH with the GAP on the AL sizes, label the lowest new isomers with the reference
calculator (single points, or every geometry of a short reference relaxation from each), add
them through the paper's filters, refit (the full grid search or the selected
hyperparameters), next round. The model of the last refit is tested once more, so the verdict
is always about the final GAP; the stage writes that model either way. Each finished round is
checkpointed in the work folder, so an interrupted stage resumes per round.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from ase import Atoms
from ase.io import read, write

from .. import paths
from ..analysis.go_table import SAME_MINIMUM_FP_DISTANCE
from ..calculators.factory import make_calculator
from ..calculators.gap import SoapParams, TwoBodyParams, copy_model, load_gap, run_gap_fit
from ..calculators.relax import relax, relax_many
from ..data import REF_ENERGY_KEY
from ..data.filters import apply_paper_filters
from ..data.label import label_relaxation_paths
from ..evaluation import basin_retention, model_metrics
from ..executor import TaskError
from ..fileio import atomic_write_text, read_state_json
from ..mh.fingerprint import closest_distance, fingerprint, fingerprint_distance
from ..mh.isomers import new_isomers
from ..mh.tasks import make_tasks, merge_by_size, run_tasks
from ..runner import StageContext
from .common import (
    external_test,
    fit_settings,
    grid_search_for,
    label_with_reference,
    reference_atom_energy,
    reference_factory,
    reference_rules,
    stage_seed,
    write_evaluation,
)

ROUND_FILE = "round.json"
CRITERION = (
    "the lowest of the GAP's isomers after relaxation with the reference is the "
    "reference-relaxed known GM"
)


def run(ctx: StageContext) -> None:
    al = ctx.cfg.active_learning
    train = read(ctx.input("data", paths.DATA_TRAIN), ":")
    test = read(ctx.input("data", paths.DATA_TEST), ":")
    fit_dir = ctx.paths.stage("fit")
    if not al.target_size:
        ctx.log("disabled (active_learning.target_size is 0): the grid-search GAP is final")
        verdict = {"enabled": False, "verdict": "active learning disabled in this profile"}
        (ctx.out / paths.AL_VERDICT).write_text(json.dumps(verdict, indent=2))
        copy_model(fit_dir / paths.MODEL_DIR / paths.MODEL_XML, ctx.out / paths.MODEL_DIR)
        for name in (paths.FIT_METRICS, paths.FIT_PREDICTIONS):
            shutil.copy2(fit_dir / name, ctx.out / name)
        return
    known = reference_relaxed(ctx, [read_known_gm(ctx)], f"known GM Mg{al.target_size}")[0]
    e_atom = reference_atom_energy(ctx.cfg)
    model_xml = fit_dir / paths.MODEL_DIR / paths.MODEL_XML
    selected = json.loads((fit_dir / paths.FIT_SELECTED).read_text())
    rounds = []
    for r in range(1, al.max_rounds + 2):
        round_dir = ctx.work / f"round{r}"
        final_test = r == al.max_rounds + 1  # the last refit's model: tested, not grown
        record_file = round_dir / ROUND_FILE
        record = read_state_json(record_file)
        if record is not None:
            ctx.log(f"round {r}: resumed from checkpoint")
        else:
            record = test_target(ctx, r, round_dir, model_xml, known, len(train))
            record.update(external_metrics(ctx, model_xml, e_atom))
            if not record["found"] and not final_test:
                grown, counts = grow(ctx, r, round_dir, model_xml, train, e_atom)
                record.update(counts)
                record["next_model"] = str(refit(ctx, round_dir, grown, test, e_atom, selected))
            atomic_write_text(record_file, json.dumps(record, indent=2))
        rounds.append(record)
        if record["found"] or final_test:
            break
        train = read(round_dir / paths.AL_TRAIN, ":")
        model_xml = Path(record["next_model"])
    write_outputs(ctx, rounds, train, test, model_xml, e_atom)


def read_known_gm(ctx: StageContext) -> Atoms:
    al = ctx.cfg.active_learning
    if al.known_gm is None:
        raise RuntimeError(
            "active_learning.target_size is set but active_learning.known_gm "
            "(the target's known GM structure file) is not"
        )
    known = read(al.known_gm.resolve())
    if len(known) != al.target_size:
        raise ValueError(
            f"{al.known_gm}: known GM has {len(known)} atoms, target size is {al.target_size}"
        )
    return known


def write_outputs(
    ctx: StageContext,
    rounds: list[dict],
    train: list[Atoms],
    test: list[Atoms],
    model_xml: Path,
    e_atom: float,
) -> None:
    al = ctx.cfg.active_learning
    found = rounds[-1]["found"]
    refits = sum(record["next_model"] != record["model"] for record in rounds)
    verdict = {
        "enabled": True,
        "target_size": al.target_size,
        "found": found,
        "criterion": CRITERION,
        "known_gm_visited": rounds[-1]["known_gm_visited"],
        "rounds": len(rounds),
        "refits": refits,
        "max_rounds": al.max_rounds,
        "verdict": (
            f"known GM found by the GAP of round {len(rounds)}"
            if found
            else f"known GM NOT found by the final GAP ({refits} refits)"
        ),
    }
    ctx.log(verdict["verdict"])
    pd.DataFrame(rounds).to_csv(ctx.out / paths.AL_ROUNDS, index=False)
    (ctx.out / paths.AL_VERDICT).write_text(json.dumps(verdict, indent=2))
    write(ctx.out / paths.AL_TRAIN, train, format="extxyz")
    added = [
        a
        for r in range(1, len(rounds) + 1)
        for a in _read_if(ctx.work / f"round{r}" / paths.AL_ADDED)
    ]
    write(ctx.out / paths.AL_ADDED, added, format="extxyz")
    final_xml = copy_model(model_xml, ctx.out / paths.MODEL_DIR)
    write_evaluation(ctx, final_xml, train, test, e_atom)


def external_metrics(ctx: StageContext, model_xml: Path, e_atom: float) -> dict:
    """A round's model on the external test set (never trained on, e.g. the Gaussian Mg13
    minima), per size: RMSE(E_bond), how each refit moves the extrapolation; with
    `external_relax_lowest: N`, also the N lowest structures relaxed with the GAP: how many stay
    in their basin and the mean energy drop, whether the GAP has minima where the reference
    does (what GO needs). Empty without an external set."""
    external = external_test(ctx)
    if not external:
        return {}
    calc = load_gap(model_xml)
    metrics = model_metrics(calc, external, e_atom)[2]
    record = {
        f"external_rmse_mg{row.n_atoms}_kcal_mol_atom": row.rmse_kcal_mol_atom
        for row in metrics.itertuples()
    }
    n_lowest = ctx.cfg.active_learning.external_relax_lowest
    if not n_lowest:
        return record
    for size in sorted({len(a) for a in external}):
        same_size = [a for a in external if len(a) == size]
        lowest = sorted(same_size, key=lambda a: a.info[REF_ENERGY_KEY])[:n_lowest]
        kept, drop = basin_retention(calc, lowest, ctx.cfg.refine.fmax)
        record[f"external_relaxed_minima_mg{size}"] = len(lowest)
        record[f"external_kept_minima_mg{size}"] = kept
        record[f"external_relax_drop_mg{size}_ev"] = drop
        ctx.log(
            f"external Mg{size}: {kept} of the {len(lowest)} lowest stay in their basin when "
            f"relaxed with this GAP (mean drop {drop:.3f} eV)"
        )
    return record


def _read_if(path: Path) -> list[Atoms]:
    return read(path, ":") if path.exists() and path.stat().st_size else []


def relaxed_known_gm(known: Atoms, model_xml: Path, fmax: float) -> Atoms:
    """The known GM relaxed with the current GAP (the paper compares structures on one PES)."""
    result = relax(
        Atoms(known.numbers, positions=known.positions),
        make_calculator(f"gap:{model_xml}"),
        fmax=fmax,
        steps=2000,
    )
    return result.atoms


def reference_relaxed(ctx: StageContext, structures: list[Atoms], label: str) -> list[Atoms]:
    """Relax with the reference calculator as the refine stage does; the relaxed structures that
    converged and stayed in one piece, each with info energy, lowest first."""
    cfg = ctx.cfg
    labels = [f"{label} {i}" for i in range(len(structures))]
    results = relax_many(
        structures,
        labels,
        reference_factory(ctx),
        cfg.refine.fmax,
        cfg.refine.max_steps,
        ctx.map,
        reference_rules(cfg),
    )
    relaxed = []
    for result in results:
        if isinstance(result, TaskError) or result["fragments"] > 1:
            continue
        atoms = result["atoms"]
        atoms.info["energy"] = result["energy_ev"]
        relaxed.append(atoms)
    return sorted(relaxed, key=lambda a: a.info["energy"])


def test_target(
    ctx: StageContext,
    r: int,
    round_dir: Path,
    model_xml: Path,
    known_ref: Atoms,
    train_size: int,
) -> dict:
    """Does GO with this GAP predict the known GM of the target size (the paper's test)?

    The same test as the GO table: MH with the GAP on the target size, its lowest isomers
    (active_learning.test_lowest, by default refine.n_lowest) relaxed with the reference, and
    the lowest of them compared with the reference-relaxed known GM (same minimum: fingerprint
    distance below go_table.SAME_MINIMUM_FP_DISTANCE). Also recorded: whether the MH visited
    the known GM relaxed with the GAP.
    """
    al = ctx.cfg.active_learning
    round_dir.mkdir(parents=True, exist_ok=True)
    tasks = make_tasks(
        [al.target_size],
        al.target_starts,
        f"gap:{model_xml}",
        al.mh,
        lambda n, i: stage_seed(ctx.cfg, "al-target", r, n, i),
        round_dir / "target",
        al.target_steps,
    )
    results = run_tasks(tasks, ctx.map, ctx.log)
    isomers = merge_by_size(tasks, results, al.mh)[al.target_size]
    candidates = isomers[: ctx.cfg.al_test_lowest]
    best = reference_relaxed(ctx, candidates, f"Mg{al.target_size} GAP isomer")[0]
    distance = fingerprint_distance(fingerprint(best), fingerprint(known_ref))
    known_gap = relaxed_known_gm(known_ref, model_xml, al.mh.fmax)
    visited = bool(closest_distance(known_gap, isomers) < al.mh.fp_threshold)
    record = {
        "round": r,
        "train_size": train_size,
        "model": str(model_xml),
        "gap_gm_energy_ev": float(isomers[0].info["energy"]),
        "refined_gm_energy_ev": best.info["energy"],
        "known_gm_energy_ev": known_ref.info["energy"],
        "fingerprint_distance_to_known_gm": distance,
        "found": bool(distance < SAME_MINIMUM_FP_DISTANCE),
        "known_gm_gap_energy_ev": float(known_gap.get_potential_energy()),
        "known_gm_visited": visited,
        "test_isomers_relaxed": len(candidates),
        "mh_hops": int(sum(res.n_steps for res in results)),
        "mh_energy_force_calls": int(sum(res.n_force_calls for res in results)),
        "n_added": 0,
        "next_model": str(model_xml),
    }
    ctx.log(
        f"round {r}: train {train_size}; the {len(candidates)} lowest GAP isomers of "
        f"Mg{al.target_size} relaxed with the reference: lowest {best.info['energy']:.4f} eV vs "
        f"known GM {known_ref.info['energy']:.4f} eV, fingerprint distance {distance:.2g} -> "
        f"{'FOUND' if record['found'] else 'not found'} (known GM "
        f"{'visited' if visited else 'not visited'} by the GAP's MH)"
    )
    return record


def grow(
    ctx: StageContext,
    r: int,
    round_dir: Path,
    model_xml: Path,
    train: list[Atoms],
    e_atom: float,
) -> tuple[list[Atoms], dict]:
    """MH with the GAP on the AL sizes; their lowest new isomers, labelled with the reference
    (single points, or the paths of short reference relaxations), join the training set through
    the paper's filters (round_dir/AL_TRAIN, AL_ADDED)."""
    al = ctx.cfg.active_learning
    tasks = make_tasks(
        al.al_sizes,
        al.al_starts,
        f"gap:{model_xml}",
        al.mh,
        lambda n, i: stage_seed(ctx.cfg, "al-go", r, n, i),
        round_dir / "go",
        al.al_steps,
    )
    isomers = merge_by_size(tasks, run_tasks(tasks, ctx.map, ctx.log), al.mh)
    tolerance = ctx.cfg.data.filters.uniqueness_tol
    candidates = [
        atoms
        for n in al.al_sizes
        for atoms in new_isomers(isomers.get(n, []), train, al.new_isomers_per_size, tolerance)
    ]
    if al.reference_relax_steps:
        labelled = label_relaxation_paths(
            candidates,
            reference_factory(ctx),
            ctx.cfg.refine.fmax,
            al.reference_relax_steps,
            ctx.map,
            reference_rules(ctx.cfg),
        )
        how = (
            f" relaxed with the reference (<= {al.reference_relax_steps} steps): "
            f"{len(labelled.labelled)} path geometries,"
        )
    else:
        labelled = label_with_reference(ctx, candidates)
        how = ","
    new_train = apply_paper_filters(train + labelled.labelled, e_atom, ctx.cfg.data.filters).kept
    additions = [
        a
        for a in new_train
        if a.info.get("generator") == "active_learning" and a.info.get("al_round") is None
    ]
    for atoms in additions:
        atoms.info["al_round"] = r
    write(round_dir / paths.AL_TRAIN, new_train, format="extxyz")
    write(round_dir / paths.AL_ADDED, additions, format="extxyz")
    ctx.log(
        f"round {r}: {len(candidates)} new isomers{how} {len(labelled.failures)} failed "
        f"labelling, {len(additions)} added after filters; refit ({al.refit})"
    )
    return new_train, {"n_added": len(additions), "n_label_failures": len(labelled.failures)}


def refit(
    ctx: StageContext,
    round_dir: Path,
    train: list[Atoms],
    test: list[Atoms],
    e_atom: float,
    selected: dict,
) -> Path:
    """The GAP refitted to the round's training set: the full grid search, or the
    hyperparameters the fit stage selected."""
    if ctx.cfg.active_learning.refit == "grid":
        return grid_search_for(ctx, train, test, round_dir / "grid", e_atom).best_model_path
    soap = SoapParams(**selected["soap"])
    two_body = TwoBodyParams(**selected["two_body"]) if selected["two_body"] else None
    settings = fit_settings(ctx.cfg, e_atom)
    return run_gap_fit(train, round_dir / "refit", soap, two_body, settings).xml_path
