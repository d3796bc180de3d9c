"""Speed-up of the 'local' executor backend with 1 vs 2 workers on CPU-bound tasks.

Task kinds, each pinned to OMP_NUM_THREADS=1 by the executor:
  numpy  - repeated eigendecompositions of random symmetric matrices (calibrated to --task-seconds);
  pyscf  - a PySCF Kohn-Sham single point of a random Mg_n cluster with the project's DFT settings
           (BP86/6-31G(d), as the reference-labelling stage runs it).

Usage (from the repository root):
  python -m benchmarks.bench_executor --task numpy --n-tasks 8 --workers 1 2 --out bench.json

Reports, per worker count, the wall time of the map (executor start-up excluded by a warm-up map),
the mean wall and CPU time inside a task (CPU < wall means the task waited for a core), and
the speed-up median wall(1 worker) / median wall(N workers); repeat counts (--workers 1 2 1 2) to
interleave the measurements. The load average of the
machine before and after is recorded, since other processes compete for the cores.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def numpy_task(item: tuple[int, int, int]) -> tuple[float, float, float]:
    """(seed, matrix size, repeats) -> (sum of lowest eigenvalues, wall s, CPU s)."""
    seed, size, repeats = item
    start, cpu_start = time.perf_counter(), time.process_time()
    rng = np.random.default_rng(np.random.SeedSequence([seed, size]))
    total = 0.0
    for _ in range(repeats):
        matrix = rng.standard_normal((size, size))
        total += float(np.linalg.eigvalsh(matrix + matrix.T)[0])
    return total, time.perf_counter() - start, time.process_time() - cpu_start


def pyscf_task(item: tuple[int, int]) -> tuple[float, float, float]:
    """(seed, n_atoms) -> (BP86/6-31G(d) energy of a random Mg cluster [Ha], wall s, CPU s)."""
    from paper_artifact.calculators.dft import DFTSettings, build_molecule, run_scf
    from paper_artifact.structures import random_cluster

    seed, n_atoms = item
    start, cpu_start = time.perf_counter(), time.process_time()
    atoms = random_cluster(n_atoms, np.random.default_rng(np.random.SeedSequence([seed, n_atoms])))
    settings = DFTSettings()
    mf, _ = run_scf(build_molecule(atoms, settings), settings, label=f"Mg{n_atoms}_seed{seed}")
    return float(mf.e_tot), time.perf_counter() - start, time.process_time() - cpu_start


def calibrate_numpy(size: int, task_seconds: float) -> int:
    """Repeats of one eigendecomposition that take about task_seconds of CPU on one thread."""
    from paper_artifact.executor import pinned_threads

    with pinned_threads(1):
        numpy_task((0, size, 1))  # warm-up
        per_repeat = numpy_task((0, size, 3))[2] / 3
    return max(1, round(task_seconds / per_repeat))


def run(task: str, n_tasks: int, worker_counts: list[int], task_seconds: float, size: int,
        n_atoms: int, run_dir: Path) -> dict:
    from paper_artifact.executor import ExecutorSettings, open_executor

    # Workers import the task functions from this file as a module, not as __main__.
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    tasks_module = importlib.import_module("benchmarks.bench_executor")
    if task == "numpy":
        repeats = calibrate_numpy(size, task_seconds)
        fn, items = tasks_module.numpy_task, [(seed, size, repeats) for seed in range(n_tasks)]
        details = {"matrix_size": size, "repeats": repeats}
    else:
        fn, items = tasks_module.pyscf_task, [(seed, n_atoms) for seed in range(n_tasks)]
        details = {"n_atoms": n_atoms}

    report = {"task": task, "n_tasks": n_tasks, "cpu_count": os.cpu_count(), **details,
              "load_average_before": os.getloadavg(), "runs": []}
    reference = None
    for workers in worker_counts:
        settings = ExecutorSettings(backend="local", workers=workers, omp_threads=1,
                                    run_dir=str(run_dir / f"workers{workers}"))
        with open_executor(settings) as executor:
            executor.map(abs, list(range(workers)))  # start-up excluded from the timing
            start = time.perf_counter()
            results = executor.map(fn, items)
            wall = time.perf_counter() - start
        values = [value for value, _, _ in results]
        if reference is None:
            reference = values
        if not np.allclose(values, reference, rtol=0, atol=1e-8):
            raise RuntimeError(f"results with {workers} workers differ from the first run")
        task_wall = [seconds for _, seconds, _ in results]
        task_cpu = [seconds for _, _, seconds in results]
        report["runs"].append({"workers": workers, "wall_s": wall,
                               "task_wall_mean_s": float(np.mean(task_wall)),
                               "task_cpu_mean_s": float(np.mean(task_cpu)),
                               "overhead_s": wall - sum(task_wall) / workers})
        print(f"{task}: {workers} worker(s): wall {wall:.2f} s, task wall {np.mean(task_wall):.2f}"
              f" s, task CPU {np.mean(task_cpu):.2f} s", flush=True)
    walls: dict[int, list[float]] = {}
    for entry in report["runs"]:
        walls.setdefault(entry["workers"], []).append(entry["wall_s"])
    base = float(np.median(walls[worker_counts[0]]))
    report["speedup_vs_first_count"] = {
        str(workers): base / float(np.median(values)) for workers, values in walls.items()
    }
    report["load_average_after"] = os.getloadavg()
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["numpy", "pyscf"], default="numpy")
    parser.add_argument("--n-tasks", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--task-seconds", type=float, default=2.5, help="numpy task length")
    parser.add_argument("--matrix-size", type=int, default=300)
    parser.add_argument("--n-atoms", type=int, default=3, help="cluster size of the pyscf task")
    parser.add_argument("--run-dir", type=Path, default=Path("runinfo/bench_executor"))
    parser.add_argument("--out", type=Path, help="write the report as JSON")
    args = parser.parse_args(argv)
    report = run(args.task, args.n_tasks, args.workers, args.task_seconds, args.matrix_size,
                 args.n_atoms, args.run_dir)
    for workers, speedup in report["speedup_vs_first_count"].items():
        print(f"workers={workers}: speed-up {speedup:.2f}x (median wall of repeated counts)")
    print(f"load average before {report['load_average_before']}, "
          f"after {report['load_average_after']}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
