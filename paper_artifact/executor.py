"""One executor layer for independent tasks (DFT single points, gap_fit grid points, MH starts...).

Backends:
  * ``serial`` - in-process loop (default; used by the fast tests);
  * ``local``  - Parsl HighThroughputExecutor with a LocalProvider (workers on this machine);
  * ``slurm``  - Parsl HighThroughputExecutor with a SlurmProvider and SrunLauncher.

``Executor.map(fn, items)`` returns results in input order, pins the BLAS/OpenMP thread count of
each task, retries failing tasks and reports the ones that still fail by label. ``fn`` and the items
must be picklable and ``fn`` importable by the workers (a top-level function of an importable
module; use ``functools.partial`` of such a function to bind extra arguments).
"""

from __future__ import annotations

import logging
import os
import pickle
import shlex
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from tqdm import tqdm

from .configtree import build

logger = logging.getLogger(__name__)

BACKENDS = ("serial", "local", "slurm")
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
LOOPBACK_ADDRESS = "127.0.0.1"
_WORKER_POOL_MODULE = "parsl.executors.high_throughput.process_worker_pool"
_INTERCHANGE_MODULE = "parsl.executors.high_throughput.interchange"


@dataclass(frozen=True)
class SlurmSettings:
    """Slurm block request used by the ``slurm`` backend (one block = one ``sbatch`` job)."""

    partition: str | None = None
    account: str | None = None
    walltime: str = "01:00:00"
    nodes_per_block: int = 1
    cores_per_node: int | None = None
    max_blocks: int = 1
    worker_init: tuple[str, ...] = ()
    scheduler_options: tuple[str, ...] = ()
    exclusive: bool = True
    interchange_address: str | None = None

    def __post_init__(self) -> None:
        if self.nodes_per_block < 1:
            raise ValueError(f"slurm.nodes_per_block must be >= 1, got {self.nodes_per_block}")
        if self.max_blocks < 1:
            raise ValueError(f"slurm.max_blocks must be >= 1, got {self.max_blocks}")
        if self.cores_per_node is not None and self.cores_per_node < 1:
            raise ValueError(f"slurm.cores_per_node must be >= 1, got {self.cores_per_node}")


@dataclass(frozen=True)
class ExecutorSettings:
    """How independent tasks are run.

    ``workers`` is the number of worker processes (per node for ``slurm``); each task gets
    ``omp_threads`` BLAS/OpenMP threads, so a node runs min(workers, cores // omp_threads) tasks at
    once. A failing task is tried ``retries`` more times. Parsl logs go under ``run_dir``.
    """

    backend: Literal["serial", "local", "slurm"] = "serial"
    workers: int = 1
    omp_threads: int = 1
    retries: int = 0
    run_dir: str = "runinfo/parsl"
    slurm: SlurmSettings = field(default_factory=SlurmSettings)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.omp_threads < 1:
            raise ValueError(f"omp_threads must be >= 1, got {self.omp_threads}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        cores = self.slurm.cores_per_node
        slurm_backend = self.backend == "slurm"
        if slurm_backend and cores is not None and self.workers * self.omp_threads > cores:
            raise ValueError(
                f"workers ({self.workers}) x omp_threads ({self.omp_threads}) exceeds "
                f"slurm.cores_per_node ({cores})"
            )


@dataclass(frozen=True)
class TaskError:
    """A task that failed on every attempt (returned in its slot with ``on_error='return'``)."""

    label: str
    index: int
    error_type: str
    message: str
    traceback: str
    attempts: int

    def __str__(self) -> str:
        return (
            f"task {self.label!r} failed after {self.attempts} attempt(s): "
            f"{self.error_type}: {self.message}"
        )


class TaskFailed(RuntimeError):
    """Raised by ``Executor.map(..., on_error='raise')``; names the first failed task."""

    def __init__(self, error: TaskError, n_failed: int = 1):
        self.error = error
        self.label = error.label
        self.n_failed = n_failed
        others = f" ({n_failed - 1} other task(s) also failed)" if n_failed > 1 else ""
        super().__init__(f"{error}{others}")


@contextmanager
def pinned_threads(omp_threads: int) -> Iterator[None]:
    """Set the thread-count environment variables (and threadpoolctl limits) for one task."""
    saved = {name: os.environ.get(name) for name in THREAD_ENV_VARS}
    os.environ.update({name: str(omp_threads) for name in THREAD_ENV_VARS})
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            yield
        else:
            with threadpool_limits(limits=omp_threads):
                yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_pinned(fn: Callable[[Any], Any], item: Any, omp_threads: int) -> Any:
    """Worker-side entry point: call ``fn(item)`` with the thread count pinned."""
    with pinned_threads(omp_threads):
        return fn(item)


def _task_error(exc: BaseException, label: str, index: int, attempts: int) -> TaskError:
    return TaskError(
        label=label,
        index=index,
        error_type=type(exc).__name__,
        message=str(exc),
        traceback="".join(traceback.format_exception(exc)),
        attempts=attempts,
    )


def _check_picklable(fn: Callable, items: Sequence[Any], labels: Sequence[str]) -> None:
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"task function {fn!r} is not picklable; use a top-level function of an importable "
            f"module (functools.partial to bind arguments): {exc}"
        ) from exc
    for item, label in zip(items, labels, strict=True):
        try:
            pickle.dumps(item)
        except Exception as exc:
            raise TypeError(f"argument of task {label!r} is not picklable: {exc}") from exc


def _thread_exports(omp_threads: int) -> list[str]:
    return [f"export {name}={omp_threads}" for name in THREAD_ENV_VARS]


def _parsl_config(settings: ExecutorSettings, run_dir: Path):
    from parsl.config import Config
    from parsl.executors import HighThroughputExecutor
    from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD
    from parsl.launchers import SrunLauncher
    from parsl.providers import LocalProvider, SlurmProvider

    exports = _thread_exports(settings.omp_threads)
    if settings.backend == "local":
        provider = LocalProvider(
            init_blocks=1, min_blocks=1, max_blocks=1, worker_init="\n".join(exports)
        )
        address = LOOPBACK_ADDRESS
        # Workers run with this interpreter, so the venv need not be on PATH.
        launch_cmd = DEFAULT_LAUNCH_CMD.replace(
            "process_worker_pool.py", f"{shlex.quote(sys.executable)} -m {_WORKER_POOL_MODULE}", 1
        )
    else:
        slurm = settings.slurm
        provider = SlurmProvider(
            partition=slurm.partition,
            account=slurm.account,
            walltime=slurm.walltime,
            nodes_per_block=slurm.nodes_per_block,
            cores_per_node=slurm.cores_per_node,
            init_blocks=1,
            min_blocks=0,
            max_blocks=slurm.max_blocks,
            scheduler_options="\n".join(slurm.scheduler_options),
            worker_init="\n".join([*slurm.worker_init, *exports]),
            exclusive=slurm.exclusive,
            launcher=SrunLauncher(),
        )
        address = slurm.interchange_address
        launch_cmd = None  # process_worker_pool.py from the environment set up by worker_init
    htex = HighThroughputExecutor(
        label=f"htex_{settings.backend}",
        provider=provider,
        address=address,
        launch_cmd=launch_cmd,
        # The interchange dies with the run; its workers stop heartbeat_threshold s later.
        interchange_launch_cmd=[
            sys.executable,
            "-m",
            "paper_artifact.processes",
            "-m",
            _INTERCHANGE_MODULE,
        ],
        heartbeat_period=10,
        heartbeat_threshold=60,
        max_workers_per_node=settings.workers,
        cores_per_worker=settings.omp_threads,
    )
    # The first block is started on the first strategy tick: tick fast locally, gently on Slurm.
    strategy_period = 1 if settings.backend == "local" else 5
    return Config(
        executors=[htex],
        retries=settings.retries,
        run_dir=str(run_dir),
        strategy_period=strategy_period,
        usage_tracking=0,
    )


class Executor:
    """Runs ``fn`` over items with one of the backends; use via ``open_executor``."""

    def __init__(self, settings: ExecutorSettings):
        self.settings = settings
        self._dfk = None
        self._app = None
        if settings.backend != "serial":
            import parsl
            from parsl import python_app

            run_dir = Path(settings.run_dir).resolve()
            run_dir.mkdir(parents=True, exist_ok=True)
            self._dfk = parsl.load(_parsl_config(settings, run_dir))
            self._app = python_app(run_pinned, data_flow_kernel=self._dfk)

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop the Parsl workers (blocks) and unload the Parsl config; safe to call twice."""
        if self._dfk is None:
            return
        import parsl
        from parsl.dataflow.dflow import DataFlowKernelLoader

        dfk, self._dfk, self._app = self._dfk, None, None
        dfk.cleanup()
        if DataFlowKernelLoader._dfk is dfk:
            parsl.clear()

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        labels: Sequence[str] | None = None,
        on_error: Literal["raise", "return"] = "raise",
        desc: str = "tasks",
    ) -> list[Any]:
        """``[fn(item) for item in items]`` run as independent tasks, results in input order.

        A progress bar named ``desc`` (stderr) counts finished tasks. With ``on_error='raise'``
        all tasks run to completion, then ``TaskFailed`` names the first failed task (in input
        order); with ``on_error='return'`` a failed slot holds a ``TaskError``.
        """
        if on_error not in ("raise", "return"):
            raise ValueError(f"on_error must be 'raise' or 'return', got {on_error!r}")
        items = list(items)
        labels = [f"task-{i}" for i in range(len(items))] if labels is None else list(labels)
        if len(labels) != len(items):
            raise ValueError(f"got {len(labels)} labels for {len(items)} items")
        _check_picklable(fn, items, labels)
        with tqdm(
            total=len(items), desc=desc, file=sys.stderr, mininterval=5.0, disable=len(items) < 2
        ) as bar:
            if self.settings.backend == "serial":
                results = self._map_serial(fn, items, labels, bar)
            else:
                results = self._map_parsl(fn, items, labels, bar)
        failures = [r for r in results if isinstance(r, TaskError)]
        if failures and on_error == "raise":
            raise TaskFailed(failures[0], n_failed=len(failures))
        return results

    def _map_serial(self, fn, items, labels, bar) -> list[Any]:
        results = []
        attempts = self.settings.retries + 1
        for index, (item, label) in enumerate(zip(items, labels, strict=True)):
            for attempt in range(1, attempts + 1):
                try:
                    results.append(run_pinned(fn, item, self.settings.omp_threads))
                    break
                except Exception as exc:
                    logger.warning(
                        "task %r attempt %d/%d failed: %r", label, attempt, attempts, exc
                    )
                    if attempt == attempts:
                        results.append(_task_error(exc, label, index, attempts))
            bar.update()
        return results

    def _map_parsl(self, fn, items, labels, bar) -> list[Any]:
        if self._app is None:
            raise RuntimeError("executor is closed")
        omp_threads = self.settings.omp_threads
        futures = {self._app(fn, item, omp_threads): index for index, item in enumerate(items)}
        results: list[Any] = [None] * len(items)
        for future in as_completed(futures):
            bar.update()
            index = futures[future]
            exc = future.exception()
            if exc is None:
                results[index] = future.result()
                continue
            attempts = future.task_record.get("fail_count", self.settings.retries + 1)
            results[index] = _task_error(exc, labels[index], index, attempts)
            logger.warning("%s", results[index])
        return results


def open_executor(settings: ExecutorSettings | None = None) -> Executor:
    """Start an executor (Parsl workers for 'local'/'slurm'); close it or use it in a ``with``."""
    return Executor(settings or ExecutorSettings())


def load_cluster_config(path: str | os.PathLike) -> ExecutorSettings:
    """Read ``ExecutorSettings`` from a YAML file such as ``configs/clusters/local.yaml``."""
    path = Path(path)
    return build(ExecutorSettings, yaml.safe_load(path.read_text()) or {}, str(path))
