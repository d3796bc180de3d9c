"""The promises of a profile's run (promises.yaml) as CheckSpecs for the regression check."""

from __future__ import annotations

from pathlib import Path

import yaml

from . import paths
from .check import CheckSpec
from .config import Config

PROMISES_FILE = Path(__file__).with_name("promises.yaml")


def _holds(cfg: Config, conditions: list[str]) -> bool:
    for dotted in conditions:
        value = cfg
        for name in dotted.split("."):
            value = getattr(value, name)
        if not value:
            return False
    return True


def _output_file(output: list[str]) -> str:
    stage, constant, *suffix = output
    return f"{stage}/{getattr(paths, constant)}{''.join(suffix)}"


def promised_specs(cfg: Config) -> list[CheckSpec]:
    specs = []
    for entry in yaml.safe_load(PROMISES_FILE.read_text())["promises"]:
        entry = dict(entry)
        if not _holds(cfg, entry.pop("when", [])):
            continue
        reason = entry.pop("reason")
        reason = ": ".join(reason) if isinstance(reason, list) else reason
        for name in ("key", "ignore"):
            entry[name] = tuple(entry.get(name, ()))
        specs.append(CheckSpec(file=_output_file(entry.pop("output")), reason=reason, **entry))
    return specs
