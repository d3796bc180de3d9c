"""Fitting and loading GAP models with QUIP's `gap_fit` (quippy-ase 0.10.3).

The paper's model (section "Gaussian Approximation Potential") is a sum of a SOAP many-body term
with a dot-product kernel and, optionally, a two-body (distance_2b) term with a squared-exponential
kernel. `gap_fit` treats every configuration as periodic, so each cluster is written centred in a
cubic box whose side exceeds the cluster extent plus the largest descriptor cutoff: no atom then
sees a periodic image, and the fitted energy equals that of the free cluster.

Input convention for labelled clusters: the reference energy (eV) is `atoms.info[energy_key]`,
forces (eV/A) are `atoms.arrays[force_key]`; when those keys are absent, the results stored in a
calculator (e.g. the SinglePointCalculator that ASE attaches when reading extxyz) are used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import all_changes
from ase.io import write

from paper_artifact.data import REF_ENERGY_KEY, REF_FORCES_KEY
from paper_artifact.units import E_MG1_PAPER_EV

from ..processes import die_with_parent
from .state import ExactStateCalculator

MODEL_FILE_NAME = "gap.xml"
TRAIN_FILE_NAME = "train.xyz"
LOG_FILE_NAME = "gap_fit.log"
CORE_FILE_NAME = "core_repulsion.xml"
CALCULATOR_NAME = "quippy-gap"


@dataclass(frozen=True)
class SoapParams:
    """SOAP descriptor and its sparse GP (defaults: Banik et al.'s Mg GAP, see docs/gap_fit.md)."""

    cutoff: float = 4.25
    n_max: int = 8
    l_max: int = 8
    atom_sigma: float = 0.5
    zeta: float = 4.0
    delta: float = 0.2
    n_sparse: int = 200
    # gap_fit's seeded random choice, not Banik et al.'s cur_points: CUR's randomised SVD picked
    # other sparse points from the same file with another OpenBLAS kernel (docs/gap_fit.md)
    sparse_method: str = "random"
    cutoff_transition_width: float = 1.0
    covariance_type: str = "dot_product"


@dataclass(frozen=True)
class TwoBodyParams:
    """distance_2b descriptor with an ARD squared-exponential kernel (paper Eq. for k^SE)."""

    cutoff: float = 7.0
    delta: float = 0.5
    covariance_type: str = "ard_se"
    theta_uniform: float = 1.0
    n_sparse: int = 20
    sparse_method: str = "uniform"


@dataclass(frozen=True)
class RepulsiveCore:
    """A short-range pair wall under the GAP, zero at and beyond `cutoff` (A).

    E(r) = strength * ((cutoff/r)^12 - 1 + 12 (r - cutoff)/cutoff) for r < cutoff, with energy and
    force continuous at the cutoff: QUIP's Lennard-Jones (eps6 = 0, sigma = cutoff, shifted energy
    and force), passed to gap_fit as its core potential. gap_fit subtracts it from the labels and
    the fitted model file is the sum of wall and GAP. A GAP has no data below the shortest training
    distance and may bind there without limit; the wall keeps relaxations out of that region.
    """

    cutoff: float = 2.5
    strength: float = 0.1  # eV; 1.1 eV per pair at 2.0 A, 45 eV at 1.5 A for cutoff 2.5

    def __post_init__(self) -> None:
        if not (self.cutoff > 0 and self.strength > 0):
            raise ValueError(
                f"cutoff and strength must be positive, got {self.cutoff}, {self.strength}"
            )

    def quip_xml(self, atomic_number: int = 12) -> str:
        return (
            '<LJ_params n_types="1" label="repulsive_core">\n'
            f'<per_type_data type="1" atomic_num="{atomic_number}" />\n'
            f'<per_pair_data type1="1" type2="1" sigma="{float(self.cutoff)!r}" eps6="0.0" '
            f'eps12="{float(self.strength)!r}" cutoff="{float(self.cutoff)!r}" energy_shift="T" '
            'linear_force_shift="T" />\n'
            "</LJ_params>\n"
        )

    def pair_energy(self, r: np.ndarray | float) -> np.ndarray:
        r = np.asarray(r, dtype=float)
        x = self.cutoff / r
        wall = self.strength * (x**12 - 1.0 + 12.0 * (r - self.cutoff) / self.cutoff)
        return np.where(r < self.cutoff, wall, 0.0)


@dataclass(frozen=True)
class GapFitSettings:
    """Settings shared by every fit of a grid search.

    e0 is the reference method's isolated-atom energy (eV); gap_fit subtracts n * e0 before fitting.
    The default is the paper's BP86/6-31G(d) Mg atom; set 0.0 for potentials whose atom energy is 0.
    """

    default_sigma_energy: float = 0.0025
    default_sigma_force: float = 0.025
    use_forces: bool = True
    sparse_jitter: float = 1.0e-8
    e0: float = E_MG1_PAPER_EV
    rnd_seed: int = 1
    box_length: float = 30.0
    energy_key: str = REF_ENERGY_KEY
    force_key: str = REF_FORCES_KEY
    openmp_threads: int = 1
    gap_fit_executable: str = "gap_fit"
    core: RepulsiveCore | None = None


@dataclass(frozen=True)
class FittedModel:
    xml_path: Path
    content_hash: str  # sha256 over the XML and its sparseX files
    fit_seconds: float
    peak_memory_mb: float  # max resident set size of the gap_fit process
    log_path: Path


class GapFitError(RuntimeError):
    """gap_fit exited with an error; the message quotes its error lines."""


def _fmt(value: float | int) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _descriptor_string(name: str, params: SoapParams | TwoBodyParams) -> str:
    fields = " ".join(f"{key}={_fmt(value)}" for key, value in vars(params).items())
    return f"{name} {fields}"


def _soaps(soap: SoapParams | Sequence[SoapParams]) -> tuple[SoapParams, ...]:
    terms = (soap,) if isinstance(soap, SoapParams) else tuple(soap)
    if not terms:
        raise ValueError("a GAP needs at least one SOAP term, got none")
    return terms


def build_gap_fit_command(
    train_file: Path | str,
    model_file: Path | str,
    soap: SoapParams | Sequence[SoapParams],
    two_body: TwoBodyParams | None,
    settings: GapFitSettings,
) -> list[str]:
    """argv for gap_fit: a GAP of one or more SOAP terms (+ optional distance_2b) fitted to
    `train_file`; several SOAPs (e.g. a short and a long cutoff) add their energies."""
    descriptors = [_descriptor_string("soap", term) for term in _soaps(soap)]
    if two_body is not None:
        descriptors.append(_descriptor_string("distance_2b", two_body))
    sigma = f"{_fmt(settings.default_sigma_energy)} {_fmt(settings.default_sigma_force)} 0.0 0.0"
    core = (
        []
        if settings.core is None
        else ["core_ip_args={IP LJ}", f"core_param_file={CORE_FILE_NAME}"]
    )
    return [
        settings.gap_fit_executable,
        f"at_file={train_file}",
        "gap={" + " : ".join(descriptors) + "}",
        "default_sigma={" + sigma + "}",
        f"e0={_fmt(settings.e0)}",
        f"sparse_jitter={_fmt(settings.sparse_jitter)}",
        f"energy_parameter_name={settings.energy_key}",
        f"force_parameter_name={settings.force_key}",
        f"rnd_seed={settings.rnd_seed}",
        "do_copy_at_file=F",
        "sparse_separate_file=T",
        f"gp_file={model_file}",
        *core,
    ]


def reference_energy(atoms: Atoms, energy_key: str, index: int = 0) -> float:
    """Reference energy in eV: `atoms.info[energy_key]`, else a stored calculator result."""
    if energy_key in atoms.info:
        return float(atoms.info[energy_key])
    if atoms.calc is not None and "energy" in atoms.calc.results:
        return float(atoms.calc.results["energy"])
    raise ValueError(
        f"structure {index} ({atoms.get_chemical_formula()}) has no reference energy: "
        f"neither info['{energy_key}'] nor a stored calculator energy"
    )


def reference_energies(atoms_list: Sequence[Atoms], energy_key: str) -> np.ndarray:
    return np.array([reference_energy(a, energy_key, i) for i, a in enumerate(atoms_list)])


def _reference_forces(atoms: Atoms, force_key: str) -> np.ndarray | None:
    if force_key in atoms.arrays:
        return np.asarray(atoms.arrays[force_key], dtype=float)
    if atoms.calc is not None and "forces" in atoms.calc.results:
        return np.asarray(atoms.calc.results["forces"], dtype=float)
    return None


def boxed_cluster(atoms: Atoms, box_length: float, cutoff: float, index: int = 0) -> Atoms:
    """Copy of `atoms` (positions only) centred in a periodic cubic box without image contacts."""
    extent = float(np.ptp(atoms.positions, axis=0).max())
    if extent + cutoff >= box_length:
        raise ValueError(
            f"structure {index} ({atoms.get_chemical_formula()}): extent {extent:.2f} A + cutoff "
            f"{cutoff:.2f} A does not fit the {box_length:.2f} A box; increase box_length"
        )
    boxed = Atoms(atoms.numbers, positions=atoms.positions, cell=[box_length] * 3, pbc=True)
    boxed.center()
    return boxed


def write_training_file(
    atoms_list: Sequence[Atoms],
    path: Path | str,
    box_length: float,
    energy_key: str,
    force_key: str | None,
    cutoff: float,
) -> Path:
    """Extxyz for gap_fit: boxed clusters with energies (and forces if given) under explicit keys.

    force_key=None leaves forces out, so gap_fit fits energies only.
    """
    frames = []
    for i, atoms in enumerate(atoms_list):
        boxed = boxed_cluster(atoms, box_length, cutoff, i)
        boxed.info[energy_key] = reference_energy(atoms, energy_key, i)
        forces = None if force_key is None else _reference_forces(atoms, force_key)
        if forces is not None:
            boxed.arrays[force_key] = forces
        frames.append(boxed)
    path = Path(path)
    write(path, frames, format="extxyz")
    return path


def _model_files(xml_path: Path) -> list[Path]:
    return [xml_path, *sorted(xml_path.parent.glob(xml_path.name + ".sparseX.*"))]


def copy_model(xml_path: Path, target_dir: Path) -> Path:
    """Copy a GAP XML and its sparseX files into target_dir; returns the new XML path."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for file in _model_files(xml_path):
        shutil.copy2(file, target_dir / file.name)
    return target_dir / xml_path.name


def model_hash(xml_path: Path) -> str:
    digest = hashlib.sha256()
    for file in _model_files(xml_path):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _resolve_executable(name: str) -> str:
    # Prefer PATH; fall back to the venv's bin directory, which is not on PATH when Python is
    # started by absolute path.
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise FileNotFoundError(f"gap_fit executable '{name}' not found on PATH or next to Python")
    return found


def _error_excerpt(log_path: Path, tail: int = 15) -> str:
    lines = log_path.read_text(errors="replace").splitlines()
    flagged = [ln.strip() for ln in lines if "ERROR" in ln or "SYSTEM ABORT" in ln]
    last = [ln.rstrip() for ln in lines[-tail:]]
    return "\n".join(["error lines:", *flagged, f"last {tail} lines:", *last])


def run_gap_fit(
    train_atoms: Sequence[Atoms],
    workdir: Path | str,
    soap: SoapParams | Sequence[SoapParams],
    two_body: TwoBodyParams | None,
    settings: GapFitSettings,
) -> FittedModel:
    """Write the training file into `workdir`, run gap_fit there and return the fitted model."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    cutoff = max(
        [term.cutoff for term in _soaps(soap)] + ([two_body.cutoff] if two_body else [])
    )
    train_file = write_training_file(
        train_atoms,
        workdir / TRAIN_FILE_NAME,
        settings.box_length,
        settings.energy_key,
        settings.force_key if settings.use_forces else None,
        cutoff,
    )
    xml_path = workdir / MODEL_FILE_NAME
    for stale in _model_files(xml_path):
        stale.unlink(missing_ok=True)
    if settings.core is not None:
        species = {int(z) for atoms in train_atoms for z in atoms.numbers}
        if len(species) != 1:
            raise ValueError(
                f"the repulsive core is defined for one element, training has {species}"
            )
        (workdir / CORE_FILE_NAME).write_text(settings.core.quip_xml(species.pop()))
    argv = build_gap_fit_command(train_file.name, xml_path.name, soap, two_body, settings)
    argv[0] = _resolve_executable(argv[0])
    env = {**os.environ, "OMP_NUM_THREADS": str(settings.openmp_threads)}
    log_path = workdir / LOG_FILE_NAME
    start = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=die_with_parent,
        )
        try:
            # wait4 gives the resource usage of this child alone (RUSAGE_CHILDREN would
            # accumulate the maximum over every child of the process, e.g. earlier fits).
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    fit_seconds = time.perf_counter() - start
    if process.returncode != 0 or not xml_path.exists():
        raise GapFitError(
            f"gap_fit failed in {workdir} (exit code {process.returncode}, log {log_path})\n"
            + _error_excerpt(log_path)
        )
    return FittedModel(
        xml_path=xml_path,
        content_hash=model_hash(xml_path),
        fit_seconds=fit_seconds,
        peak_memory_mb=usage.ru_maxrss / 1024.0,  # Linux reports kilobytes
        log_path=log_path,
    )


class GapCalculator(ExactStateCalculator):
    """A fitted GAP as an ASE calculator: energy and forces from quippy's `Potential.calc`.

    quippy's own ASE calculator (`quippy.potential.Potential.calculate`) converts the whole ASE
    Atoms to a new QUIP Atoms object and reads every QUIP property back on each call. Here one QUIP
    Atoms is kept and rebuilt only when numbers, cell or pbc change; a call copies the positions in
    and passes preallocated energy/force arrays to the Fortran `calc`. Energies and forces are
    always computed together (one QUIP call gives both), so an energy call followed by a force
    call costs one evaluation, as with quippy's calculator. Results are identical to quippy's
    (tested); most of a call's cost is inside QUIP (see docs/gap_fit.md, "GAP call cost").
    """

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, xml_path: Path | str, **kwargs):
        from quippy.potential import Potential

        super().__init__(**kwargs)
        xml_path = Path(xml_path)
        if not xml_path.is_file():
            raise FileNotFoundError(f"GAP model file {xml_path} does not exist")
        # The Fortran potential behind quippy's ASE wrapper (quippy's own attribute for it).
        self._potential = Potential(param_filename=str(xml_path))._quip_potential
        self._quip_atoms = None
        self._quip_key = None  # numbers, cell and pbc the QUIP Atoms was built for
        self._energy = np.zeros(())  # 0-d arrays receive Fortran scalars (quippy's convention)
        self._forces = None

    def _get_name(self) -> str:
        return CALCULATOR_NAME  # written by ASE trajectory writers

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        from quippy.convert import ase_to_quip

        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        key = (atoms.numbers.tobytes(), atoms.cell.array.tobytes(), atoms.pbc.tobytes())
        if key != self._quip_key:
            self._quip_atoms = ase_to_quip(atoms)
            self._forces = np.zeros((3, len(atoms)), order="F")
            self._quip_key = key
        self._quip_atoms.pos[:] = atoms.positions.T
        self._potential.calc(self._quip_atoms, energy=self._energy, force=self._forces, args_str="")
        energy = float(self._energy)
        self.results = {"energy": energy, "free_energy": energy, "forces": self._forces.T.copy()}


def model_e0(xml_path: Path | str) -> dict[int, float]:
    """Isolated-atom energy per element (eV) of a fitted GAP: gap_fit's e0, stored in the model
    as <e0 Z=".." value=".."/> (the energy the fit subtracts per atom)."""
    import xml.etree.ElementTree as ElementTree

    energies = {}
    for _, element in ElementTree.iterparse(xml_path):
        if element.tag == "e0":
            energies[int(element.get("Z"))] = float(element.get("value"))
        element.clear()
    return energies


def load_gap(xml_path: Path | str) -> GapCalculator:
    """The fitted GAP as an ASE calculator named 'quippy-gap'."""
    return GapCalculator(xml_path)


def predict_energies(calc, atoms_list: Sequence[Atoms]) -> np.ndarray:
    """Energies (eV) of clusters evaluated as free, non-periodic clusters.

    A free cluster gives the same energy as the boxed cluster used in training (tested).
    """
    energies = np.empty(len(atoms_list))
    for i, atoms in enumerate(atoms_list):
        free = Atoms(atoms.numbers, positions=atoms.positions, pbc=False)
        free.calc = calc
        energies[i] = free.get_potential_energy()
    return energies
