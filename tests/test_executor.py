"""Executor layer: ordering, retries, failure reporting, thread pinning, cluster config files.

The Parsl tests share one local executor (2 workers) per module: HTEX start-up takes seconds.
"""

import math
import os
import time
from pathlib import Path

import numpy as np
import parsl
import pytest
from parsl.errors import NoDataFlowKernelError

from paper_artifact.executor import (
    THREAD_ENV_VARS,
    ExecutorSettings,
    SlurmSettings,
    TaskError,
    TaskFailed,
    load_cluster_config,
    open_executor,
)

REPO = Path(__file__).resolve().parents[1]
CLUSTER_CONFIGS = REPO / "configs" / "clusters"


# Task functions: top level, so that Parsl workers can import them.
def numeric_task(item):
    """Sleep (to scramble the completion order), record the finish time, return a number."""
    index, value, sleep_s, out_dir = item
    time.sleep(sleep_s)
    Path(out_dir, f"done_{index}").write_text(str(time.monotonic_ns()))
    return value**2 + math.sqrt(value)


def fail_once(marker):
    """Fails on the first call (creating the marker file), succeeds afterwards."""
    marker = Path(marker)
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError(f"first attempt fails ({marker.name})")
    return "ok on retry"


def always_fails(value):
    raise ValueError(f"bad value {value}")


def fail_if_negative(value):
    if value < 0:
        raise ValueError(f"negative value {value}")
    return 2 * value


def thread_settings(_):
    from threadpoolctl import threadpool_info

    # numpy's OpenBLAS; quippy and pyscf bundle single-threaded OpenBLAS builds (always 1)
    blas_threads = sorted(
        {
            info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas" and "numpy" in info["filepath"]
        }
    )
    return {name: os.environ.get(name) for name in THREAD_ENV_VARS}, blas_threads


def numeric_items(out_dir, n=8, seed=11):
    """Item 0 sleeps longest, so with 2 workers it cannot finish first."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, n]))
    sleeps = [0.5, *rng.uniform(0.02, 0.1, size=n - 1)]
    return [(i, float(i + 1), s, str(out_dir)) for i, s in enumerate(sleeps)]


def completion_order(out_dir, n):
    finish = {i: int(Path(out_dir, f"done_{i}").read_text()) for i in range(n)}
    return sorted(finish, key=finish.get)


# ---------------------------------------------------------------- serial backend
def test_serial_results_in_input_order(tmp_path):
    items = numeric_items(tmp_path, n=4, seed=3)
    items = [(i, v, 0.0, d) for i, v, _, d in items]
    with open_executor(ExecutorSettings()) as executor:
        results = executor.map(numeric_task, items)
    assert results == [v**2 + math.sqrt(v) for v in (1.0, 2.0, 3.0, 4.0)]


def test_progress_bar_counts_finished_tasks(tmp_path, capsys):
    items = numeric_items(tmp_path, n=3, seed=3)
    with open_executor(ExecutorSettings()) as executor:
        executor.map(numeric_task, items, desc="labelling")
    err = capsys.readouterr().err
    assert "labelling: 100%" in err and "3/3" in err


def test_serial_retry_then_success(tmp_path):
    settings = ExecutorSettings(retries=1)
    with open_executor(settings) as executor:
        assert executor.map(fail_once, [str(tmp_path / "marker")]) == ["ok on retry"]


def test_serial_without_retry_fails(tmp_path):
    with open_executor(ExecutorSettings(retries=0)) as executor:
        with pytest.raises(TaskFailed, match="Mg13_seed4"):
            executor.map(fail_once, [str(tmp_path / "marker")], labels=["Mg13_seed4"])


def test_serial_always_failing_task_names_label():
    with open_executor(ExecutorSettings(retries=2)) as executor:
        with pytest.raises(TaskFailed) as info:
            executor.map(fail_if_negative, [1, -5, -6], labels=["a", "b", "c"])
    assert info.value.label == "b"
    assert info.value.error.attempts == 3
    assert info.value.n_failed == 2
    assert "ValueError: negative value -5" in str(info.value)


def test_serial_on_error_return_keeps_slot():
    with open_executor(ExecutorSettings()) as executor:
        results = executor.map(fail_if_negative, [3, -1, 4], on_error="return")
    assert results[0] == 6 and results[2] == 8
    assert isinstance(results[1], TaskError)
    error = results[1]
    assert (error.label, error.index, error.error_type) == ("task-1", 1, "ValueError")


def test_serial_pins_threads_and_restores_environment(monkeypatch):
    for name in THREAD_ENV_VARS:
        monkeypatch.setenv(name, "5")
    with open_executor(ExecutorSettings(omp_threads=3)) as executor:
        [(env, blas_threads)] = executor.map(thread_settings, [None])
    assert env == dict.fromkeys(THREAD_ENV_VARS, "3")
    assert blas_threads == [3]  # numpy's OpenBLAS, limited through threadpoolctl
    assert all(os.environ[name] == "5" for name in THREAD_ENV_VARS)


def test_unpicklable_function_rejected():
    with open_executor(ExecutorSettings()) as executor:
        with pytest.raises(TypeError, match="not picklable"):
            executor.map(lambda x: x, [1])


def test_label_count_must_match():
    with open_executor(ExecutorSettings()) as executor:
        with pytest.raises(ValueError, match="2 labels for 1 items"):
            executor.map(abs, [1], labels=["a", "b"])


# ---------------------------------------------------------------- settings and YAML
def test_settings_validation():
    with pytest.raises(ValueError, match="backend"):
        ExecutorSettings(backend="dask")
    with pytest.raises(ValueError, match="cores_per_node"):
        ExecutorSettings(
            backend="slurm", workers=8, omp_threads=2, slurm=SlurmSettings(cores_per_node=8)
        )


def test_shipped_cluster_configs_load():
    local = load_cluster_config(CLUSTER_CONFIGS / "local.yaml")
    assert (local.backend, local.workers, local.omp_threads) == ("local", 2, 1)
    slurm = load_cluster_config(CLUSTER_CONFIGS / "slurm_example.yaml")
    assert slurm.backend == "slurm"
    assert slurm.slurm.cores_per_node == 32
    assert slurm.slurm.worker_init[0] == "module load python/3.11"
    assert slurm.slurm.interchange_address is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("backend: local\nworker: 2\n", "unknown key 'worker'"),
        ("backend: slurm\nslurm:\n  queue: debug\n", "unknown key 'slurm.queue'"),
        ("backend: local\nworkers: two\n", "'workers' must be an integer"),
        ("backend: cloud\n", "'backend' must be one of"),
        ("backend: slurm\nslurm:\n  max_blocks: 0\n", "max_blocks must be >= 1"),
    ],
)
def test_bad_cluster_config_names_file_and_key(tmp_path, text, message):
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_cluster_config(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- local Parsl backend
@pytest.fixture(scope="module")
def local_executor(tmp_path_factory):
    """One 2-worker Parsl executor; the parent's thread variables are set to 5 to see pinning."""
    test_dirs = [str(Path(__file__).resolve().parent), str(REPO)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join([*test_dirs, os.environ.get("PYTHONPATH", "")]))
        patch.syspath_prepend(test_dirs[0])
        for name in THREAD_ENV_VARS:
            patch.setenv(name, "5")
        settings = ExecutorSettings(
            backend="local",
            workers=2,
            omp_threads=1,
            retries=1,
            run_dir=str(tmp_path_factory.mktemp("parsl")),
        )
        with open_executor(settings) as executor:
            executor.map(abs, [0, 0])  # wait for the workers to start
            yield executor


def test_local_matches_serial_in_input_order(local_executor, tmp_path):
    local_dir, serial_dir = tmp_path / "local", tmp_path / "serial"
    local_dir.mkdir()
    serial_dir.mkdir()
    local = local_executor.map(numeric_task, numeric_items(local_dir))
    with open_executor(ExecutorSettings()) as serial_executor:
        serial = serial_executor.map(numeric_task, numeric_items(serial_dir))
    assert local == serial == [v**2 + math.sqrt(v) for v in np.arange(1.0, 9.0)]
    assert completion_order(serial_dir, 8) == list(range(8))
    assert completion_order(local_dir, 8) != list(range(8))


def test_local_retry_then_success(local_executor, tmp_path):
    marker = tmp_path / "marker"
    assert local_executor.map(fail_once, [str(marker)]) == ["ok on retry"]
    assert marker.exists()


def test_local_always_failing_task_raises_with_label(local_executor):
    with pytest.raises(TaskFailed, match=r"'Mg7_start1' failed after 2 attempt\(s\)") as info:
        local_executor.map(always_fails, [1, 2], labels=["Mg7_start1", "Mg7_start2"])
    assert "ValueError: bad value 1" in str(info.value)


def test_local_on_error_return(local_executor):
    results = local_executor.map(
        fail_if_negative, [2, -3, 5], labels=["x", "y", "z"], on_error="return"
    )
    assert results[0] == 4 and results[2] == 10
    assert isinstance(results[1], TaskError)
    assert results[1].label == "y" and results[1].attempts == 2
    assert "negative value -3" in results[1].message


def test_local_pins_threads_in_worker(local_executor):
    results = local_executor.map(thread_settings, [0, 1])
    for env, blas_threads in results:
        assert env == dict.fromkeys(THREAD_ENV_VARS, "1")
        assert blas_threads == [1]


def test_executors_open_sequentially(local_executor, tmp_path):
    """Closing unloads Parsl, so another executor can be opened in the same process."""
    local_executor.close()
    local_executor.close()  # idempotent
    settings = ExecutorSettings(backend="local", workers=1, run_dir=str(tmp_path / "parsl"))
    with open_executor(settings) as executor:
        assert executor.map(abs, [-3, 4, -5]) == [3, 4, 5]
    with pytest.raises(NoDataFlowKernelError):
        parsl.dfk()


KILLED_RUN = """
from test_executor import write_pid_and_sleep
from paper_artifact.executor import ExecutorSettings, open_executor
settings = ExecutorSettings(backend="local", workers=1, run_dir={run_dir!r})
with open_executor(settings) as executor:
    list(executor.map(write_pid_and_sleep, [{pid_file!r}]))
"""


def write_pid_and_sleep(pid_file):
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(600)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.slow
def test_parsl_processes_die_with_a_killed_run(tmp_path):
    import signal
    import subprocess
    import sys

    pid_file = tmp_path / "worker.pid"
    script = KILLED_RUN.format(run_dir=str(tmp_path / "parsl"), pid_file=str(pid_file))
    tests = str(Path(__file__).parent)
    path = os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))
    run = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": path})
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline and run.poll() is None, "the task never started"
        time.sleep(0.2)
    survivors = [*_children(run.pid), int(pid_file.read_text())]
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 120  # heartbeat_threshold 60 s plus slack on a busy machine
    while not all(_gone(pid) for pid in survivors):
        if time.monotonic() > deadline:
            for pid in survivors:
                if not _gone(pid):
                    os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"processes outlived the killed run: {survivors}")
        time.sleep(1)
