"""The anchor-protocol harness of benchmarks/bench_minima_hopping.py."""

import sys
from pathlib import Path

import numpy as np
import pytest
from ase.calculators.lj import LennardJones
from ase.cluster import Icosahedron
from ase.optimize import BFGS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_minima_hopping as bench  # noqa: E402


def test_all_pairs_lennard_jones_matches_ase():
    atoms = Icosahedron("Ar", noshells=2, latticeconstant=1.6)
    atoms.rattle(0.05, seed=1)
    ours = atoms.copy()
    ours.calc = bench.AllPairsLennardJones()
    ase = atoms.copy()
    ase.calc = LennardJones(epsilon=1.0, sigma=1.0, rc=1e3)
    assert ours.get_potential_energy() == pytest.approx(ase.get_potential_energy(), abs=1e-9)
    np.testing.assert_allclose(ours.get_forces(), ase.get_forces(), atol=1e-9)


def test_protocol_start_is_deterministic_relaxed_and_not_the_gm():
    system = bench.SYSTEMS["Mg13"]()
    first, draws = bench.protocol_start(system, 3)
    again, _ = bench.protocol_start(system, 3)
    np.testing.assert_array_equal(first.positions, again.positions)
    first.calc = system.calculator()
    assert np.sqrt((first.get_forces() ** 2).sum(axis=1)).max() < 1e-4  # FIRE then BFGS 1e-4
    assert first.get_potential_energy() > system.gm_energy + 1e-3 and draws >= 1
    assert np.linalg.norm(first.positions, axis=1).max() < 2 * system.radius


def test_gm_test_direct_and_after_re_relaxation():
    system = bench.SYSTEMS["LJ13"]()
    gm = Icosahedron("Ar", noshells=2, latticeconstant=2 ** (1 / 6) * np.sqrt(2))
    gm.calc = bench.AllPairsLennardJones()
    BFGS(gm, logfile=None).run(fmax=1e-8)
    counter = bench.Counter(system.calculator())
    test = bench.GMTest(system, counter)
    displaced = gm.positions + 0.01 * np.random.default_rng(0).normal(size=gm.positions.shape)
    gm.positions = displaced
    energy = gm.get_potential_energy()
    assert system.gm_energy + bench.GM_TOLERANCE < energy < system.gm_energy + 0.1
    assert test(displaced, energy, hops=3)
    assert test.hit["via"] == "re-relaxed" and test.hit["hops"] == 3
    direct = bench.GMTest(system, counter)
    assert direct(displaced, system.gm_energy, hops=1) and direct.hit["via"] == "direct"
    assert not bench.GMTest(system, counter)(displaced, system.gm_energy + 0.5, hops=1)


def test_ours_finds_the_lj13_gm_of_seed_2_in_the_protocol():
    row = bench.one_run(("LJ13", "ours", 2, {}))
    assert row["hit"] is not None and row["hit"]["via"] == "direct"
    assert row["hit"]["calls"] <= row["calls"] == row["engine_calls"]
