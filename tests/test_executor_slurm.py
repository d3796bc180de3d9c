"""The 'slurm' backend against a real single-node Slurm started on this machine (slow).

tests/slurm/start_single_node_slurm.sh starts munged, slurmctld and slurmd (loopback only, no
cgroups); the test skips, with the script's output as the reason, only when that cannot work here.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paper_artifact.executor import (
    THREAD_ENV_VARS,
    ExecutorSettings,
    SlurmSettings,
    TaskError,
    open_executor,
)

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
START = TESTS / "slurm" / "start_single_node_slurm.sh"
STOP = TESTS / "slurm" / "stop_single_node_slurm.sh"


def slurm_task(value):
    """Returns a number and the environment that proves where and how the task ran."""
    if value < 0:
        raise ValueError(f"negative value {value}")
    env = {name: os.environ.get(name) for name in (*THREAD_ENV_VARS, "SLURM_JOB_ID")}
    return value**3 - value, env


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("starting munged/slurmctld/slurmd needs root")
    state_dir = tmp_path_factory.mktemp("slurm")
    start = subprocess.run(["bash", str(START), str(state_dir)], capture_output=True, text=True,
                           timeout=600)
    if start.returncode != 0:
        subprocess.run(["bash", str(STOP), str(state_dir)], capture_output=True, timeout=60)
        pytest.skip(f"single-node slurm cannot run here:\n{start.stdout}\n{start.stderr}")
    try:
        yield state_dir
    finally:
        subprocess.run(["bash", str(STOP), str(state_dir)], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def slurm_executor(slurm_cluster, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        # sbatch/squeue/scancel find the test cluster; the job inherits PYTHONPATH (--export=ALL).
        patch.setenv("SLURM_CONF", str(slurm_cluster / "slurm.conf"))
        patch.setenv("PYTHONPATH",
                     os.pathsep.join([str(TESTS), str(REPO), os.environ.get("PYTHONPATH", "")]))
        settings = ExecutorSettings(
            backend="slurm",
            workers=2,
            omp_threads=1,
            retries=0,
            run_dir=str(tmp_path_factory.mktemp("parsl")),
            slurm=SlurmSettings(
                partition="debug",
                walltime="00:10:00",
                nodes_per_block=1,
                cores_per_node=slurm_cluster_cpus(),
                max_blocks=1,
                exclusive=False,
                interchange_address="127.0.0.1",
                worker_init=(f"export PATH={Path(sys.executable).parent}:$PATH",),
            ),
        )
        with open_executor(settings) as executor:
            wait_for_running_block()
            yield executor


def slurm_cluster_cpus():
    sinfo = subprocess.run(["sinfo", "--noheader", "--format=%c"], capture_output=True,
                           text=True, check=True, timeout=30)
    return int(sinfo.stdout.split()[0])


def wait_for_running_block(timeout_s=120):
    """Fail (rather than hang in map) when Slurm does not start the Parsl block job."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        squeue = subprocess.run(["squeue", "--noheader", "--format=%i %T"], capture_output=True,
                                text=True, timeout=30)
        if " RUNNING" in squeue.stdout:
            return
        time.sleep(1)
    jobs = subprocess.run(["scontrol", "show", "job"], capture_output=True, text=True, timeout=30)
    pytest.fail(f"the Parsl block job did not start within {timeout_s} s:\n{jobs.stdout}")


def test_slurm_map_in_input_order_inside_slurm_job(slurm_executor):
    values = [3, 1, 4, 1, 5, 9, 2, 6]
    results = slurm_executor.map(slurm_task, values, labels=[f"v{v}" for v in values])
    assert [value for value, _ in results] == [v**3 - v for v in values]
    for _, env in results:
        assert env["SLURM_JOB_ID"], "task did not run inside a Slurm job"
        assert all(env[name] == "1" for name in THREAD_ENV_VARS)


def test_slurm_failed_task_reported_in_place(slurm_executor):
    results = slurm_executor.map(slurm_task, [2, -1], labels=["ok", "bad"], on_error="return")
    assert results[0][0] == 6
    assert isinstance(results[1], TaskError) and results[1].label == "bad"
