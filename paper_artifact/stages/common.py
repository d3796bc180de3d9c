"""Helpers every stage adapter shares: seeds, the reference calculator, the executor."""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

import numpy as np

from ..calculators.factory import calculator_factory, isolated_atom_energy
from ..config import Config
from ..executor import open_executor
from ..paths import RunPaths
from ..runner import StageContext

CHEAP_CALCULATOR = "gupta"


def stage_seed(cfg: Config, stage: str, *identity: int) -> int:
    """A seed for one task, derived from the config seed, the stage name and the task identity,
    so results do not depend on the order in which parallel tasks run."""
    sequence = np.random.SeedSequence([cfg.seed, zlib.crc32(stage.encode()), *identity])
    return int(sequence.generate_state(1)[0])


def reference_factory(cfg: Config, run_paths: RunPaths, cheap: bool = False):
    if cheap:
        return calculator_factory(CHEAP_CALCULATOR)
    cache = run_paths.cache_db if cfg.reference.use_cache else None
    return calculator_factory(cfg.reference.calculator, cfg.reference.dft, cache)


def reference_atom_energy(cfg: Config) -> float:
    return isolated_atom_energy(cfg.reference.calculator, cfg.reference.dft)


def executor_for(ctx: StageContext):
    """The configured executor; a relative Parsl run_dir goes inside the run folder."""
    settings = ctx.cfg.executor
    if not Path(settings.run_dir).is_absolute():
        settings = dataclasses.replace(settings, run_dir=str(ctx.paths.root / settings.run_dir))
    return open_executor(settings)
