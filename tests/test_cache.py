import multiprocessing
import os
import signal
import sqlite3

import numpy as np
import pytest
from ase import Atoms

from paper_artifact.calculators.cache import (
    CachedCalculator,
    EnergyCache,
    at_stored_precision,
    structure_key,
)
from paper_artifact.calculators.gupta import Gupta


def _dimer(distance):
    return Atoms("Mg2", positions=[[0.0, 0.0, 0.0], [0.0, 0.0, distance]])


def test_miss_then_hit_roundtrip(tmp_path):
    cache = EnergyCache(tmp_path / "c.sqlite")
    atoms = _dimer(3.0)
    assert cache.get(atoms, "m") is None
    forces = np.array([[0.0, 0.0, 0.1], [0.0, 0.0, -0.1]])
    cache.put(atoms, "m", -1.25, forces)
    reopened = EnergyCache(tmp_path / "c.sqlite")  # a later run sees the stored row
    hit = reopened.get(atoms, "m")
    assert hit.energy == -1.25
    assert np.array_equal(hit.forces, forces)
    assert len(reopened) == 1


def test_key_depends_on_settings_numbers_and_positions():
    atoms = _dimer(3.0)
    base = structure_key(atoms, "xc=a")
    assert structure_key(atoms, "xc=b") != base
    assert structure_key(_dimer(3.00001), "xc=a") != base
    assert structure_key(Atoms("MgAl", positions=atoms.positions), "xc=a") != base
    # below the 1e-6 A rounding the key is unchanged; -0.0 and 0.0 are the same position
    assert structure_key(_dimer(3.0 + 2e-8), "xc=a") == base
    negative_zero = atoms.copy()
    negative_zero.positions[0] = [-0.0, -0.0, -0.0]
    assert structure_key(negative_zero, "xc=a") == base


def test_energy_only_row_and_bad_forces_shape(tmp_path):
    cache = EnergyCache(tmp_path / "c.sqlite")
    cache.put(_dimer(3.0), "m", -2.0)
    assert cache.get(_dimer(3.0), "m").forces is None
    with pytest.raises(ValueError, match="forces shape"):
        cache.put(_dimer(3.0), "m", -2.0, np.zeros((3, 3)))


def test_cached_calculator_computes_each_structure_once(tmp_path):
    cache = EnergyCache(tmp_path / "c.sqlite")
    reference = _dimer(3.2)
    reference.calc = Gupta()
    for _ in range(2):  # second pass = a new run with a fresh wrapper
        wrapped = CachedCalculator(Gupta(), cache, settings="gupta-mg")
        atoms = _dimer(3.2)
        atoms.calc = wrapped
        assert atoms.get_potential_energy() == reference.get_potential_energy()
        assert np.array_equal(atoms.get_forces(), at_stored_precision(reference.get_forces()))
    assert (wrapped.hits, wrapped.misses) == (1, 0)
    assert len(cache) == 1


def _writer(path, offset, count):
    cache = EnergyCache(path)
    for i in range(count):
        distance = 2.5 + 0.001 * (offset + i)
        cache.put(_dimer(distance), "m", -distance, np.full((2, 3), distance))


def test_two_processes_writing_concurrently(tmp_path):
    path = tmp_path / "shared.sqlite"
    EnergyCache(path)
    context = multiprocessing.get_context("fork")  # separate processes, no re-import
    workers = [context.Process(target=_writer, args=(path, offset, 60)) for offset in (0, 60)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    cache = EnergyCache(path)
    assert len(cache) == 120
    for i in range(120):
        distance = 2.5 + 0.001 * i
        hit = cache.get(_dimer(distance), "m")
        assert hit.energy == -distance
        assert np.array_equal(hit.forces, np.full((2, 3), distance))


def test_kill_9_during_writes_leaves_a_consistent_store(tmp_path):
    path = tmp_path / "killed.sqlite"
    EnergyCache(path)
    context = multiprocessing.get_context("fork")
    worker = context.Process(target=_writer, args=(path, 0, 100_000))
    worker.start()
    cache = EnergyCache(path)
    while len(cache) < 20 and worker.is_alive():  # let it commit some rows, then kill it mid-stream
        worker.join(timeout=0.05)
    assert worker.is_alive()
    os.kill(worker.pid, signal.SIGKILL)
    worker.join()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    stored = len(cache)
    assert stored >= 20
    for i in range(stored):  # rows are committed in order, each one complete
        distance = 2.5 + 0.001 * i
        assert cache.get(_dimer(distance), "m").energy == -distance
