from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import all_changes
from ase.calculators.lj import LennardJones

from paper_artifact.calculators.gupta import Gupta
from paper_artifact.data import REF_ENERGY_KEY, REF_FORCES_KEY, REF_METHOD_KEY
from paper_artifact.data.label import label_relaxation_paths, label_structures
from paper_artifact.executor import open_executor
from paper_artifact.structures import random_cluster
from paper_artifact.validation import rules_for

SIGMA, EPSILON = 2.9, 0.05
lj_factory = partial(LennardJones, sigma=SIGMA, epsilon=EPSILON, rc=1.0e4, smooth=False)


class FailsOnFourAtoms(LennardJones):
    """Stands in for a DFT calculator whose SCF does not converge on some structures."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        if len(atoms) == 4:
            raise RuntimeError("SCF did not converge in 300 cycles")
        super().calculate(atoms, properties, system_changes)


class ReturnsNaN(LennardJones):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["energy"] = float("nan")


def failing_factory():
    return FailsOnFourAtoms(sigma=SIGMA, epsilon=EPSILON, rc=1.0e4, smooth=False)


def pair_energy(r: float) -> float:
    return 4 * EPSILON * ((SIGMA / r) ** 12 - (SIGMA / r) ** 6)


def dimer(r: float) -> Atoms:
    return Atoms("Mg2", positions=[[0, 0, 0], [0, 0, r]])


def square(side: float) -> Atoms:
    atoms = Atoms("Mg4", positions=[[0, 0, 0], [side, 0, 0], [0, side, 0], [side, side, 0]])
    atoms.info["label"] = "square"
    return atoms


def test_energies_forces_and_method_are_stored():
    structures = [dimer(3.0), dimer(3.5)]
    messages = []
    result = label_structures(structures, lj_factory, progress=messages.append)
    energies = [atoms.info[REF_ENERGY_KEY] for atoms in result.labelled]
    np.testing.assert_allclose(energies, [pair_energy(3.0), pair_energy(3.5)], rtol=1e-10)
    # Force on the upper atom of a dimer: -dE/dr along +z, by central differences.
    h = 1e-5
    expected_fz = -(pair_energy(3.0 + h) - pair_energy(3.0 - h)) / (2 * h)
    assert result.labelled[0].arrays[REF_FORCES_KEY][1, 2] == pytest.approx(expected_fz, rel=1e-6)
    assert result.labelled[0].info[REF_METHOD_KEY] == "LennardJones"
    assert result.failures.empty
    assert messages == ["labelled 1/2 (0 failed)", "labelled 2/2 (0 failed)"]
    assert REF_ENERGY_KEY not in structures[0].info  # inputs untouched


def test_failing_structures_are_reported_and_never_labelled():
    structures = [dimer(3.0), square(3.2), dimer(3.3)]
    messages = []
    result = label_structures(
        structures, failing_factory, progress=messages.append, method="LJ test"
    )
    assert messages[-1] == "labelled 3/3 (1 failed)"
    assert [len(atoms) for atoms in result.labelled] == [2, 2]
    assert all(atoms.info[REF_METHOD_KEY] == "LJ test" for atoms in result.labelled)
    assert result.failures.values.tolist() == [
        [1, "square", "RuntimeError: SCF did not converge in 300 cycles"]
    ]
    nan_result = label_structures([dimer(3.0)], ReturnsNaN)
    assert nan_result.labelled == [] and "non-finite" in nan_result.failures["error"][0]


def test_process_pool_map_gives_the_same_labels():
    structures = [dimer(3.0), square(3.2), dimer(3.3), square(3.4)]
    serial = label_structures(structures, failing_factory)
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = label_structures(structures, failing_factory, map_fn=pool.map)
    assert [a.info[REF_ENERGY_KEY] for a in parallel.labelled] == [
        a.info[REF_ENERGY_KEY] for a in serial.labelled
    ]
    assert parallel.failures["index"].tolist() == [1, 3]


def test_progress_lines_are_throttled():
    messages = []
    label_structures(
        [dimer(3.0 + 0.01 * k) for k in range(45)], lj_factory, progress=messages.append
    )
    # every 45 // 20 = 2 tasks, plus the last one
    assert len(messages) == 23 and messages[-1] == "labelled 45/45 (0 failed)"


def test_a_cached_reference_computes_energy_and_forces_in_one_calculation(tmp_path):
    """Asking for the energy first made a cached DFT calculator run one SCF for the energy and
    a second one for the forces, and store the second energy while the data kept the first."""
    from paper_artifact.calculators.cache import CachedCalculator, EnergyCache

    class Counting(Gupta):
        calls: list = []

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            Counting.calls.append(tuple(properties))
            super().calculate(atoms, properties, system_changes)

    cache = EnergyCache(tmp_path / "c.sqlite")
    factory = partial(CachedCalculator, Counting(), cache, "gupta")
    dimers = [Atoms("Mg2", positions=[[0, 0, 0], [0, 0, d]]) for d in (3.0, 3.3)]
    labelled = label_structures(dimers, factory).labelled
    assert Counting.calls == [("energy", "forces")] * 2
    for atoms in labelled:
        assert cache.get(atoms, "gupta").energy == atoms.info[REF_ENERGY_KEY]


def test_relaxation_paths_label_every_geometry_with_the_reference():
    starts = [random_cluster(n, np.random.default_rng(n)) for n in (6, 7)]
    for atoms in starts:
        atoms.info["generator"] = "active_learning"
    broken = Atoms("Mg2", positions=[[0, 0, 0], [0, 0, 0.1]])  # overlapping: refused by rules
    with open_executor() as executor:
        result = label_relaxation_paths(
            [*starts, broken], Gupta, 0.05, 4, executor.map, rules_for("gupta", 2)
        )
    assert list(result.failures["index"]) == [2]
    for n, start in zip((6, 7), starts, strict=True):
        path = [a for a in result.labelled if len(a) == n]
        assert [a.info["relax_step"] for a in path] == list(range(len(path))) and len(path) == 5
        np.testing.assert_allclose(path[0].positions, start.positions)
        assert path[-1].info[REF_ENERGY_KEY] < path[0].info[REF_ENERGY_KEY]
        for atoms in path:  # each label is the reference at that geometry
            calc_atoms = atoms.copy()
            calc_atoms.calc = Gupta()
            assert atoms.info[REF_ENERGY_KEY] == pytest.approx(calc_atoms.get_potential_energy())
            np.testing.assert_allclose(atoms.arrays[REF_FORCES_KEY], calc_atoms.get_forces())
            assert atoms.info[REF_METHOD_KEY] == "Gupta"
            assert atoms.info["generator"] == "active_learning"
