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
    def final_model(self) -> Path:
        """The GAP after active learning (the grid-search GAP when AL is off in the profile)."""
        return self.stage("active_learning") / MODEL_DIR / MODEL_XML

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def cache_db(self) -> Path:
        return self.root / ".cache" / CACHE_DB

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
CACHE_DB = "reference_energies.sqlite"  # in <run>/.cache/
DATA_TRAIN = "train.extxyz"
DATA_TEST = "test.extxyz"
DATA_EXTERNAL_TEST = "external_test.extxyz"
DATA_DROPS = "dropped_structures.csv"
DATA_COUNTS = "filter_counts.csv"
DATA_COUNTS_FIGURE = "counts_per_size.png"
DATA_LABEL_FAILURES = "label_failures.csv"

FIT_GRID_TABLE = "grid_table.csv"
FIT_GRID_PER_SIZE = "grid_per_size.csv"
FIT_METRICS = "metrics_per_size.csv"
FIT_PREDICTIONS = "predictions.csv"
FIT_SELECTED = "selected.json"
MODEL_DIR = "model"
MODEL_XML = "gap.xml"

AL_ROUNDS = "rounds.csv"
AL_VERDICT = "verdict.json"
AL_TRAIN = "train_final.extxyz"
AL_ADDED = "added_structures.extxyz"

GO_SUMMARY = "mh_runs.csv"
GO_ISOMERS = "isomers.csv"
GO_GM = "gap_global_minima.extxyz"
GO_HESSIAN_CHECK = "hessian_check.csv"


def go_all_minima(n_atoms: int) -> str:
    return f"Mg{n_atoms}_all_minima.extxyz"


def go_unique(n_atoms: int) -> str:
    return f"Mg{n_atoms}_unique_isomers.extxyz"


def go_lowest(n_atoms: int) -> str:
    return f"Mg{n_atoms}_lowest.extxyz"


REFINE_TABLE = "refined_isomers.csv"
REFINE_STRUCTURES = "refined_isomers.extxyz"
REFINE_GM = "refined_global_minima.extxyz"
REFINE_KNOWN = "known_gm_comparison.csv"
REFINE_KNOWN_GM = "known_global_minima.extxyz"  # the known GMs relaxed with the reference
REFINE_FAILURES = "refine_failures.csv"
REFINE_SCREEN = "screened_isomers.csv"  # with refine.screen_lowest: reference single points
GO_TABLE = "go_table.csv"

FIG3 = "fig3_accuracy"
FIG4 = "fig4_refinement"
FIG5 = "fig5_com_profiles"
FIG6 = "fig6_binding_energy"
FIG7 = "fig7_lattice_motifs"
TABLE1 = "table1_refined_gm"
TABLE2 = "table2_gap_gm"

DFT_ATOM = "mg1_energy.json"
DFT_MG13 = "mg13_vs_gaussian.csv"
DFT_REFINED = "dft_refined_isomers.csv"
DFT_REFINED_STRUCTURES = "dft_refined_isomers.extxyz"
