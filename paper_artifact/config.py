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

from .configtree import ConfigError, InputPath, build, deep_merge, to_plain
from .paths import CONFIG_DIR


@dataclass(frozen=True)
class ReferenceConfig:
    """Which calculator labels structures and refines isomers (the paper: Gaussian BP86/6-31G(d))."""

    calculator: Literal["gupta", "dft"] = "gupta"
    use_cache: bool = True


@dataclass(frozen=True)
class DataConfig:
    """Training data: ingested files and/or generated candidates, the paper's filters, the split."""

    datasets: tuple[InputPath, ...] = ()
    external_test: tuple[InputPath, ...] = ()
    generate_sizes: tuple[int, ...] = ()
    train_sizes: tuple[int, ...] = ()
    test_sizes: tuple[int, ...] = ()
    selection_size: int = 0
    strict: bool = False


@dataclass(frozen=True)
class Config:
    profile: str
    seed: int
    description: str = ""
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    source: str = ""

    def hash(self) -> str:
        plain = to_plain(self)
        plain.pop("source", None)
        return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]

    def section_names(self) -> list[str]:
        return [name for name in to_plain(self) if name not in ("profile", "seed", "description",
                                                                 "source")]


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
        data = deep_merge(_read_yaml(path.parent / f"{parent}.yaml"), data)
    return data


def load_config(path: str | Path, overrides: dict | None = None) -> Config:
    """Load and validate a profile file; errors name the file and the key."""
    path = Path(path)
    data = deep_merge(_read_yaml(path), overrides or {})
    data.setdefault("profile", path.stem)
    if "source" in data:
        raise ConfigError(f"{path}: unknown key 'source'")
    data["source"] = str(path)
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
    if cfg.seed < 0:
        raise ConfigError(f"{source}: 'seed' must be >= 0, got {cfg.seed}")
