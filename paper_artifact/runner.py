"""Stage runner: ordered stages, atomic outputs, hash markers, resume, run manifest.

A stage writes into a staging folder; on success the folder is renamed into place (atomic on one
filesystem) and a marker with the hash of the stage's config sections and input files is written.
A rerun skips a stage whose marker matches and whose outputs exist. A run killed mid-stage leaves
only its staging folder, which the next run deletes; checkpoints a stage wants to keep across
interruptions go to its persistent work folder (`RunPaths.work`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import Config
from .configtree import PROJECT_ROOT, RESOURCE_FIELDS, InputPath, to_plain, without_resources
from .executor import Executor, open_executor, pinned_threads
from .fileio import atomic_write_text, folder_lock, read_state_json
from .numerics import effective_numerics
from .paths import RunPaths

TRACKED_PACKAGES = (
    "ase",
    "quippy-ase",
    "dscribe",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "pyscf",
    "pyyaml",
    "tqdm",
    "pymatgen",
    "parsl",
)


@dataclass
class StageContext:
    """What a stage function gets: config, where to write, where earlier stages' outputs are,
    and `map`, the stage's one executor (opened at its first use, closed by the runner)."""

    name: str
    cfg: Config
    paths: RunPaths
    out: Path
    work: Path
    log: Callable[[str], None]
    _executor: Executor | None = field(default=None, repr=False)

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        labels: Sequence[str] | None = None,
        on_error: str = "raise",
        desc: str = "tasks",
    ) -> list[Any]:
        """executor.Executor.map with the profile's executor; results in input order."""
        if self._executor is None:
            settings = self.cfg.executor
            if not Path(settings.run_dir).is_absolute():  # a relative Parsl run_dir: in the run
                run_dir = str(self.paths.root / settings.run_dir)
                settings = dataclasses.replace(settings, run_dir=run_dir)
            self._executor = open_executor(settings)
        return self._executor.map(fn, items, labels=labels, on_error=on_error, desc=desc)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def input(self, stage: str, filename: str) -> Path:
        path = self.paths.stage(stage) / filename
        if not path.exists():
            raise FileNotFoundError(
                f"stage '{self.name}' needs {path}, an output of stage '{stage}': "
                "run that stage first"
            )
        return path


@dataclass(frozen=True)
class Stage:
    name: str
    description: str
    run: Callable[[StageContext], None]
    config_sections: tuple[str, ...]
    needs: tuple[str, ...] = ()


@dataclass
class RunRecord:
    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def hash_tree(path: Path) -> str:
    """sha256 over relative names and contents of every file under path (sorted)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else file.name).encode())
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def input_files(obj) -> list[InputPath]:
    """Every InputPath in a config subtree but resource fields (their contents are part of a
    stage's key)."""
    if isinstance(obj, InputPath):
        return [obj]
    if dataclasses.is_dataclass(obj):
        return [
            p
            for f in dataclasses.fields(obj)
            if f.name not in RESOURCE_FIELDS
            for p in input_files(getattr(obj, f.name))
        ]
    if isinstance(obj, tuple | list):
        return [p for item in obj for p in input_files(item)]
    return []


def stage_key(stage: Stage, cfg: Config, paths: RunPaths) -> str:
    sections = {
        name: without_resources(to_plain(getattr(cfg, name))) for name in stage.config_sections
    }
    sections["seed"] = cfg.seed
    inputs = {name: hash_tree(paths.stage(name)) for name in stage.needs}
    for name in stage.config_sections:
        for path in input_files(getattr(cfg, name)):
            inputs[str(path)] = hash_tree(path.resolve())
    blob = json.dumps({"config": sections, "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("PAPER_ARTIFACT_GIT_COMMIT", "unknown")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


ENVIRONMENT_KEYS = ("git_commit", "packages", "numerics", "host")


def execution_environment() -> dict[str, Any]:
    """What a stage ran with: code, package versions, floating-point code paths, machine."""
    return {
        "git_commit": git_commit(),
        "packages": package_versions(),
        "numerics": effective_numerics(),
        "host": {
            "hostname": socket.gethostname(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }


class Runner:
    def __init__(
        self,
        cfg: Config,
        stages: Iterable[Stage],
        run_dir: Path,
        log: Callable[[str], None] | None = None,
    ):
        self.cfg = cfg
        self.stages = list(stages)
        self.paths = RunPaths(Path(run_dir))
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))

    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def select(self, only: Iterable[str] = (), start: str | None = None) -> list[Stage]:
        names = self.stage_names()
        for name in [*only, *([start] if start else [])]:
            if name not in names:
                raise ValueError(f"unknown stage '{name}' (stages: {', '.join(names)})")
        if only:
            return [s for s in self.stages if s.name in set(only)]
        if start:
            return self.stages[names.index(start) :]
        return list(self.stages)

    def is_current(self, stage: Stage) -> bool:
        marker = self.paths.marker(stage.name)
        if not marker.exists() or not self.paths.stage(stage.name).is_dir():
            return False
        recorded = read_state_json(marker)
        if recorded is None:
            return False
        return recorded.get("key") == stage_key(stage, self.cfg, self.paths) and recorded.get(
            "output_hash"
        ) == hash_tree(self.paths.stage(stage.name))

    def run(
        self, only: Iterable[str] = (), start: str | None = None, force: bool = False
    ) -> RunRecord:
        with folder_lock(self.paths.root):
            return self._run(only, start, force)

    def _run(self, only: Iterable[str], start: str | None, force: bool) -> RunRecord:
        record = RunRecord()
        selected = self.select(only, start)
        forced = {s.name for s in selected} if force or start else set()
        manifest = self._load_manifest()
        environment = execution_environment()
        for stage in self.stages:
            if stage not in selected:
                continue
            missing = [n for n in stage.needs if not self.paths.marker(n).exists()]
            if missing:
                raise RuntimeError(
                    f"stage '{stage.name}' needs stage(s) {', '.join(missing)} to have finished in "
                    f"{self.paths.root}; run them first (e.g. without --stage)"
                )
            if stage.name not in forced and self.is_current(stage):
                self.log(f"[{stage.name}] up to date, skipped")
                record.skipped.append(stage.name)
                continue
            seconds = self._execute(stage)
            manifest["stages"][stage.name] = {
                "wall_seconds": round(seconds, 3),
                "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                **environment,
            }
            self._write_manifest(manifest)
            record.executed.append(stage.name)
        self._write_manifest(manifest)
        return record

    def _execute(self, stage: Stage) -> float:
        staging = self.paths.staging(stage.name)
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        # Checkpoints are only valid for the same config and inputs: one work folder per key.
        work = self.paths.work(stage.name) / stage_key(stage, self.cfg, self.paths)[:16]
        work.mkdir(parents=True, exist_ok=True)

        def log(msg: str) -> None:
            self.log(f"[{stage.name}] {msg}")

        ctx = StageContext(stage.name, self.cfg, self.paths, staging, work, log)
        log(stage.description)
        start = time.perf_counter()
        try:
            # Work a stage does outside ctx.map gets the tasks' thread count too: OpenBLAS rounds
            # differently with 2 threads than with 1 (the host's data stage, run with 2, differed
            # from the container's in the last bit of 21 Mg25 labels).
            with pinned_threads(self.cfg.executor.omp_threads):
                stage.run(ctx)
        finally:
            ctx.close()
        seconds = time.perf_counter() - start
        final = self.paths.stage(stage.name)
        marker = self.paths.marker(stage.name)
        if marker.exists():
            marker.unlink()
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        marker_data = {
            "stage": stage.name,
            "key": stage_key(stage, self.cfg, self.paths),
            "output_hash": hash_tree(final),
        }
        atomic_write_text(marker, json.dumps(marker_data, indent=2))
        log(f"done in {seconds:.1f} s")
        return seconds

    def _load_manifest(self) -> dict[str, Any]:
        manifest = read_state_json(self.paths.manifest) or {"stages": {}}
        # What ran is recorded per stage: a rerun that reuses stages must not relabel them.
        for key in ENVIRONMENT_KEYS:
            manifest.pop(key, None)
        manifest.update(
            {
                "profile": self.cfg.profile,
                "config_file": str(self.cfg.source),
                "config_hash": self.cfg.hash(),
                "seed": self.cfg.seed,
            }
        )
        return manifest

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest["updated_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        atomic_write_text(self.paths.manifest, json.dumps(manifest, indent=2, sort_keys=True))
