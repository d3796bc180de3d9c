"""Stage `refine` (paper Figure 2): the N lowest unique GAP isomers of every GO size are relaxed
with the reference calculator; energies, binding energies, ranking changes and comparison with
known GMs (paper Table 1, Figure 4a,b). With refine.screen_lowest = K, reference single points of
the K lowest GAP isomers choose the N to relax (the lowest by reference energy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from ase import Atoms
from ase.io import read, write

from .. import paths
from ..analysis.go_table import go_table
from ..calculators.factory import make_calculator
from ..calculators.relax import relax_many
from ..data import REF_ENERGY_KEY
from ..executor import TaskError
from ..mh.fingerprint import fingerprint, fingerprint_distance
from ..runner import StageContext
from ..units import binding_energy_per_atom_kcal
from .common import (
    label_with_reference,
    reference_atom_energy,
    reference_factory,
    reference_rules,
)


def relax_all(ctx: StageContext, structures: list[Atoms], labels: list[str], calc_factory) -> list:
    ctx.log(f"relaxing {len(structures)} structures with the reference calculator")
    refine = ctx.cfg.refine
    return relax_many(
        structures,
        labels,
        calc_factory,
        refine.fmax,
        refine.max_steps,
        ctx.map,
        reference_rules(ctx.cfg),
    )


def screen_isomers(
    ctx: StageContext, candidates: dict[int, list[Atoms]], e_atom: float
) -> tuple[dict[int, list[tuple[int, Atoms]]], pd.DataFrame]:
    """Reference single points of every candidate (GAP order); per size the refine.n_lowest by
    reference energy are returned as (GAP rank, isomer), with the table of all single points."""
    flat = [(n, rank, atoms) for n, isomers in sorted(candidates.items())
            for rank, atoms in enumerate(isomers)]  # fmt: skip
    ctx.log(f"screening {len(flat)} GAP isomers with reference single points")
    result = label_with_reference(ctx, [atoms for _, _, atoms in flat])
    failed = dict(zip(result.failures["index"], result.failures["error"], strict=True))
    energies = iter(atoms.info[REF_ENERGY_KEY] for atoms in result.labelled)
    rows = []
    for k, (n, rank, atoms) in enumerate(flat):
        e_gap = float(atoms.get_potential_energy())
        e_ref = np.nan if k in failed else float(next(energies))
        rows.append(
            {
                "n_atoms": n,
                "isomer_rank_gap": rank,
                "e_gap_ev": e_gap,
                "e_ref_single_point_ev": e_ref,
                "e_bond_gap_kcal": binding_energy_per_atom_kcal(e_gap, n, e_atom),
                "e_bond_ref_single_point_kcal": binding_energy_per_atom_kcal(e_ref, n, e_atom),
                "error": failed.get(k, ""),
            }
        )
    table = pd.DataFrame(rows)
    table["rank_screen"] = table.groupby("n_atoms")["e_ref_single_point_ev"].rank(method="first")
    table["relaxed"] = table["rank_screen"] <= ctx.cfg.refine.n_lowest
    table["rank_screen"] = table["rank_screen"].fillna(0).astype(int) - 1  # -1: failed
    chosen: dict[int, list[tuple[int, Atoms]]] = {}
    for row in table[table["relaxed"]].sort_values(["n_atoms", "rank_screen"]).itertuples():
        n, rank = int(row.n_atoms), int(row.isomer_rank_gap)
        chosen.setdefault(n, []).append((rank, candidates[n][rank]))
    for n, group in table.groupby("n_atoms"):
        ctx.log(
            f"Mg{n}: {len(group)} screened ({(group['error'] != '').sum()} failed, reasons in "
            f"{paths.REFINE_SCREEN}); relaxing GAP ranks {[r for r, _ in chosen.get(n, [])]}, "
            "the lowest by reference single point"
        )
    return chosen, table


def refine_isomers(
    ctx: StageContext,
    lowest: dict[int, list[tuple[int, Atoms]]],
    calc_factory,
    e_atom: float,
    gap_spec: str | None,
) -> tuple[pd.DataFrame, list[Atoms], pd.DataFrame]:
    """Relax every (GAP rank, isomer); returns the table, the refined structures and the
    failures."""
    flat = [(n, rank, atoms) for n, isomers in sorted(lowest.items()) for rank, atoms in isomers]
    labels = [f"Mg{n} GAP isomer {rank}" for n, rank, _ in flat]
    results = relax_all(ctx, [a for _, _, a in flat], labels, calc_factory)
    gap = make_calculator(gap_spec) if gap_spec else None
    rows, refined, failures = [], [], []
    for (n, rank, atoms), label, result in zip(flat, labels, results, strict=True):
        if isinstance(result, TaskError):
            failures.append(
                {"n_atoms": n, "isomer_rank_gap": rank, "label": label, "reason": result.message}
            )
            continue
        if result["fragments"] > 1:
            failures.append(
                {
                    "n_atoms": n,
                    "isomer_rank_gap": rank,
                    "label": label,
                    "reason": f"fragmented into {result['fragments']} pieces",
                }
            )
            continue
        final = result["atoms"]
        e_gap = float(atoms.get_potential_energy())  # stored with the GO minimum
        row = {
            "n_atoms": n,
            "isomer_rank_gap": rank,
            "e_gap_before_ev": e_gap,
            "e_ref_ev": result["energy_ev"],
            "converged": result["converged"],
            "relax_steps": result["n_steps"],
            "e_bond_gap_kcal": binding_energy_per_atom_kcal(e_gap, n, e_atom),
            "e_bond_ref_kcal": binding_energy_per_atom_kcal(result["energy_ev"], n, e_atom),
        }
        row["e_bond_ref_total_kcal"] = row["e_bond_ref_kcal"] * n
        if gap is not None:
            probe = Atoms(final.numbers, positions=final.positions)
            probe.calc = gap
            row["e_gap_after_ev"] = float(probe.get_potential_energy())
        rows.append(row)
        final.calc = None  # the energy goes to info, written once to extxyz
        final.info.update({"n_atoms": n, "isomer_rank_gap": rank, "energy": result["energy_ev"]})
        refined.append(final)
    table = pd.DataFrame(rows)
    if not table.empty:
        table["rank_ref"] = (
            table.groupby("n_atoms")["e_ref_ev"].rank(method="first").astype(int) - 1
        )
        rank_gap = table.groupby("n_atoms")["e_gap_before_ev"].rank(method="first")
        table["rank_changed"] = table["rank_ref"] != rank_gap.astype(int) - 1
    return (
        table,
        refined,
        pd.DataFrame(failures, columns=["n_atoms", "isomer_rank_gap", "label", "reason"]),
    )


def compare_with_known(
    ctx: StageContext, refined_gm: dict[int, Atoms], calc_factory, e_atom: float
) -> tuple[pd.DataFrame, dict[int, Atoms]]:
    """Relax each known GM with the reference and compare with our refined GM (Table 1);
    returns the table and the relaxed known GMs (info energy)."""
    folder = ctx.cfg.refine.known_gm_dir
    if folder is None:
        return pd.DataFrame(), {}
    known = {
        n: read(folder.resolve() / f"Mg{n}.extxyz")
        for n in refined_gm
        if (folder.resolve() / f"Mg{n}.extxyz").exists()
    }
    if not known:
        return pd.DataFrame(), {}
    sizes = sorted(known)
    results = relax_all(
        ctx, [known[n] for n in sizes], [f"known GM Mg{n}" for n in sizes], calc_factory
    )
    rows, relaxed = [], {}
    for n, result in zip(sizes, results, strict=True):
        if isinstance(result, TaskError):
            rows.append({"n_atoms": n, "status": f"failed: {result.message}"})
            continue
        relaxed[n] = result["atoms"]
        relaxed[n].calc = None  # the energy goes to info, written once to extxyz
        relaxed[n].info["energy"] = result["energy_ev"]
        ours = refined_gm[n]
        ours_e = binding_energy_per_atom_kcal(ours.info["energy"], n, e_atom)
        known_e = binding_energy_per_atom_kcal(result["energy_ev"], n, e_atom)
        rows.append(
            {
                "n_atoms": n,
                "status": "ok",
                "ours_e_bond_total_kcal": ours_e * n,
                "known_e_bond_total_kcal": known_e * n,
                "delta_per_atom_kcal": ours_e - known_e,
                "fingerprint_distance": fingerprint_distance(
                    fingerprint(ours), fingerprint(result["atoms"])
                ),
            }
        )
    return pd.DataFrame(rows), relaxed


def run(ctx: StageContext) -> None:
    cfg = ctx.cfg
    e_atom = reference_atom_energy(cfg)
    sizes = cfg.refine.sizes or cfg.go.sizes
    if cfg.refine.screen_lowest:
        candidates = {
            n: read(ctx.input("go", paths.go_unique(n)), f":{cfg.refine.screen_lowest}")
            for n in sizes
        }
        lowest, screened = screen_isomers(ctx, candidates, e_atom)
        screened.to_csv(ctx.out / paths.REFINE_SCREEN, index=False)
    else:
        lowest = {
            n: list(enumerate(read(ctx.input("go", paths.go_lowest(n)), f":{cfg.refine.n_lowest}")))
            for n in sizes
        }
    factory = reference_factory(ctx)
    table, refined, failures = refine_isomers(
        ctx, lowest, factory, e_atom, f"gap:{ctx.paths.final_model}"
    )
    if table.empty:
        raise RuntimeError("refine: every isomer failed; see the log for the reasons")
    table.to_csv(ctx.out / paths.REFINE_TABLE, index=False)
    failures.to_csv(ctx.out / paths.REFINE_FAILURES, index=False)
    write(ctx.out / paths.REFINE_STRUCTURES, refined, format="extxyz")
    gm = {}
    for atoms in refined:
        n = atoms.info["n_atoms"]
        if n not in gm or atoms.info["energy"] < gm[n].info["energy"]:
            gm[n] = atoms
    write(ctx.out / paths.REFINE_GM, [gm[n] for n in sorted(gm)], format="extxyz")
    known_table, known = compare_with_known(ctx, gm, factory, e_atom)
    known_table.to_csv(ctx.out / paths.REFINE_KNOWN, index=False)
    write(ctx.out / paths.REFINE_KNOWN_GM, [known[n] for n in sorted(known)], format="extxyz")
    gap_gm = {len(a): a for a in read(ctx.input("go", paths.GO_GM), ":")}
    summary = go_table(
        pd.read_csv(ctx.input("go", paths.GO_SUMMARY)),
        pd.read_csv(ctx.input("go", paths.GO_HESSIAN_CHECK)),
        gap_gm,
        gm,
        known,
    )
    summary.to_csv(ctx.out / paths.GO_TABLE, index=False)
    ctx.log("GO table:\n" + summary.to_string(index=False))
    spread = table.groupby("n_atoms")["e_bond_ref_kcal"].agg(lambda s: float(np.ptp(s)))
    ctx.log(
        f"refined {len(table)} isomers ({len(failures)} failed); spread of E_bond per size "
        f"(kcal/mol/atom): {spread.round(3).to_dict()}"
    )
