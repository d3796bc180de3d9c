"""Stage `go`: minima hopping with the final GAP on every size of the profile (paper section
"Global Optimization"), unique isomers by overlap-matrix fingerprints, the N lowest exported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from ase.io import write

from .. import paths
from ..config import Config
from ..mh.tasks import (
    CertifyTask,
    MHTask,
    make_tasks,
    merge_by_size,
    run_certify_task,
    run_tasks,
)
from ..runner import StageContext
from .common import stage_seed


def go_tasks(cfg: Config, sizes: Sequence[int], calc_spec: str, workdir: Path) -> list[MHTask]:
    """The GO stage's minima-hopping runs of `sizes`: its starts, seeds and limits."""
    go = cfg.go
    return make_tasks(
        sizes,
        go.n_starts,
        calc_spec,
        go.mh,
        lambda n, i: stage_seed(cfg, "go", n, i),
        workdir,
        go.max_steps,
        go.max_wall_seconds,
    )


def run(ctx: StageContext) -> None:
    go = ctx.cfg.go
    model = ctx.input("active_learning", f"{paths.MODEL_DIR}/{paths.MODEL_XML}")
    tasks = go_tasks(ctx.cfg, go.sizes, f"gap:{model}", ctx.work)
    results = run_tasks(tasks, ctx.map, ctx.log)
    isomers = merge_by_size(tasks, results, go.mh)
    checks = [
        CertifyTask(n, unique, f"gap:{model}", go.mh, go.n_lowest) for n, unique in isomers.items()
    ]
    ctx.log(f"Hessian check of the {go.n_lowest} lowest isomers of each size")
    certified = ctx.map(
        run_certify_task, checks, labels=[f"Mg{c.n_atoms} Hessian check" for c in checks]
    )
    runs = pd.DataFrame(
        [
            {
                "n_atoms": t.n_atoms,
                "start": t.start_index,
                "n_steps": r.n_steps,
                "n_minima": len(r.minima),
                "best_energy_ev": r.best_energy,
                "stop_reason": r.stop_reason,
                "n_force_calls": r.n_force_calls,
                "n_accepted": r.n_accepted,
                "n_rejected": r.n_rejected,
                "n_same": r.n_same,
                "n_fragmented": r.n_fragmented,
                "wall_seconds": r.wall_seconds,
            }
            for t, r in zip(tasks, results, strict=True)
        ]
    )
    runs.to_csv(ctx.out / paths.GO_SUMMARY, index=False)
    checked = pd.DataFrame(
        [
            {"n_atoms": c.n_atoms, "n_checked": min(c.count, len(c.isomers)), "n_saddles": saddles,
             "energy_force_calls": calls}
            for c, (_, saddles, calls) in zip(checks, certified, strict=True)
        ]
    )  # fmt: skip
    checked.to_csv(ctx.out / paths.GO_HESSIAN_CHECK, index=False)
    rows, global_minima = [], []
    for check, (unique, _, _) in zip(checks, certified, strict=True):
        n = check.n_atoms
        all_minima = [
            m for t, r in zip(tasks, results, strict=True) if t.n_atoms == n for m in r.minima
        ]
        write(ctx.out / paths.go_all_minima(n), all_minima, format="extxyz")
        write(ctx.out / paths.go_unique(n), unique, format="extxyz")
        write(ctx.out / paths.go_lowest(n), unique[: go.n_lowest], format="extxyz")
        global_minima.append(unique[0])
        for rank, atoms in enumerate(unique[: go.n_lowest]):
            rows.append(
                {
                    "n_atoms": n,
                    "rank": rank,
                    "energy_ev": atoms.info["energy"],
                    "start": atoms.info.get("start", -1),
                }
            )
        ctx.log(
            f"Mg{n}: {len(all_minima)} minima, {len(unique)} unique isomers, GAP GM "
            f"{unique[0].info['energy']:.4f} eV"
        )
    pd.DataFrame(rows).to_csv(ctx.out / paths.GO_ISOMERS, index=False)
    write(ctx.out / paths.GO_GM, global_minima, format="extxyz")
