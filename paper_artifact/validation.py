"""Input checks before any calculation: structures, structure files and output locations.

Every structure that enters a calculator from outside (`energy`, `hop --start`, `run --dataset`)
passes `validate_structure` with the rules of its calculator (`rules_for`):

| calculator | elements            | min distance | max atoms | why                            |
|------------|---------------------|--------------|-----------|--------------------------------|
| gupta      | Mg                  | 0.5 A        | 2,000     | Mg parameters; N x N arrays    |
| lj         | any one element     | 0.3 sigma    | 2,000     | reduced units, one particle    |
|            |                     |              |           | type; ASE lists all N^2 pairs  |
| gap:MODEL  | the model's species | 0.5 A        | -         | other species get only e0 (0); |
|            |                     |              |           | cost linear in N (cutoff)      |
| dft        | Mg                  | 0.5 A        | -         | settings and E(Mg1) are Mg's;  |
|            |                     |              |           | PySCF bounds its own memory    |

Minimum distances: at 0.5 A two Mg nuclei overlap (the Mg-Mg bond is 3.2 A; the Gupta dimer
energy there is 9.5e4 eV); at 0.3 sigma the LJ pair energy is 7.5e6 epsilon. Neither is a
cluster, only a broken geometry. Size guard, one energy+force call measured on this machine (one
core, peak memory of the process): gupta 2,000 atoms 0.75 s / 0.31 GB, 4,000 atoms 3.8 s /
0.95 GB; lj 1,000 atoms 1.2 s / 0.26 GB, 2,000 atoms 7 s / 0.77 GB (10,000 atoms: MemoryError
at 11.6 GB after 7 min). At 2,000 atoms one call stays under 10 s and 1 GB.

Errors name the file, the frame and a reason code (the `reason` attribute; the data stage's
dropped_structures.csv uses the same codes).
"""

from __future__ import annotations

import re
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols
from ase.io import iread
from scipy.spatial import cKDTree

MG_MIN_DISTANCE = 0.5  # Angstrom; overlapping nuclei, not a cluster
LJ_MIN_DISTANCE = 0.3  # sigma; E_LJ = 7.5e6 epsilon
PAIRWISE_MAX_ATOMS = 2_000  # lj and gupta hold N x N arrays (see the module docstring)


class InputError(ValueError):
    """Input that no calculation should start from; the message names where and why."""


class StructureError(InputError):
    def __init__(self, reason: str, detail: str, file: str | Path | None = None, frame=None):
        self.reason, self.detail, self.file, self.frame = reason, detail, file, frame
        super().__init__(f"{location(file, frame)}: {reason}: {detail}")


class StructureFileError(StructureError):
    """A structure file ASE cannot read (from `frame` on; frame None: the whole file)."""


def location(file: str | Path | None, frame: int | None) -> str:
    where = str(file) if file is not None else "structure"
    return where if frame is None else f"{where} [frame {frame}]"


@dataclass(frozen=True)
class StructureRules:
    """What one calculator accepts; see the table in the module docstring."""

    name: str  # for messages: "<name> takes only Mg"
    species: frozenset[str] | None  # None: any one element (all atoms are the same particle)
    min_distance: float  # in the calculator's length unit
    unit: str
    max_atoms: int | None = None  # None: no size guard
    min_atoms: int = 1


RULES = {
    "gupta": StructureRules("gupta", frozenset({"Mg"}), MG_MIN_DISTANCE, "A", PAIRWISE_MAX_ATOMS),
    "lj": StructureRules("lj", None, LJ_MIN_DISTANCE, "sigma", PAIRWISE_MAX_ATOMS),
    "dft": StructureRules("dft", frozenset({"Mg"}), MG_MIN_DISTANCE, "A"),
}


def rules_for(spec: str, min_atoms: int = 1) -> StructureRules:
    """The rules of a calculator spec (gupta | lj | dft | gap:MODEL.xml)."""
    kind, _, model = spec.partition(":")
    if kind == "gap":
        species = gap_species(Path(model))
        return StructureRules(spec, species, MG_MIN_DISTANCE, "A", min_atoms=min_atoms)
    return replace(RULES[kind], min_atoms=min_atoms)


_DESCRIPTOR_SPECIES = re.compile(r"\b(?:Z|Z1|Z2|species_Z)\s*=\s*(\{[^}]*\}|\d+)")


def gap_species(xml_path: Path) -> frozenset[str]:
    """Elements of a GAP model: every Z named in its descriptors (Z=, Z1=, Z2=, species_Z=)."""
    numbers: set[int] = set()
    try:
        for _, element in ElementTree.iterparse(xml_path):
            if element.tag == "descriptor" and element.text:
                for value in _DESCRIPTOR_SPECIES.findall(element.text):
                    numbers.update(int(z) for z in re.findall(r"\d+", value))
            element.clear()
    except ElementTree.ParseError as error:
        raise InputError(f"{xml_path}: not a GAP model XML ({error})") from None
    numbers.discard(0)
    if not numbers:
        raise InputError(f"{xml_path}: no species (Z=...) in the GAP model's descriptors")
    return frozenset(chemical_symbols[z] for z in numbers)


def check_size(n_atoms: int, rules: StructureRules, file=None, frame=None) -> None:
    if n_atoms < rules.min_atoms:
        raise StructureError(
            "too_few_atoms",
            f"{n_atoms} atom(s); {rules.name} needs at least {rules.min_atoms}",
            file,
            frame,
        )
    if rules.max_atoms is not None and n_atoms > rules.max_atoms:
        raise StructureError(
            "too_many_atoms",
            f"{n_atoms} atoms; {rules.name} takes at most {rules.max_atoms} "
            "(memory and time grow as N^2)",
            file,
            frame,
        )


def validate_structure(atoms: Atoms, rules: StructureRules, file=None, frame=None) -> None:
    """Raise StructureError for the first rule `atoms` breaks (size, elements, finite
    coordinates, minimum distance); return None for a structure the calculator can take."""
    check_size(len(atoms), rules, file, frame)
    symbols = sorted(set(atoms.get_chemical_symbols()))
    if rules.species is None:
        if len(symbols) > 1:
            raise StructureError(
                "mixed_elements",
                f"contains {', '.join(symbols)}; {rules.name} treats every atom alike",
                file,
                frame,
            )
    elif foreign := [symbol for symbol in symbols if symbol not in rules.species]:
        raise StructureError(
            "unsupported_element",
            f"contains {', '.join(foreign)}; {rules.name} takes only "
            f"{', '.join(sorted(rules.species))}",
            file,
            frame,
        )
    bad = np.flatnonzero(~np.isfinite(atoms.positions).all(axis=1))
    if len(bad):
        raise StructureError(
            "non_finite_position",
            f"atom {bad[0]} is at {atoms.positions[bad[0]].tolist()} ({len(bad)} atom(s) "
            "with NaN or inf coordinates)",
            file,
            frame,
        )
    if len(atoms) > 1:
        distances, neighbours = cKDTree(atoms.positions).query(atoms.positions, k=2)
        i = int(np.argmin(distances[:, 1]))
        if distances[i, 1] < rules.min_distance:
            j = int(neighbours[i][neighbours[i] != i][0])  # at distance 0, i may come second
            raise StructureError(
                "overlapping_atoms",
                f"atoms {min(i, j)} and {max(i, j)} are {distances[i, 1]:.3f} {rules.unit} apart "
                f"(minimum {rules.min_distance} {rules.unit})",
                file,
                frame,
            )


def _read_failure(error: Exception) -> str:
    """One line for an exception of an ASE reader."""
    from ase.io.formats import UnknownFileTypeError

    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "a folder, not a structure file"
    if isinstance(error, UnicodeDecodeError):
        byte = error.object[error.start]
        return f"binary data, not a structure file (byte {byte:#04x} at offset {error.start})"
    key = error.args[0] if isinstance(error, KeyError) and error.args else None
    if isinstance(key, str) and re.fullmatch(r"[A-Z][a-z]{0,2}", key) and key not in atomic_numbers:
        return f"unknown element symbol {key!r}"
    if isinstance(error, UnknownFileTypeError):
        return "ASE cannot tell the format (use an extension such as .extxyz)"
    return re.sub(r"^ase\.io\.\w+: ", "", str(error)) or type(error).__name__


def read_frames(path: str | Path, format: str | None = None) -> Iterator[Atoms]:
    """The frames of a structure file, one at a time (format guessed by ASE unless given).

    A reader failure raises StructureFileError: reason 'unreadable_file' when no frame could be
    read (frame None), 'unreadable_frame' with the frame's index otherwise (the frames before it
    were yielded), 'empty_file' when the file holds no structure.
    """
    if Path(path).is_file() and Path(path).stat().st_size == 0:
        raise StructureFileError("empty_file", "the file is empty", path)
    count = 0
    try:
        for atoms in iread(str(path), index=":", format=format):
            yield atoms
            count += 1
    except Exception as error:  # noqa: BLE001 - every reader failure becomes one line
        detail = _read_failure(error)
        if count == 0:
            raise StructureFileError("unreadable_file", detail, path) from error
        raise StructureFileError(
            "unreadable_frame", f"{detail} (frames after it are not read)", path, count
        ) from error
    if count == 0:
        raise StructureFileError("empty_file", "no structures in the file", path)


def check_writable(path: Path) -> None:
    """Raise InputError naming `path` unless a file can be written there; missing folders are
    fine when their nearest existing parent is a writable folder (they are created on writing)."""
    path = Path(path).absolute()
    if path.is_dir():
        raise InputError(f"output {path} is a folder; give a file name")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise InputError(
            f"cannot write {path}: folder {folder} is not writable ({error.strerror})"
        ) from None
    if path.exists():
        try:
            with open(path, "a"):
                pass
        except OSError as error:
            raise InputError(f"cannot write {path}: {error.strerror}") from None
