import json
import os
import subprocess
import sys
import textwrap

import pytest

from paper_artifact.config import load_config
from paper_artifact.paths import RunPaths
from paper_artifact.runner import Runner, Stage, hash_tree

CALLS = []


def stage_a(ctx):
    CALLS.append("a")
    (ctx.out / "a.txt").write_text(f"seed={ctx.cfg.seed}\n")


def stage_b(ctx):
    CALLS.append("b")
    text = ctx.input("a", "a.txt").read_text()
    (ctx.out / "b.txt").write_text(text.upper())


STAGES = [
    Stage("a", "first stage", stage_a, ("data",)),
    Stage("b", "second stage", stage_b, ("reference",), needs=("a",)),
]


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("seed: 7\ndata:\n  train_sizes: [13]\n")
    return load_config(path)


@pytest.fixture(autouse=True)
def clear_calls():
    CALLS.clear()


def test_runs_in_order_then_skips(cfg, tmp_path):
    run_dir = tmp_path / "run"
    first = Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    assert first.executed == ["a", "b"]
    assert (run_dir / "b" / "b.txt").read_text() == "SEED=7\n"
    second = Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    assert second.skipped == ["a", "b"] and CALLS == ["a", "b"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 7 and set(manifest["stages"]) == {"a", "b"}
    assert manifest["config_hash"] == cfg.hash()
    assert all("numpy" in entry["packages"] for entry in manifest["stages"].values())


def test_reused_stages_keep_the_numerics_they_ran_with(cfg, tmp_path, monkeypatch):
    """A rerun under other BLAS kernels must not relabel the stages it only reuses (the check
    compares trajectory-dependent outputs only when the numerics match)."""
    import paper_artifact.runner as runner_module

    def kernels(name):
        monkeypatch.setattr(
            runner_module, "effective_numerics", lambda: {"openblas_kernels": [name]}
        )

    def recorded():
        stages = json.loads((run_dir / "manifest.json").read_text())["stages"]
        return {name: entry["numerics"]["openblas_kernels"] for name, entry in stages.items()}

    run_dir = tmp_path / "run"
    kernels("Prescott")
    Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    kernels("Haswell")
    assert Runner(cfg, STAGES, run_dir, log=lambda m: None).run().executed == []
    assert recorded() == {"a": ["Prescott"], "b": ["Prescott"]}
    Runner(cfg, STAGES, run_dir, log=lambda m: None).run(only=["b"], force=True)
    assert recorded() == {"a": ["Prescott"], "b": ["Haswell"]}


def test_config_change_reruns_dependent_stage(cfg, tmp_path):
    run_dir = tmp_path / "run"
    Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    changed = load_config(tmp_path / "tiny.yaml", {"seed": 8})
    record = Runner(changed, STAGES, run_dir, log=lambda m: None).run()
    assert record.executed == ["a", "b"]  # seed is in every key; b's input changed too
    assert (run_dir / "b" / "b.txt").read_text() == "SEED=8\n"


def test_section_change_reruns_only_that_stage(cfg, tmp_path):
    run_dir = tmp_path / "run"
    Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    changed = load_config(tmp_path / "tiny.yaml", {"reference": {"use_cache": False}})
    record = Runner(changed, STAGES, run_dir, log=lambda m: None).run()
    assert record.executed == ["b"] and record.skipped == ["a"]


def test_force_and_from(cfg, tmp_path):
    run_dir = tmp_path / "run"
    Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    assert Runner(cfg, STAGES, run_dir, log=lambda m: None).run(
        only=["b"], force=True
    ).executed == ["b"]
    assert Runner(cfg, STAGES, run_dir, log=lambda m: None).run(start="a").executed == ["a", "b"]
    with pytest.raises(ValueError, match="unknown stage 'c'"):
        Runner(cfg, STAGES, run_dir).run(only=["c"])


def test_missing_upstream_stage_is_a_clear_error(cfg, tmp_path):
    with pytest.raises(RuntimeError, match="needs stage\\(s\\) a"):
        Runner(cfg, STAGES, tmp_path / "run", log=lambda m: None).run(only=["b"])


def test_tampered_output_is_redone(cfg, tmp_path):
    run_dir = tmp_path / "run"
    Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    (run_dir / "a" / "a.txt").write_text("garbage")
    record = Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    # a is redone; its regenerated output equals the original, so b's inputs did not change
    assert record.executed == ["a"] and record.skipped == ["b"]
    assert (run_dir / "a" / "a.txt").read_text() == "seed=7\n"


def test_failed_stage_leaves_previous_outputs_untouched(cfg, tmp_path):
    run_dir = tmp_path / "run"
    Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    before = hash_tree(run_dir / "a")

    def broken(ctx):
        (ctx.out / "a.txt").write_text("half")
        raise RuntimeError("boom")

    bad = [Stage("a", "first", broken, ("data",)), STAGES[1]]
    with pytest.raises(RuntimeError, match="boom"):
        Runner(cfg, bad, run_dir, log=lambda m: None).run(force=True)
    assert hash_tree(run_dir / "a") == before


KILLER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from paper_artifact.config import load_config
    from paper_artifact.runner import Runner, Stage
    import test_runner as t

    def dies(ctx):
        (ctx.out / "b.txt").write_text("half-written")
        os.kill(os.getpid(), signal.SIGKILL)

    cfg = load_config({cfg!r})
    Runner(cfg, [t.STAGES[0], Stage("b", "second", dies, ("reference",), needs=("a",))],
           {run!r}).run()
""")


def test_kill_9_mid_stage_resumes_without_half_outputs(cfg, tmp_path):
    run_dir = tmp_path / "run"
    script = KILLER.format(
        tests=str(__import__("pathlib").Path(__file__).parent),
        cfg=str(tmp_path / "tiny.yaml"),
        run=str(run_dir),
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    assert (run_dir / "a" / "a.txt").exists()
    assert not (run_dir / "b").exists()  # the half-written output never reached its final place
    record = Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    assert record.skipped == ["a"] and record.executed == ["b"]
    assert (run_dir / "b" / "b.txt").read_text() == "SEED=7\n"


def test_changed_input_file_content_reruns_stage(tmp_path):
    data_file = tmp_path / "in.extxyz"
    data_file.write_text("first")
    path = tmp_path / "cfg.yaml"
    path.write_text(f"seed: 1\ndata:\n  external_test: [{data_file}]\n")
    run_dir = tmp_path / "run"
    Runner(load_config(path), STAGES, run_dir, log=lambda m: None).run()
    data_file.write_text("second")
    record = Runner(load_config(path), STAGES, run_dir, log=lambda m: None).run()
    assert "a" in record.executed  # stage a reads section 'data', which names the file


def test_resource_settings_do_not_invalidate_results(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("seed: 1\n")
    run_dir = tmp_path / "run"
    Runner(load_config(path), STAGES, run_dir, log=lambda m: None).run()
    faster = load_config(path, {"reference": {"dft": {"threads": 8, "max_memory_mb": 9000}}})
    assert Runner(faster, STAGES, run_dir, log=lambda m: None).run().executed == []
    changed = load_config(path, {"reference": {"dft": {"conv_tol": 1e-7}}})
    assert Runner(changed, STAGES, run_dir, log=lambda m: None).run().executed == ["b"]


def test_checkpoints_are_scoped_to_the_stage_key(tmp_path):
    seen = []

    def remembers(ctx):
        seen.append(sorted(p.name for p in ctx.work.iterdir()))
        (ctx.work / f"checkpoint-seed{ctx.cfg.seed}").write_text("x")
        (ctx.out / "a.txt").write_text("ok")

    stages = [Stage("a", "first", remembers, ("data",))]
    path = tmp_path / "cfg.yaml"
    path.write_text("seed: 1\n")
    Runner(load_config(path), stages, tmp_path / "run", log=lambda m: None).run()
    Runner(load_config(path, {"seed": 2}), stages, tmp_path / "run", log=lambda m: None).run()
    Runner(load_config(path), stages, tmp_path / "run", log=lambda m: None).run(force=True)
    assert seen == [[], [], ["checkpoint-seed1"]]


def test_second_run_into_a_busy_folder_is_refused(cfg, tmp_path):
    from paper_artifact.fileio import FolderInUseError, folder_lock

    run_dir = tmp_path / "run"
    with folder_lock(run_dir):
        with pytest.raises(FolderInUseError, match=rf"{run_dir} is in use by pid \d+"):
            Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    assert CALLS == [] and not (run_dir / "a").exists()
    assert Runner(cfg, STAGES, run_dir, log=lambda m: None).run().executed == ["a", "b"]


def test_lock_of_a_killed_run_does_not_block(cfg, tmp_path):
    run_dir = tmp_path / "run"
    holder = (
        "import os; from paper_artifact.fileio import folder_lock\n"
        f"with folder_lock({str(run_dir)!r}): os.kill(os.getpid(), 9)"
    )
    assert subprocess.run([sys.executable, "-c", holder]).returncode == -9
    assert Runner(cfg, STAGES, run_dir, log=lambda m: None).run().executed == ["a", "b"]


def test_damaged_marker_and_manifest_are_named_and_redone(cfg, tmp_path, capsys):
    run_dir = tmp_path / "run"
    Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    marker = RunPaths(run_dir).marker("b")
    marker.write_text("{not json")
    (run_dir / "manifest.json").write_bytes(b"\x00\x01")
    record = Runner(cfg, STAGES, run_dir, log=lambda m: None).run()
    err = capsys.readouterr().err
    assert f"{marker} is damaged" in err and "manifest.json is damaged" in err
    assert record.skipped == ["a"] and record.executed == ["b"]
    assert json.loads((run_dir / "manifest.json").read_text())["seed"] == 7


SEEN_THREADS = []


def stage_reads_threads(ctx):
    from threadpoolctl import threadpool_info

    blas = [lib["num_threads"] for lib in threadpool_info() if lib["internal_api"] == "openblas"]
    SEEN_THREADS.append((os.environ.get("OPENBLAS_NUM_THREADS"), blas))


def test_stage_work_outside_map_runs_with_the_task_thread_count(tmp_path):
    import numpy  # noqa: F401 - loads numpy's OpenBLAS before the stage runs

    path = tmp_path / "threads.yaml"
    path.write_text("seed: 1\nexecutor:\n  omp_threads: 1\n")
    stages = [Stage("t", "reads its thread pools", stage_reads_threads, ("executor",))]
    Runner(load_config(path), stages, tmp_path / "run", log=lambda m: None).run()
    env_value, blas_threads = SEEN_THREADS[-1]
    assert env_value == "1" and blas_threads and set(blas_threads) == {1}


def test_active_learning_is_stale_when_its_reference_test_settings_change(tmp_path):
    from paper_artifact.config import load_profile
    from paper_artifact.runner import stage_key
    from paper_artifact.stages import STAGES as PIPELINE

    stage = next(s for s in PIPELINE if s.name == "active_learning")
    paths = RunPaths(tmp_path / "run")
    key = stage_key(stage, load_profile("smoke"), paths)
    for change in ({"n_lowest": 4}, {"fmax": 0.01}):
        assert stage_key(stage, load_profile("smoke", {"refine": change}), paths) != key
