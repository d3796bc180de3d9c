"""Reference labels (energy and forces) for candidate structures.

Each structure is one task run by the top-level function `label_one`, so any executor's map
(concurrent.futures, Parsl, ...) can replace the built-in map as long as calc_factory pickles
(a top-level function or functools.partial). A task whose calculation raises, or returns a
non-finite value, is reported in LabelResult.failures and its structure is left out: it never
receives an energy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ase import Atoms
from ase.calculators.calculator import Calculator

from paper_artifact.calculators.relax import relax_many
from paper_artifact.data import REF_ENERGY_KEY, REF_FORCES_KEY, REF_METHOD_KEY
from paper_artifact.executor import TaskError
from paper_artifact.validation import StructureRules, validate_structure

FAILURE_COLUMNS = ["index", "label", "error"]
PROGRESS_REPORTS = 20  # progress lines per call, at most (plus the final one)


@dataclass
class LabelResult:
    labelled: list[Atoms]  # input order, failures left out
    failures: pd.DataFrame  # FAILURE_COLUMNS; index = position in the input list


@dataclass(frozen=True)
class LabelOutcome:
    index: int
    energy: float | None = None
    forces: np.ndarray | None = None
    method: str = ""
    error: str | None = None


def structure_label(atoms: Atoms, index: int) -> str:
    """A human-readable name for reports: the source's label, else file:index, else formula."""
    info = atoms.info
    if "label" in info:
        return str(info["label"])
    if "source_file" in info:
        return f"{info['source_file']}:{info.get('source_index', '?')}"
    if "generator" in info:
        return f"{atoms.get_chemical_formula()} {info['generator']}:{info.get('generator_index')}"
    return f"{atoms.get_chemical_formula()} #{index}"


def label_one(
    task: tuple[int, Atoms, Callable[[], Calculator], str | None, StructureRules | None],
) -> LabelOutcome:
    """Energy (and forces, when the calculator implements them) of one structure."""
    index, atoms, calc_factory, method, rules = task
    try:
        if rules is not None:
            validate_structure(atoms, rules, frame=index)
        calc = calc_factory()
        work = atoms.copy()
        work.calc = calc
        forces = None
        if "forces" in calc.implemented_properties:
            # forces first: one calculation gives both (asking for the energy first made a cached
            # DFT calculator run an energy-only SCF and then a second SCF for the forces)
            forces = np.array(work.get_forces(), dtype=float)
        energy = float(work.get_potential_energy())
        if not np.isfinite(energy) or (forces is not None and not np.all(np.isfinite(forces))):
            raise FloatingPointError(f"non-finite result (energy {energy})")
    except Exception as error:  # reported per structure; one failure must not stop the batch
        return LabelOutcome(index=index, error=f"{type(error).__name__}: {error}")
    return LabelOutcome(index, energy, forces, method or type(calc).__name__)


def label_structures(
    atoms_list: list[Atoms],
    calc_factory: Callable[[], Calculator],
    map_fn: Callable[[Callable, Iterable], Iterator] = map,
    progress: Callable[[str], None] | None = None,
    method: str | None = None,
    rules: StructureRules | None = None,
) -> LabelResult:
    """Label every structure with a fresh calculator from calc_factory().

    Results go to info[REF_ENERGY_KEY] (eV), arrays[REF_FORCES_KEY] (eV/A) and
    info[REF_METHOD_KEY] (method, else the calculator's class name) of copies of the inputs.
    progress (e.g. a logger) gets a "labelled done/total" line about every 5 % of the tasks
    and at the end. With `rules` (validation.rules_for) a structure the calculator cannot take
    is a failure with the reason, and never reaches the calculator.
    """
    tasks = [(k, atoms, calc_factory, method, rules) for k, atoms in enumerate(atoms_list)]
    labelled: dict[int, Atoms] = {}
    failures = []
    report_every = max(1, len(tasks) // PROGRESS_REPORTS)
    for done, outcome in enumerate(map_fn(label_one, tasks), start=1):
        source = atoms_list[outcome.index]
        if outcome.error is not None:
            failures.append([outcome.index, structure_label(source, outcome.index), outcome.error])
        else:
            atoms = source.copy()
            atoms.arrays.pop(REF_FORCES_KEY, None)
            atoms.info[REF_ENERGY_KEY] = outcome.energy
            atoms.info[REF_METHOD_KEY] = outcome.method
            if outcome.forces is not None:
                atoms.arrays[REF_FORCES_KEY] = outcome.forces
            labelled[outcome.index] = atoms
        if progress is not None and (done % report_every == 0 or done == len(tasks)):
            progress(f"labelled {done}/{len(tasks)} ({len(failures)} failed)")
    failure_table = pd.DataFrame(failures, columns=FAILURE_COLUMNS).astype({"index": int})
    return LabelResult(
        labelled=[labelled[k] for k in sorted(labelled)],
        failures=failure_table.sort_values("index", ignore_index=True),
    )


def label_relaxation_paths(
    atoms_list: list[Atoms],
    calc_factory: Callable[[], Calculator],
    fmax: float,
    steps: int,
    map_fn: Callable,
    rules: StructureRules | None = None,
) -> LabelResult:
    """Relax every structure with the reference for at most `steps` steps; every geometry of
    each path (the start included) becomes a label, in the format of label_structures, with
    info['relax_step']. map_fn is an executor's map (calculators.relax.relax_many). A path
    that fails is one failure and adds no label."""
    names = [structure_label(atoms, k) for k, atoms in enumerate(atoms_list)]
    results = relax_many(atoms_list, names, calc_factory, fmax, steps, map_fn, rules, True)
    labelled, failures = [], []
    for k, (source, result) in enumerate(zip(atoms_list, results, strict=True)):
        if isinstance(result, TaskError):
            failures.append([k, names[k], f"{result.error_type}: {result.message}"])
            continue
        for step, frame in enumerate(result["frames"]):
            atoms = Atoms(source.numbers, positions=frame.positions, info=dict(source.info))
            atoms.info.update(
                {
                    "relax_step": step,
                    REF_ENERGY_KEY: frame.get_potential_energy(),
                    REF_METHOD_KEY: result["method"],
                }
            )
            atoms.arrays[REF_FORCES_KEY] = frame.get_forces()
            labelled.append(atoms)
    return LabelResult(
        labelled, pd.DataFrame(failures, columns=FAILURE_COLUMNS).astype({"index": int})
    )
