"""The configuration tree: one frozen, typed object per profile (configs/<profile>.yaml).

A profile may start with `extends: <other profile>` and override any keys. Every random choice
in every stage derives from the single top-level `seed`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from .analysis.com_profile import CoreParams
from .analysis.lattice_motifs import MotifParams
from .calculators.dft import DFTSettings
from .calculators.gap import GapFitSettings
from .configtree import ConfigError, InputPath, build, deep_merge, require_bounds, to_plain
from .data.filters import FilterParams
from .data.generate import GenerationParams
from .executor import ExecutorSettings
from .gridsearch import GridSpec
from .mh.minima_hopping import MHParams
from .paths import CONFIG_DIR

# GapFitSettings fields the pipeline derives (reference E(Mg1), config seed); not set in YAML.
DERIVED_FIT_KEYS = ("e0", "rnd_seed")


@dataclass(frozen=True)
class ReferenceConfig:
    """Calculator that labels structures and refines isomers (paper: Gaussian BP86/6-31G(d))."""

    calculator: Literal["gupta", "dft"] = "gupta"
    use_cache: bool = True
    dft: DFTSettings = field(default_factory=DFTSettings)
    # DFT labels shipped with the project (calculators/label_store.py), seeded into the run cache
    stored_labels: InputPath | None = None

    def __post_init__(self) -> None:
        if self.stored_labels is not None and not (self.calculator == "dft" and self.use_cache):
            raise ConfigError(
                "reference.stored_labels needs reference.calculator: dft and use_cache: true"
            )


@dataclass(frozen=True)
class DataConfig:
    """Training data: ingested files and/or generated candidates, the paper's filters, the split."""

    datasets: tuple[InputPath, ...] = ()
    external_test: tuple[InputPath, ...] = ()
    generate_sizes: tuple[int, ...] = ()
    generation: GenerationParams = field(default_factory=GenerationParams)
    filters: FilterParams = field(default_factory=FilterParams)
    train_sizes: tuple[int, ...] = ()
    test_sizes: tuple[int, ...] = ()
    selection_size: int = 0
    strict: bool = False

    def __post_init__(self) -> None:
        require_bounds(
            self,
            non_negative=("selection_size",),
            sizes=("generate_sizes", "train_sizes", "test_sizes"),
        )


@dataclass(frozen=True)
class FitConfig:
    """Two-stage grid search (SOAP, then 2b) selected on data.selection_size."""

    grid: GridSpec = field(default_factory=GridSpec)
    settings: GapFitSettings = field(default_factory=GapFitSettings)


@dataclass(frozen=True)
class ActiveLearningConfig:
    """Rounds of: fit -> MH on target_size -> known GM found? else GO on al_sizes, label, refit."""

    target_size: int = 0
    known_gm: InputPath | None = None
    al_sizes: tuple[int, ...] = ()
    new_isomers_per_size: int = 5
    max_rounds: int = 3
    refit: Literal["grid", "selected"] = "grid"
    target_starts: int = 2
    target_steps: int = 50
    al_starts: int = 1
    al_steps: int = 20
    # 0: each new isomer is one reference single point (the paper). N > 0: each is relaxed with
    # the reference for at most N steps (fmax refine.fmax) and every geometry of the path is a
    # label: the low-energy region a GAP minimum leads to, which single points never reach
    # (docs/gap_fit.md, "dft-mini: accuracy on the Gaussian Mg13 minima").
    reference_relax_steps: int = 0
    # N > 0: each round also relaxes the N lowest structures per size of data.external_test
    # with its GAP and records how many stay in their basin (rounds.csv)
    external_relax_lowest: int = 0
    # how many of the target size's lowest GAP isomers each round relaxes with the reference
    # (0: refine.n_lowest, the same test as the GO table)
    test_lowest: int = 0
    mh: MHParams = field(default_factory=MHParams)

    def __post_init__(self) -> None:
        require_bounds(
            self,
            positive=(
                "new_isomers_per_size",
                "max_rounds",
                "target_starts",
                "target_steps",
                "al_starts",
                "al_steps",
            ),
            non_negative=(
                "target_size",
                "reference_relax_steps",
                "external_relax_lowest",
                "test_lowest",
            ),
            sizes=("al_sizes",),
        )


@dataclass(frozen=True)
class GOConfig:
    """Minima hopping with the final GAP on every size; unique isomers by fingerprint."""

    sizes: tuple[int, ...] = ()
    n_starts: int = 5
    max_steps: int = 200
    max_wall_seconds: float | None = None
    n_lowest: int = 10
    mh: MHParams = field(default_factory=MHParams)

    def __post_init__(self) -> None:
        require_bounds(
            self,
            positive=("n_starts", "max_steps", "max_wall_seconds", "n_lowest"),
            sizes=("sizes",),
        )


@dataclass(frozen=True)
class RefineConfig:
    """Local relaxation of the n_lowest GAP isomers per GO size with the reference calculator."""

    sizes: tuple[int, ...] = ()  # empty: every GO size; others appear only in Table 2
    n_lowest: int = 10
    fmax: float = 0.0231  # eV/A, Gaussian's default max-force criterion (0.00045 Ha/Bohr)
    max_steps: int = 300
    known_gm_dir: InputPath | None = None
    # K > 0: reference single points of the K lowest unique GAP isomers per size first; the
    # n_lowest of them by reference energy are relaxed (0: the paper's n_lowest by GAP energy)
    screen_lowest: int = 0

    def __post_init__(self) -> None:
        require_bounds(
            self,
            positive=("n_lowest", "fmax", "max_steps"),
            non_negative=("screen_lowest",),
            sizes=("sizes",),
        )
        if 0 < self.screen_lowest < self.n_lowest:
            raise ValueError(
                f"'screen_lowest' ({self.screen_lowest}) must be 0 or at least 'n_lowest' "
                f"({self.n_lowest}): the relaxed isomers are chosen among the screened ones"
            )


@dataclass(frozen=True)
class DFTCheckConfig:
    """The real PySCF step: E(Mg1), Gaussian Mg13 minima, DFT refinement of one small size."""

    enabled: bool = False
    mg13_minima: InputPath | None = None
    mg13_count: int = 3
    refine_size: int = 0
    refine_count: int = 3
    fmax: float = 0.0231
    max_steps: int = 100
    # Density-fitted J for the relaxations: Mg8 energy+forces 52 s instead of 180 s here (the
    # exact 4-centre J gradient dominates); DF moves E_bond by ~0.01 kcal/mol/atom.
    relax_density_fit: bool = True

    def __post_init__(self) -> None:
        require_bounds(
            self,
            positive=("fmax", "max_steps"),
            non_negative=("mg13_count", "refine_size", "refine_count"),
        )


@dataclass(frozen=True)
class AnalysisConfig:
    regression_sizes: tuple[int, ...] = ()  # Figure 3c-f: sizes of the E_bond regression panels
    refinement_plot_sizes: tuple[int, ...] = ()
    motifs: MotifParams = field(default_factory=MotifParams)
    core: CoreParams = field(default_factory=CoreParams)
    pointgroup_tolerance: float = 0.3

    def __post_init__(self) -> None:
        require_bounds(
            self,
            positive=("pointgroup_tolerance",),
            sizes=("regression_sizes", "refinement_plot_sizes"),
        )


@dataclass(frozen=True)
class Config:
    profile: str
    seed: int
    description: str = ""
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    data: DataConfig = field(default_factory=DataConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    active_learning: ActiveLearningConfig = field(default_factory=ActiveLearningConfig)
    go: GOConfig = field(default_factory=GOConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    dft_check: DFTCheckConfig = field(default_factory=DFTCheckConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    source: str = ""

    def __post_init__(self) -> None:
        if not self.refine.screen_lowest and self.refine.n_lowest > self.go.n_lowest:
            raise ConfigError(
                f"refine.n_lowest ({self.refine.n_lowest}) exceeds go.n_lowest "
                f"({self.go.n_lowest}): the GO stage exports only its go.n_lowest lowest isomers"
            )

    @property
    def al_test_lowest(self) -> int:
        """Isomers of the target size that active learning's test relaxes with the reference."""
        return self.active_learning.test_lowest or self.refine.n_lowest

    def hash(self) -> str:
        plain = to_plain(self)
        plain.pop("source", None)
        return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]

    def section_names(self) -> list[str]:
        return [
            name
            for name in to_plain(self)
            if name not in ("profile", "seed", "description", "source")
        ]


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise ConfigError(f"{path}: 'extends' must be a profile name, got {parent!r}")
        beside = path.parent / f"{parent}.yaml"
        data = deep_merge(
            _read_yaml(beside if beside.exists() else CONFIG_DIR / f"{parent}.yaml"), data
        )
    return data


def load_config(path: str | Path, overrides: dict | None = None) -> Config:
    """Load and validate a profile file; errors name the file and the key."""
    path = Path(path)
    data = deep_merge(_read_yaml(path), overrides or {})
    data.setdefault("profile", path.stem)
    if "source" in data:
        raise ConfigError(f"{path}: unknown key 'source'")
    data["source"] = str(path)
    fit_settings = (data.get("fit") or {}).get("settings") or {}
    for key in DERIVED_FIT_KEYS:
        if key in fit_settings:
            raise ConfigError(
                f"{path}: 'fit.settings.{key}' is derived by the pipeline "
                "(e0 = reference E(Mg1), rnd_seed from 'seed'); remove it"
            )
    cfg = build(Config, data, str(path))
    _validate(cfg, str(path))
    return cfg


def load_profile(profile: str, overrides: dict | None = None) -> Config:
    path = CONFIG_DIR / f"{profile}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise ConfigError(f"{path}: unknown profile '{profile}' (known: {known})")
    return load_config(path, overrides)


def _validate(cfg: Config, source: str) -> None:
    data = cfg.data
    both = sorted(set(data.train_sizes) & set(data.test_sizes))
    if both:
        raise ConfigError(f"{source}: 'data.train_sizes' and 'data.test_sizes' share sizes {both}")
    if data.selection_size and data.selection_size not in data.test_sizes:
        raise ConfigError(
            f"{source}: 'data.selection_size' {data.selection_size} is not in 'data.test_sizes'"
        )
    missing = sorted(set(cfg.refine.sizes) - set(cfg.go.sizes))
    if missing:
        raise ConfigError(f"{source}: 'refine.sizes' {missing} are not in 'go.sizes'")
    if cfg.dft_check.refine_size and cfg.dft_check.refine_size not in cfg.go.sizes:
        raise ConfigError(
            f"{source}: 'dft_check.refine_size' {cfg.dft_check.refine_size} is not in 'go.sizes'"
        )
    if cfg.seed < 0:
        raise ConfigError(f"{source}: 'seed' must be >= 0, got {cfg.seed}")


def check_runnable(cfg: Config) -> None:
    """A profile the whole pipeline can run: every stage has at least one size to work on (a
    config for a single stage, e.g. in tests, may leave the others empty)."""
    for key, sizes in (
        ("data.train_sizes", cfg.data.train_sizes),
        ("data.test_sizes", cfg.data.test_sizes),
        ("go.sizes", cfg.go.sizes),
    ):
        if not sizes:
            raise ConfigError(
                f"{cfg.source}: '{key}' is empty; the pipeline needs at least one size"
            )
