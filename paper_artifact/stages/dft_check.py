"""Stage `dft_check`: the real BP86/6-31G(d) step with PySCF, whatever the reference calculator:
E(Mg1) against the paper's Gaussian value, single points of Gaussian Mg13 minima, and DFT
relaxation of the lowest GAP isomers of one small size."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
from ase import Atoms
from ase.io import read, write

from .. import paths
from ..calculators.factory import calculator_factory
from ..executor import TaskError
from ..runner import StageContext
from ..units import E_MG1_PAPER_EV, E_MG1_PAPER_HARTREE, HARTREE_EV
from .common import executor_for
from .refine import e_bond_kcal, relax_all


def lowest_distinct(frames: list[Atoms], count: int) -> list[Atoms]:
    """The `count` lowest distinct minima, using the file's `unique_minimum_rank` grouping."""
    best: dict[int, Atoms] = {}
    for atoms in frames:
        rank = int(atoms.info["unique_minimum_rank"])
        if rank not in best or atoms.info["energy_hartree"] < best[rank].info["energy_hartree"]:
            best[rank] = atoms
    return [best[r] for r in sorted(best)[:count]]


def single_point(task: tuple[Atoms, object]) -> float:
    atoms, factory = task
    probe = Atoms(atoms.numbers, positions=atoms.positions, info={"label": atoms.info["label"]})
    probe.calc = factory()
    return float(probe.get_potential_energy())


def run(ctx: StageContext) -> None:
    check = ctx.cfg.dft_check
    if not check.enabled:
        (ctx.out / paths.DFT_ATOM).write_text(
            json.dumps(
                {
                    "enabled": False,
                    "reason": f"dft_check.enabled is false in profile {ctx.cfg.profile}",
                },
                indent=2,
            )
        )
        ctx.log("disabled in this profile")
        return
    from ..calculators.dft import PySCFDFT

    # The Gaussian comparison needs exact J even when a profile labels with density fitting.
    settings = dataclasses.replace(ctx.cfg.reference.dft, density_fit=False)
    cache = ctx.paths.cache_db if ctx.cfg.reference.use_cache else None
    factory = calculator_factory("dft", settings, cache)
    e_atom = PySCFDFT(settings=settings).isolated_atom_energy()
    atom = {
        "enabled": True,
        "e_mg1_hartree": e_atom / HARTREE_EV,
        "paper_e_mg1_hartree": E_MG1_PAPER_HARTREE,
        "difference_micro_hartree": (e_atom - E_MG1_PAPER_EV) / HARTREE_EV * 1e6,
        "xc": settings.xc,
        "basis": settings.basis,
        "cartesian": settings.cartesian,
    }
    ctx.log(
        f"E(Mg1) = {atom['e_mg1_hartree']:.7f} Ha, paper {E_MG1_PAPER_HARTREE} Ha, "
        f"difference {atom['difference_micro_hartree']:.1f} micro-Ha"
    )
    (ctx.out / paths.DFT_ATOM).write_text(json.dumps(atom, indent=2))

    if check.mg13_minima is not None and check.mg13_count:
        minima = lowest_distinct(read(check.mg13_minima.resolve(), ":"), check.mg13_count)
        ctx.log(f"single points of {len(minima)} Gaussian Mg13 minima")
        with executor_for(ctx) as executor:
            energies = executor.map(
                single_point,
                [(m, factory) for m in minima],
                labels=[m.info["label"] for m in minima],
                on_error="return",
                desc="Mg13 single points",
            )
        rows = []
        for atoms, energy in zip(minima, energies, strict=True):
            gaussian = atoms.info["energy_hartree"] * HARTREE_EV
            row = {
                "label": atoms.info["label"],
                "unique_minimum_rank": atoms.info["unique_minimum_rank"],
                "e_bond_gaussian_kcal": e_bond_kcal(gaussian, 13, E_MG1_PAPER_EV),
            }
            if isinstance(energy, TaskError):
                row["status"] = f"failed: {energy.message}"
            else:
                row.update(
                    {
                        "status": "ok",
                        "e_pyscf_ev": energy,
                        "e_bond_pyscf_kcal": e_bond_kcal(energy, 13, e_atom),
                    }
                )
                row["error_kcal_mol_atom"] = row["e_bond_pyscf_kcal"] - row["e_bond_gaussian_kcal"]
            rows.append(row)
        table = pd.DataFrame(rows)
        table.to_csv(ctx.out / paths.DFT_MG13, index=False)
        ok = table[table.status == "ok"]
        if len(ok):
            ctx.log(
                f"Mg13 E_bond vs Gaussian: MAE {ok.error_kcal_mol_atom.abs().mean():.4f}, max "
                f"{ok.error_kcal_mol_atom.abs().max():.4f} kcal/mol/atom over {len(ok)}"
            )

    if check.refine_size:
        n = check.refine_size
        isomers = read(ctx.input("go", paths.go_lowest(n)), f":{check.refine_count}")
        labels = [f"Mg{n} GAP isomer {i} (DFT)" for i in range(len(isomers))]
        relax_settings = dataclasses.replace(settings, density_fit=check.relax_density_fit)
        relax_factory = calculator_factory("dft", relax_settings, cache)
        relax_atom = PySCFDFT(settings=relax_settings).isolated_atom_energy()
        results = relax_all(ctx, isomers, labels, relax_factory, check.fmax, check.max_steps)
        rows, structures = [], []
        for rank, result in enumerate(results):
            if isinstance(result, TaskError):
                rows.append(
                    {"n_atoms": n, "isomer_rank_gap": rank, "status": f"failed: {result.message}"}
                )
                continue
            rows.append(
                {
                    "n_atoms": n,
                    "isomer_rank_gap": rank,
                    "status": "ok",
                    "converged": result["converged"],
                    "relax_steps": result["n_steps"],
                    "e_dft_ev": result["energy_ev"],
                    "e_bond_dft_kcal": e_bond_kcal(result["energy_ev"], n, relax_atom),
                }
            )
            structures.append(result["atoms"])
        table = pd.DataFrame(rows)
        if "e_dft_ev" in table:
            table["rank_dft"] = table["e_dft_ev"].rank(method="first") - 1
        table.to_csv(ctx.out / paths.DFT_REFINED, index=False)
        write(ctx.out / paths.DFT_REFINED_STRUCTURES, structures, format="extxyz")
        ctx.log(
            f"DFT-relaxed {len(structures)} of {len(isomers)} Mg{n} isomers; E_bond spread "
            f"{np.ptp(table.get('e_bond_dft_kcal', pd.Series([0.0]))):.3f} kcal/mol/atom"
        )
