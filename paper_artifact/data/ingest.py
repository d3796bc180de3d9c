"""Read reference structures with energies (and forces) from any ASE-readable file.

Every kept structure comes out without a calculator and with normalised labels:
info[REF_ENERGY_KEY] (eV), arrays[REF_FORCES_KEY] (eV/Angstrom, when the source has forces),
info[REF_METHOD_KEY], plus provenance info keys source_file, source_index, method, energy_ev.
Other info keys of the source are kept, except that energy_ev is overwritten by the value used.

Energy sources, first match wins (all others present must agree within ENERGY_AGREEMENT_EV):
1. the calculator attached by the ASE reader (extxyz `energy=`, ASE db rows, Gaussian logs);
2. ENERGY_INFO_KEYS in atoms.info, in that order, converted with the listed factor.
`energy_hartree` is preferred over `energy_ev` so that a file's Hartree energies are converted
with the same factor (units.HARTREE_EV, ASE's CODATA 2014 value) as the Mg atom energy used for
binding energies; the reference files' `energy_ev` used CODATA 2018 (5.8e-4 eV apart for Mg13).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms

from paper_artifact.data import REF_ENERGY_KEY, REF_FORCES_KEY, REF_METHOD_KEY, DataError
from paper_artifact.units import HARTREE_EV
from paper_artifact.validation import (
    MG_MIN_DISTANCE,
    StructureError,
    StructureFileError,
    StructureRules,
    location,
    read_frames,
    validate_structure,
)

# (info key, factor to eV), in order of preference.
ENERGY_INFO_KEYS: tuple[tuple[str, float], ...] = (
    (REF_ENERGY_KEY, 1.0),  # files this package wrote (split.write_labelled_extxyz)
    ("energy", 1.0),
    ("energy_hartree", HARTREE_EV),
    ("energy_ev", 1.0),
)
ENERGY_AGREEMENT_EV = 0.01  # catches unit or key mix-ups; CODATA versions differ by ~1e-3 eV
# Reference data of Mg clusters: the checks every calculator input gets (paper_artifact.validation)
INGEST_RULES = StructureRules(
    "Mg cluster data", frozenset({"Mg"}), MG_MIN_DISTANCE, "A", min_atoms=2
)
DROP_COLUMNS = ["file", "index", "reason", "detail"]


@dataclass
class IngestResult:
    atoms: list[Atoms]
    drops: pd.DataFrame  # columns DROP_COLUMNS; index is <NA> when the whole file failed


def empty_drops() -> pd.DataFrame:
    frame = pd.DataFrame({column: [] for column in DROP_COLUMNS})
    return frame.astype({"file": str, "index": "Int64", "reason": str, "detail": str})


def _energy_candidates(atoms: Atoms) -> list[tuple[str, float]]:
    found = []
    if atoms.calc is not None and "energy" in atoms.calc.results:
        found.append(("calculator", float(atoms.get_potential_energy())))
    for key, factor in ENERGY_INFO_KEYS:
        if key in atoms.info:
            try:
                value = float(atoms.info[key]) * factor
            except (TypeError, ValueError):
                value = float("nan")  # reported as a non-finite energy
            found.append((f"info['{key}']", value))
    return found


def _forces(atoms: Atoms) -> np.ndarray | None:
    if atoms.calc is not None and "forces" in atoms.calc.results:
        return np.array(atoms.get_forces(), dtype=float)
    for key in (REF_FORCES_KEY, "forces"):
        if key in atoms.arrays:
            return np.array(atoms.arrays[key], dtype=float)
    return None


def _problem(atoms: Atoms) -> tuple[str, str] | None:
    """(reason, detail) for a structure that cannot be used, None when it is fine."""
    try:
        validate_structure(atoms, INGEST_RULES)
    except StructureError as error:
        return error.reason, error.detail
    energies = _energy_candidates(atoms)
    if not energies:
        keys = ", ".join(key for key, _ in ENERGY_INFO_KEYS)
        return "missing_energy", f"no calculator energy and none of the info keys {keys}"
    bad = [f"{source}={value}" for source, value in energies if not np.isfinite(value)]
    if bad:
        return "non_finite_energy", "; ".join(bad)
    values = [value for _, value in energies]
    if max(values) - min(values) > ENERGY_AGREEMENT_EV:
        listed = ", ".join(f"{source} -> {value:.6f} eV" for source, value in energies)
        return (
            "inconsistent_energy",
            f"energy sources disagree by > {ENERGY_AGREEMENT_EV} eV: {listed}",
        )
    forces = _forces(atoms)
    if forces is not None and not np.all(np.isfinite(forces)):
        return "non_finite_forces", "forces contain NaN or inf"
    return None


def _labelled(atoms: Atoms, file: str, index: int, method: str | None) -> Atoms:
    energy_ev = _energy_candidates(atoms)[0][1]
    forces = _forces(atoms)
    clean = atoms.copy()  # drops the calculator, keeps info and arrays
    clean.arrays.pop("forces", None)
    method = method or str(atoms.info.get(REF_METHOD_KEY, atoms.info.get("method", "unknown")))
    clean.info.update(
        source_file=file,
        source_index=index,
        method=method,
        energy_ev=energy_ev,
        **{REF_ENERGY_KEY: energy_ev, REF_METHOD_KEY: method},
    )
    if forces is not None:
        clean.arrays[REF_FORCES_KEY] = forces
    return clean


def read_structures(
    path: str | Path, method: str | None = None, strict: bool = False, format: str | None = None
) -> IngestResult:
    """Read every structure of `path` (format guessed by ASE unless given), keeping the good ones.

    method labels the level of theory (stored as info['method'] and info[REF_METHOD_KEY]); when
    None the source's own info[REF_METHOD_KEY] or info['method'] is used, else 'unknown'.
    Bad structures are listed in IngestResult.drops; a file that stops parsing part-way keeps
    the frames read before the break. strict=True raises DataError at the first bad one.
    """
    file = str(path)
    kept: list[Atoms] = []
    drops: list[dict] = []

    def reject(index: int | None, reason: str, detail: str) -> None:
        if strict:
            raise DataError(f"{location(file, index)}: {reason}: {detail}")
        drops.append({"file": file, "index": index, "reason": reason, "detail": detail})

    try:
        for index, atoms in enumerate(read_frames(file, format=format)):
            problem = _problem(atoms)
            if problem is None:
                kept.append(_labelled(atoms, file, index, method))
            else:
                reject(index, *problem)
    except StructureFileError as error:  # the rest of the file cannot be trusted
        reject(error.frame, error.reason, error.detail)
    table = pd.DataFrame(drops, columns=DROP_COLUMNS) if drops else empty_drops()
    return IngestResult(atoms=kept, drops=table.astype({"index": "Int64"}))


def read_many(
    paths: list[str | Path], method: str | None = None, strict: bool = False
) -> IngestResult:
    """read_structures over several files, concatenating kept structures and drop tables."""
    results = [read_structures(path, method=method, strict=strict) for path in paths]
    drops = [result.drops for result in results if len(result.drops)]
    return IngestResult(
        atoms=[atoms for result in results for atoms in result.atoms],
        drops=pd.concat(drops, ignore_index=True) if drops else empty_drops(),
    )
