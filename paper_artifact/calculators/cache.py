"""Persistent energy/force cache so that no structure is computed twice across runs or stages.

The store is one sqlite3 file with sqlite's default rollback journal (WAL mode gave "disk I/O
error" under concurrent writers on this machine's /tmp, and needs shared memory that network file
systems lack). Every `put` is its own transaction with synchronous=FULL, so a process killed at any
moment (kill -9 included) leaves either the whole row or nothing; several processes may share the
file (sqlite serialises writers; each waits up to `timeout` seconds for the lock). Connections are
opened per operation, so an EnergyCache object is safe to use after fork.

Key = sha256 of (atomic numbers, positions rounded to 1e-6 Angstrom, method settings string).
Positions are rounded to integer micro-Angstrom before hashing, so -0.0 and 0.0 hash equally.
Each row also keeps how it was computed (`provenance`: CPU and wall seconds, program version), so
the rows of a run can be shipped as labels (label_store.py) and seeded into another run's cache.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

POSITION_DECIMALS = 6
FORCE_DECIMALS = 8  # extxyz's precision: shipped labels (label_store.py) give the same numbers

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    numbers BLOB NOT NULL,
    positions BLOB NOT NULL,
    energy REAL NOT NULL,
    forces BLOB,
    provenance TEXT
)
"""


def structure_key(atoms: Atoms, settings: str) -> str:
    """sha256 hex digest of atomic numbers, positions rounded to 1e-6 Angstrom and settings."""
    numbers = np.ascontiguousarray(atoms.numbers, dtype=np.int64)
    micro = np.rint(atoms.positions * 10**POSITION_DECIMALS).astype(np.int64)
    digest = hashlib.sha256()
    digest.update(numbers.tobytes())
    digest.update(np.ascontiguousarray(micro).tobytes())
    digest.update(settings.encode("utf-8"))
    return digest.hexdigest()


def at_stored_precision(forces: np.ndarray) -> np.ndarray:
    """Forces as an extxyz file stores and reads them back (FORCE_DECIMALS decimals), so a run
    served from shipped labels sees the same numbers as the run that computed them."""
    return np.char.mod(f"%.{FORCE_DECIMALS}f", forces).astype(float)


@dataclass(frozen=True)
class CachedResult:
    energy: float  # eV
    forces: np.ndarray | None  # eV/Angstrom, shape (n_atoms, 3)


@dataclass(frozen=True)
class CacheRow:
    key: str
    settings: str
    numbers: np.ndarray
    positions: np.ndarray  # Angstrom, full precision
    energy: float  # eV
    forces: np.ndarray | None  # eV/Angstrom
    provenance: dict

    def values(self) -> tuple:
        """The row as the results table stores it."""
        return (
            self.key,
            self.settings,
            np.ascontiguousarray(self.numbers, dtype=np.int64).tobytes(),
            np.ascontiguousarray(self.positions, dtype=np.float64).tobytes(),
            float(self.energy),
            None
            if self.forces is None
            else np.ascontiguousarray(self.forces, dtype=np.float64).tobytes(),
            json.dumps(self.provenance, sort_keys=True),
        )


class EnergyCache:
    """sqlite3-backed map (atoms, settings) -> energy [eV] and optional forces [eV/A]."""

    def __init__(self, path: str | Path, timeout: float = 120.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = timeout
        connection = self._connect()
        try:
            with connection:
                connection.execute(_SCHEMA)
                columns = {row[1] for row in connection.execute("PRAGMA table_info(results)")}
                if "provenance" not in columns:  # a cache written before provenance was kept
                    connection.execute("ALTER TABLE results ADD COLUMN provenance TEXT")
        finally:
            connection.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self._timeout)
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def get(self, atoms: Atoms, settings: str) -> CachedResult | None:
        key = structure_key(atoms, settings)
        connection = self._connect()
        try:
            row = connection.execute(
                "SELECT energy, forces FROM results WHERE key = ?", (key,)
            ).fetchone()
        finally:
            connection.close()
        if row is None:
            return None
        energy, forces_blob = row
        forces = None
        if forces_blob is not None:
            forces = np.frombuffer(forces_blob, dtype=np.float64).reshape(len(atoms), 3).copy()
        return CachedResult(energy=float(energy), forces=forces)

    def put(
        self,
        atoms: Atoms,
        settings: str,
        energy: float,
        forces: np.ndarray | None = None,
        provenance: dict | None = None,
    ) -> None:
        """Store (or overwrite) one result; committed atomically before returning."""
        if forces is not None and np.shape(forces) != (len(atoms), 3):
            raise ValueError(
                f"EnergyCache.put: forces shape {np.shape(forces)} != ({len(atoms)}, 3) "
                f"for {atoms.get_chemical_formula()}"
            )
        row = CacheRow(
            structure_key(atoms, settings),
            settings,
            atoms.numbers,
            atoms.positions,
            energy,
            forces,
            provenance or {},
        ).values()
        connection = self._connect()
        try:
            with connection:  # one transaction: commit on success, rollback on error
                connection.execute(
                    "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)", row
                )
        finally:
            connection.close()

    def rows(self) -> Iterator[CacheRow]:
        """Every stored result, in key order."""
        connection = self._connect()
        try:
            records = connection.execute(
                "SELECT key, settings, numbers, positions, energy, forces, provenance"
                " FROM results ORDER BY key"
            ).fetchall()
        finally:
            connection.close()
        for key, settings, numbers, positions, energy, forces, provenance in records:
            numbers = np.frombuffer(numbers, dtype=np.int64).copy()
            yield CacheRow(
                key=key,
                settings=settings,
                numbers=numbers,
                positions=np.frombuffer(positions, dtype=np.float64).reshape(-1, 3).copy(),
                energy=float(energy),
                forces=None
                if forces is None
                else np.frombuffer(forces, dtype=np.float64).reshape(-1, 3).copy(),
                provenance=json.loads(provenance) if provenance else {},
            )

    def insert_missing(self, rows: list[CacheRow]) -> int:
        """Add rows whose key is not stored yet (stored rows are kept); returns how many."""
        connection = self._connect()
        try:
            with connection:
                before = connection.total_changes
                connection.executemany(
                    "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [row.values() for row in rows],
                )
                return connection.total_changes - before
        finally:
            connection.close()

    def __len__(self) -> int:
        connection = self._connect()
        try:
            return int(connection.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        finally:
            connection.close()


class CachedCalculator(Calculator):
    """Wraps any ASE calculator with an EnergyCache (the factory wraps PySCF DFT with it).

    `settings` must identify the wrapped method completely (e.g. DFTSettings.cache_key()), since
    it is part of the key. Energy-only requests are stored without forces; a later forces request
    on the same structure recomputes and overwrites the row. The wrapped calculator gets one
    calculate() per miss with everything requested, so DFT energy and forces come from one SCF.
    A computed row keeps the CPU and wall seconds of its calculation and the wrapped calculator's
    `provenance()` (program version, SCF path) when it has one. Forces are kept at
    FORCE_DECIMALS decimals (1e-8 eV/A, far below SCF noise).
    """

    implemented_properties = ("energy", "forces")

    def __init__(self, calc: Calculator, cache: EnergyCache, settings: str, **kwargs):
        super().__init__(**kwargs)
        self.calc = calc
        self.cache = cache
        self.settings = settings
        self.hits = 0
        self.misses = 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_forces = "forces" in properties
        cached = self.cache.get(self.atoms, self.settings)
        if cached is not None and (cached.forces is not None or not want_forces):
            self.hits += 1
            self.results = {"energy": cached.energy}
            if cached.forces is not None:
                self.results["forces"] = cached.forces
            return
        self.misses += 1
        wanted = ["energy", "forces"] if want_forces else ["energy"]
        cpu, wall = time.process_time(), time.perf_counter()
        self.calc.calculate(self.atoms.copy(), wanted, all_changes)
        provenance = {
            "cpu_seconds": round(time.process_time() - cpu, 3),
            "wall_seconds": round(time.perf_counter() - wall, 3),
        }
        if hasattr(self.calc, "provenance"):
            provenance.update(self.calc.provenance())
        energy = float(self.calc.results["energy"])
        forces = at_stored_precision(self.calc.results["forces"]) if want_forces else None
        self.cache.put(self.atoms, self.settings, energy, forces, provenance)
        self.results = {"energy": energy}
        if forces is not None:
            self.results["forces"] = forces
