"""Reference labels shipped with the project.

A run's reference energies and forces (its sqlite cache, cache.py) are exported to one extxyz file
with the provenance of every label, plus a JSON summary naming the method settings. A profile
that points `reference.stored_labels` at that file has the labels seeded into its run cache, so a
rerun with the same settings serves them instead of computing them; `verify_labels` recomputes a
seeded sample (or all) to show the stored numbers are what the settings give.

Per frame (info): `label_key` (the cache key: sha256 over atomic numbers, positions to 1e-6 A and
the settings string, so the rounded positions of the text file do not matter), `label_settings`
(an id into the summary's `settings`), `label_energy_ev` (written in full precision),
`cpu_seconds`, `wall_seconds`, `program`, `initial_guess`; arrays: `label_forces` (eV/A, 8
decimals, as cache.CachedCalculator keeps them).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write

from ..fileio import atomic_path, atomic_write_text
from .cache import CacheRow, EnergyCache

ENERGY_INFO = "label_energy_ev"
FORCES_ARRAY = "label_forces"
KEY_INFO = "label_key"
SETTINGS_INFO = "label_settings"
PROVENANCE_INFO = ("cpu_seconds", "wall_seconds", "program", "initial_guess")


class LabelStoreError(ValueError):
    """A shipped label file is missing, malformed or was made with other settings."""


def summary_path(labels_file: Path) -> Path:
    return labels_file.with_suffix(".json")


def export_labels(cache_db: Path, out_file: Path, description: str = "") -> dict:
    """Write every cached label with forces to out_file (extxyz) and its summary (JSON)."""
    rows = [row for row in EnergyCache(cache_db).rows() if row.forces is not None]
    if not rows:
        raise LabelStoreError(f"{cache_db}: no labels with forces to export")
    settings_ids = {s: f"s{i}" for i, s in enumerate(sorted({row.settings for row in rows}))}
    frames = []
    for row in rows:
        atoms = Atoms(numbers=row.numbers, positions=row.positions)
        atoms.info[KEY_INFO] = row.key
        atoms.info[SETTINGS_INFO] = settings_ids[row.settings]
        atoms.info[ENERGY_INFO] = row.energy
        for name in PROVENANCE_INFO:
            if name in row.provenance:
                atoms.info[name] = row.provenance[name]
        atoms.arrays[FORCES_ARRAY] = row.forces
        frames.append(atoms)
    cpu = [row.provenance.get("cpu_seconds") for row in rows]
    summary = {
        "description": description,
        "labels": len(rows),
        "labels_per_size": {
            str(n): count for n, count in sorted(Counter(len(r.numbers) for r in rows).items())
        },
        "settings": {sid: s for s, sid in settings_ids.items()},
        "programs": sorted({str(r.provenance.get("program", "unknown")) for r in rows}),
        "cpu_hours": round(sum(c for c in cpu if c is not None) / 3600.0, 3),
        "labels_without_cpu_time": sum(c is None for c in cpu),
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_file) as tmp:
        write(tmp, frames, format="extxyz")
    atomic_write_text(summary_path(out_file), json.dumps(summary, indent=1) + "\n")
    return summary


@dataclass(frozen=True)
class StoredLabels:
    rows: list[CacheRow]
    settings: dict[str, str]  # id -> settings string
    summary: dict


def read_labels(labels_file: Path) -> StoredLabels:
    """The labels of a shipped file; LabelStoreError names the file and frame on any defect."""
    if not labels_file.is_file():
        raise LabelStoreError(f"stored labels {labels_file}: file not found")
    try:
        summary = json.loads(summary_path(labels_file).read_text())
        settings = dict(summary["settings"])
    except (OSError, ValueError, KeyError) as error:
        raise LabelStoreError(
            f"stored labels {labels_file}: summary {summary_path(labels_file)} unreadable ({error})"
        ) from error
    try:
        frames = read(labels_file, index=":", format="extxyz")
    except Exception as error:  # ase raises many types on malformed extxyz
        raise LabelStoreError(
            f"stored labels {labels_file}: not readable extxyz ({error})"
        ) from error
    rows = []
    for index, atoms in enumerate(frames):
        where = f"stored labels {labels_file}, frame {index}"
        missing = [k for k in (KEY_INFO, SETTINGS_INFO, ENERGY_INFO) if k not in atoms.info]
        if missing or FORCES_ARRAY not in atoms.arrays:
            raise LabelStoreError(f"{where}: lacks {', '.join(missing or [FORCES_ARRAY])}")
        energy, forces = float(atoms.info[ENERGY_INFO]), atoms.arrays[FORCES_ARRAY]
        if not (np.isfinite(energy) and np.isfinite(forces).all()):
            raise LabelStoreError(f"{where}: non-finite energy or forces")
        if atoms.info[SETTINGS_INFO] not in settings:
            raise LabelStoreError(f"{where}: settings id {atoms.info[SETTINGS_INFO]} unknown")
        rows.append(
            CacheRow(
                key=str(atoms.info[KEY_INFO]),
                settings=settings[atoms.info[SETTINGS_INFO]],
                numbers=atoms.numbers.copy(),
                positions=atoms.positions.copy(),
                energy=energy,
                forces=np.array(forces, dtype=float),
                provenance={k: atoms.info[k] for k in PROVENANCE_INFO if k in atoms.info},
            )
        )
    return StoredLabels(rows, settings, summary)


def seed_cache(cache_db: Path, labels_file: Path, settings_key: str) -> tuple[int, int]:
    """Add the stored labels made with `settings_key` to a run's cache; returns (added, usable).

    LabelStoreError when none of the file's labels were made with these settings: a changed
    setting would otherwise silently recompute every label."""
    stored = read_labels(labels_file)
    usable = [row for row in stored.rows if row.settings == settings_key]
    if not usable:
        known = "\n  ".join(stored.settings.values())
        raise LabelStoreError(
            f"stored labels {labels_file}: none made with the profile's reference settings\n"
            f"  {settings_key}\nthe file has\n  {known}\n"
            "(set reference.stored_labels: null to compute every label)"
        )
    return EnergyCache(cache_db).insert_missing(usable), len(usable)


@dataclass(frozen=True)
class LabelCheck:
    key: str
    formula: str
    energy_difference_ev: float
    max_force_difference: float  # eV/A
    passed: bool


def sample_labels(stored: StoredLabels, settings_key: str, count: int | None, seed: int):
    """A seeded random sample of the labels made with settings_key (all when count is None)."""
    rows = [row for row in stored.rows if row.settings == settings_key]
    if count is None or count >= len(rows):
        return rows
    picks = np.random.default_rng(seed).choice(len(rows), size=count, replace=False)
    return [rows[i] for i in sorted(picks)]


def verify_labels(
    rows: list[CacheRow], calculator, energy_tol: float, force_tol: float, progress=print
) -> list[LabelCheck]:
    """Recompute each row with `calculator` and compare energy and forces."""
    checks = []
    for i, row in enumerate(rows, 1):
        atoms = Atoms(numbers=row.numbers, positions=row.positions)
        atoms.calc = calculator
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        d_energy = abs(energy - row.energy)
        d_force = float(np.abs(forces - row.forces).max())
        check = LabelCheck(
            row.key,
            atoms.get_chemical_formula(),
            d_energy,
            d_force,
            d_energy <= energy_tol and d_force <= force_tol,
        )
        progress(
            f"label {i}/{len(rows)} {check.formula} {row.key[:12]}: |dE| {d_energy:.2e} eV, "
            f"max |dF| {d_force:.2e} eV/A {'ok' if check.passed else 'DIFFERS'}"
        )
        checks.append(check)
    return checks
