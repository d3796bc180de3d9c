"""Stage `figures`: the paper's Figures 3-7, Tables 1-2 and GM pictures from the stage outputs.
Each figure module computes a DataFrame (saved as CSV) and draws it (PNG and PDF)."""

from __future__ import annotations

import pandas as pd
from ase import Atoms
from ase.io import read

from .. import paths
from ..analysis.go_table import LOWER_BY
from ..analysis.pointgroup import PointGroupParams
from ..figures import (
    common,
    fig3_accuracy,
    fig4_refinement,
    fig5_com_profiles,
    fig6_binding_energy,
    fig7_lattice_motifs,
    structure_pictures,
)
from ..runner import StageContext
from ..tables import table1_refined_gm, table2_go_gm
from ..units import EV_TO_KCAL_MOL, binding_energy_per_atom_kcal
from .common import reference_atom_energy


def read_all(path) -> list[Atoms]:
    """Every frame of an extxyz file; none for an empty one."""
    return read(path, ":") if path.stat().st_size else []


def by_size(structures: list[Atoms]) -> dict[int, Atoms]:
    out = {}
    for atoms in structures:
        atoms.info["energy_ev"] = float(atoms.get_potential_energy())
        out[len(atoms)] = atoms
    return out


def binding_energies(
    refined: pd.DataFrame,
    gap_gms: dict[int, Atoms],
    e_atom: float,
    known: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Figure 6 input: reference E_bond of the refined isomers and of the known GMs relaxed with
    the reference (kind 'known_gm'; known: n_atoms, e_bond_kcal), GAP E_bond of the GAP GMs.
    Per refined size the lowest of them is kind 'gm', the paper's GM "of this and previous
    studies": ours unless the known GM is lower by more than LOWER_BY."""
    known_by_size = (
        {} if known is None else dict(zip(known.n_atoms, known.e_bond_kcal, strict=True))
    )
    rows = []
    for n, group in refined.groupby("n_atoms"):
        best = group["e_bond_ref_kcal"].idxmin()
        known_e = known_by_size.get(n)
        known_wins = known_e is not None and known_e < group["e_bond_ref_kcal"].min() - (
            LOWER_BY * EV_TO_KCAL_MOL / n
        )
        for index, value in group["e_bond_ref_kcal"].items():
            kind = "gm" if index == best and not known_wins else "isomer"
            rows.append({"n_atoms": n, "source": "reference", "kind": kind, "e_bond_kcal": value})
        if known_e is not None:
            kind = "gm" if known_wins else "known_gm"
            rows.append({"n_atoms": n, "source": "reference", "kind": kind, "e_bond_kcal": known_e})
    for n, atoms in gap_gms.items():
        rows.append(
            {
                "n_atoms": n,
                "source": "gap",
                "kind": "gm",
                "e_bond_kcal": binding_energy_per_atom_kcal(atoms.info["energy_ev"], n, e_atom),
            }
        )
    return pd.DataFrame(rows)


def lowest_gms(
    refined: dict[int, Atoms], known: dict[int, Atoms], gap: dict[int, Atoms]
) -> tuple[dict[int, Atoms], dict[int, str]]:
    """The GM of every GO size as the paper's Figures 5 and 7 take it, and where it comes from:
    for a refined size ours or, if lower by more than LOWER_BY, the known GM (both relaxed with
    the reference); for the other sizes the GAP GM (paper Table 2)."""
    gms, sources = dict(gap), dict.fromkeys(gap, "GAP GM, not refined")
    for n, atoms in refined.items():
        if n in known and known[n].info["energy_ev"] < atoms.info["energy_ev"] - LOWER_BY:
            gms[n], sources[n] = known[n], "known GM, reference-relaxed"
        else:
            gms[n], sources[n] = atoms, "ours, reference-relaxed"
    return gms, sources


def titled(fig, cfg):
    """Name the reference method on every figure: Gupta-labelled runs are not DFT."""
    name = {"gupta": "Gupta Mg potential", "dft": "BP86/6-31G(d) (PySCF)"}[cfg.reference.calculator]
    line = f"{cfg.profile} profile; reference: {name}"
    own = fig.get_suptitle()  # a figure's own title (Figure 7: the lattice threshold) stays
    fig.suptitle(f"{line}\n{own}" if own else line, fontsize=9, y=1.0)
    return fig


def run(ctx: StageContext) -> None:
    cfg = ctx.cfg
    e_atom = reference_atom_energy(cfg)
    metrics = pd.read_csv(ctx.input("active_learning", paths.FIT_METRICS))
    predictions = pd.read_csv(ctx.input("active_learning", paths.FIT_PREDICTIONS))
    df = fig3_accuracy.compute(
        metrics, predictions, fig3_accuracy.Fig3Params(cfg.analysis.regression_sizes)
    )
    common.write(df, titled(fig3_accuracy.plot(df), cfg), ctx.out, paths.FIG3)

    refined = pd.read_csv(ctx.input("refine", paths.REFINE_TABLE))
    runs = pd.read_csv(ctx.input("go", paths.GO_SUMMARY))
    known = (
        pd.read_csv(ctx.input("refine", paths.REFINE_KNOWN))
        if ctx.input("refine", paths.REFINE_KNOWN).stat().st_size > 1
        else pd.DataFrame()
    )
    known_ok = known[known["status"] == "ok"] if len(known) else known
    known_fig = None
    if len(known_ok):
        known_fig = pd.DataFrame(
            {
                "n_atoms": known_ok["n_atoms"],
                "source": "relaxed with the reference",
                "e_bond_kcal": known_ok["known_e_bond_total_kcal"] / known_ok["n_atoms"],
            }
        )
    df = fig4_refinement.compute(
        refined, runs, known_fig, fig4_refinement.Fig4Params(cfg.analysis.refinement_plot_sizes)
    )
    common.write(df, titled(fig4_refinement.plot(df), cfg), ctx.out, paths.FIG4)

    refined_gms = by_size(read(ctx.input("refine", paths.REFINE_GM), ":"))
    known_gms = by_size(read_all(ctx.input("refine", paths.REFINE_KNOWN_GM)))
    gap_gms = by_size(read(ctx.input("go", paths.GO_GM), ":"))
    gms, sources = lowest_gms(refined_gms, known_gms, gap_gms)
    df = fig5_com_profiles.compute(gms, cfg.analysis.core)
    df["gm_source"] = df["n_atoms"].map(sources)
    common.write(df, titled(fig5_com_profiles.plot(df), cfg), ctx.out, paths.FIG5)

    known_e = None if known_fig is None else known_fig[["n_atoms", "e_bond_kcal"]]
    df = fig6_binding_energy.compute(binding_energies(refined, gap_gms, e_atom, known_e))
    common.write(df, titled(fig6_binding_energy.plot(df), cfg), ctx.out, paths.FIG6)

    df = fig7_lattice_motifs.compute(gms, cfg.analysis.motifs)
    df["gm_source"] = df["n_atoms"].map(sources)
    common.write(df, titled(fig7_lattice_motifs.plot(df), cfg), ctx.out, paths.FIG7)
    ctx.log(f"lattice separation threshold (paper: 0.01): {df['separation_threshold'].iloc[0]:.4f}")

    table_params = table1_refined_gm.TableParams(e_atom_ev=e_atom)
    known_table = None
    if len(known_ok):
        known_table = pd.DataFrame(
            {
                "n_atoms": known_ok["n_atoms"],
                "source": "relaxed with the reference",
                "e_bond_total_kcal": known_ok["known_e_bond_total_kcal"],
            }
        )
    symmetry = PointGroupParams(tolerance=cfg.analysis.pointgroup_tolerance)
    table = table1_refined_gm.compute(
        refined_gms, known_table, table_params, cfg.analysis.core, symmetry
    )
    common.write_table(table, ctx.out, paths.TABLE1)
    table = table2_go_gm.compute(gap_gms, table_params, cfg.analysis.core, symmetry)
    common.write_table(table, ctx.out, paths.TABLE2)
    structure_pictures.render_all(gms, ctx.out / "structures", core=cfg.analysis.core)
