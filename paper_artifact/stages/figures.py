"""Stage `figures`: the paper's Figures 3-7, Tables 1-2 and GM pictures from the stage outputs.
Each figure module computes a DataFrame (saved as CSV) and draws it (PNG and PDF)."""

from __future__ import annotations

import pandas as pd
from ase import Atoms
from ase.io import read

from .. import paths
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
from .common import reference_atom_energy


def by_size(structures: list[Atoms]) -> dict[int, Atoms]:
    out = {}
    for atoms in structures:
        atoms.info["energy_ev"] = float(atoms.get_potential_energy())
        out[len(atoms)] = atoms
    return out


def binding_energies(
    refined: pd.DataFrame, gap_gms: dict[int, Atoms], e_atom: float
) -> pd.DataFrame:
    """Figure 6 input: reference E_bond of refined GMs and isomers, GAP E_bond of GAP GMs."""
    from ..units import binding_energy_per_atom_kcal

    rows = []
    for n, group in refined.groupby("n_atoms"):
        best = group["e_bond_ref_kcal"].idxmin()
        for index, value in group["e_bond_ref_kcal"].items():
            rows.append(
                {
                    "n_atoms": n,
                    "source": "reference",
                    "kind": "gm" if index == best else "isomer",
                    "e_bond_kcal": value,
                }
            )
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


def titled(fig, cfg):
    """Name the reference method on every figure: Gupta-labelled runs are not DFT."""
    name = {"gupta": "Gupta Mg potential", "dft": "BP86/6-31G(d) (PySCF)"}[cfg.reference.calculator]
    fig.suptitle(f"{cfg.profile} profile; reference: {name}", fontsize=9, y=1.0)
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
    gap_gms = by_size(read(ctx.input("go", paths.GO_GM), ":"))
    df = fig5_com_profiles.compute(refined_gms, cfg.analysis.core)
    common.write(df, titled(fig5_com_profiles.plot(df), cfg), ctx.out, paths.FIG5)

    df = fig6_binding_energy.compute(binding_energies(refined, gap_gms, e_atom))
    common.write(df, titled(fig6_binding_energy.plot(df), cfg), ctx.out, paths.FIG6)

    df = fig7_lattice_motifs.compute(refined_gms, cfg.analysis.motifs)
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
    structure_pictures.render_all(refined_gms, ctx.out / "structures", core=cfg.analysis.core)
