"""Minima-hopping runs and Hessian checks as picklable tasks for an executor's map.

One task = one MH run from one start; tasks are independent, so any map (serial, local workers,
Slurm) runs them, and each checkpoints into its own work folder (an interrupted run resumes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ase import Atoms
from ase.calculators.calculator import Calculator

from ..calculators.factory import calculator_id, make_calculator
from ..mh.isomers import distinct_random_starts, unique_isomers
from ..mh.minima_hopping import MHParams, MHResult, certify_minima, run_minima_hopping


@dataclass(frozen=True)
class MHTask:
    n_atoms: int
    start_index: int
    start: Atoms
    calc_spec: str
    params: MHParams
    seed: int
    workdir: str
    max_steps: int
    max_wall_seconds: float | None = None

    @property
    def label(self) -> str:
        return f"MH Mg{self.n_atoms} start {self.start_index}"


def run_mh_task(task: MHTask) -> MHResult:
    return run_mh_task_with(task, make_calculator(task.calc_spec), calculator_id(task.calc_spec))


def run_mh_task_with(task: MHTask, calc: Calculator, calc_id: str) -> MHResult:
    """The task with a calculator built by the caller (a model no spec names, e.g. a sum)."""
    return run_minima_hopping(
        task.start.copy(),
        calc,
        task.params,
        task.seed,
        Path(task.workdir),
        task.max_steps,
        max_wall_seconds=task.max_wall_seconds,
        calculator_id=calc_id,
    )


def make_tasks(
    sizes: Sequence[int],
    n_starts: int,
    calc_spec: str,
    params: MHParams,
    seed_of: Callable[..., int],
    workdir: Path,
    max_steps: int,
    max_wall_seconds: float | None = None,
) -> list[MHTask]:
    """n_starts random starts per size, pairwise > 5 % different (paper criterion)."""
    tasks = []
    for n in sizes:
        starts = distinct_random_starts(n, n_starts, seed_of(n, 0))
        for i, start in enumerate(starts):
            tasks.append(
                MHTask(
                    n,
                    i,
                    start,
                    calc_spec,
                    params,
                    seed_of(n, i + 1),
                    str(workdir / f"Mg{n}" / f"start{i}"),
                    max_steps,
                    max_wall_seconds,
                )
            )
    return tasks


@dataclass(frozen=True)
class CertifyTask:
    """Hessian check of the lowest `count` isomers of one size (mh.certify_minima)."""

    n_atoms: int
    isomers: list[Atoms]
    calc_spec: str
    params: MHParams
    count: int


def run_certify_task(task: CertifyTask) -> tuple[list[Atoms], int, int]:
    return certify_minima(task.isomers, make_calculator(task.calc_spec), task.params, task.count)


def run_tasks(tasks: list[MHTask], map_fn: Callable, log: Callable[[str], None]) -> list[MHResult]:
    log(f"{len(tasks)} minima-hopping runs: " + ", ".join(t.label for t in tasks))
    tasks = [replace(t, params=replace(t.params, certify_lowest=0)) for t in tasks]
    results = map_fn(run_mh_task, tasks, labels=[t.label for t in tasks])
    for task, result in zip(tasks, results, strict=True):
        log(
            f"{task.label}: {result.n_steps} hops, {len(result.minima)} minima, best "
            f"{result.best_energy:.4f} eV ({result.stop_reason}, "
            f"{result.n_force_calls} energy+force calls, {result.wall_seconds:.0f} s)"
        )
    return results


def merge_by_size(
    tasks: list[MHTask], results: list[MHResult], params: MHParams
) -> dict[int, list[Atoms]]:
    """Unique isomers per size over every start, lowest energy first."""
    merged: dict[int, list[Atoms]] = {}
    for task, result in zip(tasks, results, strict=True):
        for minimum in result.minima:
            minimum.info["start"] = task.start_index
        merged.setdefault(task.n_atoms, []).extend(result.minima)
    return {
        n: unique_isomers(minima, params.fp_threshold, params.energy_tol)
        for n, minima in sorted(merged.items())
    }
