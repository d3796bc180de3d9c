"""Every output location of a run, in one place.

A run folder (default `results/<profile>/`) holds one sub-folder per stage, written atomically by
the runner, plus persistent scratch space for checkpoints, the calculators' cache and the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .configtree import PROJECT_ROOT

CONFIG_DIR = PROJECT_ROOT / "configs"
EXPECTED_DIR = PROJECT_ROOT / "expected_results"
CLAIMS_FILE = PROJECT_ROOT / "claims.yaml"


def profile_config(profile: str) -> Path:
    return CONFIG_DIR / f"{profile}.yaml"


def default_run_dir(profile: str) -> Path:
    return PROJECT_ROOT / "results" / profile


def expected_dir(profile: str) -> Path:
    return EXPECTED_DIR / profile


@dataclass(frozen=True)
class RunPaths:
    root: Path

    def stage(self, name: str) -> Path:
        """Final output folder of a stage (appears only when the stage finished)."""
        return self.root / name

    def staging(self, name: str) -> Path:
        """Where a running stage writes; renamed to `stage(name)` on success."""
        return self.root / ".staging" / name

    def work(self, name: str) -> Path:
        """Persistent scratch of a stage: checkpoints that survive an interrupted run."""
        return self.root / ".work" / name

    def marker(self, name: str) -> Path:
        return self.root / ".markers" / f"{name}.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def cache_db(self) -> Path:
        return self.root / ".cache" / "reference_energies.sqlite"

    @property
    def check_report(self) -> Path:
        return self.root / "check_report.md"

    @property
    def claims_report(self) -> Path:
        return self.root / "claims_report.md"

    @property
    def claims_csv(self) -> Path:
        return self.root / "claims_report.csv"


# File names inside each stage folder.
DATA_TRAIN = "train.extxyz"
DATA_TEST = "test.extxyz"
DATA_EXTERNAL_TEST = "external_test.extxyz"
DATA_DROPS = "dropped_structures.csv"
DATA_COUNTS = "filter_counts.csv"
DATA_COUNTS_FIGURE = "counts_per_size.png"
DATA_LABEL_FAILURES = "label_failures.csv"
