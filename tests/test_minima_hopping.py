import numpy as np
import pytest
from ase import Atoms
from ase.calculators.lj import LennardJones
from ase.cluster import Icosahedron
from ase.optimize import BFGS

from paper_artifact.mh.minima_hopping import (
    CountingCalculator,
    MHParams,
    n_fragments,
    run_minima_hopping,
    soften_velocities,
)

LJ13_GM = -44.326801  # Cambridge Cluster Database, LJ13 (epsilon = sigma = 1)
LJ_PARAMS = MHParams(
    temperature0=3000.0,
    mdmin=3,
    md_timestep_fs=4.0,
    ediff0=1.0,
    fp_width_scale=0.5,
    fragmentation_factor=1.8,
)


def lj():
    return LennardJones(epsilon=1.0, sigma=1.0, rc=1e3)  # rc large: no energy shift


def lj_start(n, seed):
    rng = np.random.default_rng(seed)
    positions = [np.zeros(3)]
    while len(positions) < n:
        trial = positions[rng.integers(len(positions))] + rng.normal(size=3)
        trial = positions[-1] if np.linalg.norm(trial - positions[-1]) > 3 else trial
        if min(np.linalg.norm(trial - q) for q in positions) > 1.0:
            positions.append(trial)
    return Atoms(f"Ar{n}", positions=positions)


def _signature(result):
    return (
        [m.info["energy"] for m in result.minima],
        [m.positions.tolist() for m in result.minima],
        result.n_force_calls,
        result.n_steps,
        result.temperature,
        result.ediff,
        (result.n_accepted, result.n_rejected, result.n_same, result.n_fragmented),
    )


def test_counting_calculator_counts_one_call_per_geometry():
    atoms = Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 1.3]])
    counter = CountingCalculator(lj())
    atoms.calc = counter
    atoms.get_potential_energy()
    atoms.get_forces()
    assert counter.n_calls == 1
    atoms.positions[1, 2] = 1.2
    atoms.get_forces()
    assert counter.n_calls == 2
    # LJ dimer at r: E = 4 (r^-12 - r^-6)
    assert atoms.get_potential_energy() == pytest.approx(4 * (1.2**-12 - 1.2**-6))


def test_zero_steps_relaxes_start_to_dimer_minimum():
    atoms = Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 1.3]])
    result = run_minima_hopping(atoms, lj(), LJ_PARAMS, seed=0, workdir=None, max_steps=0)
    assert result.stop_reason == "max_steps"
    assert result.n_steps == 0 and len(result.minima) == 1
    assert result.best_energy == pytest.approx(-1.0, abs=1e-6)  # LJ dimer well depth
    assert result.best_atoms.get_distance(0, 1) == pytest.approx(2 ** (1 / 6), abs=1e-3)


def test_deterministic_for_fixed_seed():
    runs = [
        run_minima_hopping(lj_start(9, 1), lj(), LJ_PARAMS, seed=7, workdir=None, max_steps=4)
        for _ in range(2)
    ]
    assert _signature(runs[0]) == _signature(runs[1])
    other = run_minima_hopping(lj_start(9, 1), lj(), LJ_PARAMS, seed=8, workdir=None, max_steps=4)
    assert _signature(other) != _signature(runs[0])


def test_resume_gives_same_result_as_uninterrupted_run(tmp_path):
    straight = run_minima_hopping(lj_start(9, 2), lj(), LJ_PARAMS, 11, tmp_path / "a", 6)
    first = run_minima_hopping(lj_start(9, 2), lj(), LJ_PARAMS, 11, tmp_path / "b", 3)
    assert first.n_steps == 3
    assert (tmp_path / "b" / "state.json").exists() and (tmp_path / "b" / "minima.extxyz").exists()
    resumed = run_minima_hopping(lj_start(9, 2), lj(), LJ_PARAMS, 11, tmp_path / "b", 6)
    assert resumed.n_steps == 6
    assert _signature(resumed) == _signature(straight)


def test_resume_refuses_different_parameters(tmp_path):
    run_minima_hopping(lj_start(5, 3), lj(), LJ_PARAMS, 1, tmp_path, 1)
    other = MHParams(**{**LJ_PARAMS.__dict__, "mdmin": 4})
    with pytest.raises(ValueError, match="different MHParams"):
        run_minima_hopping(lj_start(5, 3), lj(), other, 1, tmp_path, 2)


def test_hot_md_fragments_are_counted_and_never_accepted():
    hot = MHParams(**{**LJ_PARAMS.__dict__, "temperature0": 60000.0, "beta_new": 1.0})
    result = run_minima_hopping(lj_start(9, 4), lj(), hot, seed=3, workdir=None, max_steps=4)
    assert result.n_fragmented > 0
    for minimum in result.minima:
        # independent check: every atom has a neighbour within 1.5 sigma, one component
        assert n_fragments(minimum.positions, 1.8 * 2 ** (1 / 6)) == 1


def test_separated_start_is_rejected():
    atoms = Atoms("Ar4", positions=[[0, 0, 0], [0, 0, 1.1], [0, 0, 9.0], [0, 0, 10.1]])
    with pytest.raises(ValueError, match="fragmented"):
        run_minima_hopping(atoms, lj(), LJ_PARAMS, seed=0, workdir=None, max_steps=2)


def test_softening_finds_lowest_curvature_mode():
    atoms = Icosahedron("Ar", noshells=2, latticeconstant=2 ** (1 / 6) * np.sqrt(2))
    atoms.calc = lj()
    BFGS(atoms, logfile=None).run(fmax=1e-6)
    x0, h = atoms.positions.copy(), 1e-4
    hessian = np.zeros((x0.size, x0.size))  # central finite differences of the forces
    for i in range(x0.size):
        step = np.zeros(x0.size)
        step[i] = h
        atoms.positions = x0 + step.reshape(x0.shape)
        f_plus = atoms.get_forces().ravel()
        atoms.positions = x0 - step.reshape(x0.shape)
        f_minus = atoms.get_forces().ravel()
        hessian[i] = -(f_plus - f_minus) / (2 * h)
    atoms.positions = x0
    hessian = 0.5 * (hessian + hessian.T)
    lowest_vibration = np.linalg.eigvalsh(hessian)[6]  # skip 6 rigid-body zero modes

    def curvature(vector):
        d = vector.ravel() / np.linalg.norm(vector)
        return d @ hessian @ d

    velocities = np.random.default_rng(0).normal(size=x0.shape)
    softened = soften_velocities(atoms, velocities, n_steps=20)
    assert np.linalg.norm(softened) == pytest.approx(np.linalg.norm(velocities))
    assert curvature(velocities) > 1.5 * lowest_vibration
    assert curvature(softened) < 1.1 * lowest_vibration


def test_reaches_lj13_global_minimum_and_stops():
    calls = []
    result = run_minima_hopping(
        lj_start(13, 9),
        lj(),
        LJ_PARAMS,
        seed=0,
        workdir=None,
        max_steps=300,
        target_energy=LJ13_GM,
        progress=lambda *args: calls.append(args),
    )
    assert result.stop_reason == "target_energy"
    assert 0 < result.n_steps < 300
    assert [c[0] for c in calls] == list(range(1, result.n_steps + 1))
    best = [c[4] for c in calls]
    assert best == sorted(best, reverse=True) and best[-1] == result.best_energy
    assert result.best_energy == pytest.approx(LJ13_GM, abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("start", range(5, 10))
def test_reaches_lj13_global_minimum_from_several_starts(start):
    result = run_minima_hopping(
        lj_start(13, start),
        lj(),
        LJ_PARAMS,
        seed=start,
        workdir=None,
        max_steps=300,
        target_energy=LJ13_GM,
    )
    assert result.stop_reason == "target_energy"
    assert result.best_energy == pytest.approx(LJ13_GM, abs=1e-4)


def test_target_structure_stop():
    target = Icosahedron("Ar", noshells=2, latticeconstant=2 ** (1 / 6) * np.sqrt(2))
    target.calc = lj()
    BFGS(target, logfile=None).run(fmax=1e-4)
    result = run_minima_hopping(
        lj_start(13, 9),
        lj(),
        LJ_PARAMS,
        seed=0,
        workdir=None,
        max_steps=300,
        target_structure=target,
    )
    assert result.stop_reason == "target_structure"
    assert result.best_energy == pytest.approx(LJ13_GM, abs=1e-4)


@pytest.mark.slow
def test_start_that_bfgs_blows_apart_is_relaxed_with_fire():
    from paper_artifact.structures import random_cluster

    rng = np.random.default_rng(np.random.SeedSequence([9, 38, 7]))
    cluster = random_cluster(38, rng, min_distance=1.0, bond_length=1.5, candidates=8)
    start = Atoms("Ar38", positions=cluster.positions)
    result = run_minima_hopping(start, lj(), LJ_PARAMS, seed=0, workdir=None, max_steps=0)
    # BFGS alone ends at E ~ -7 with 31 fragments; a compact LJ38 minimum is below -150
    assert n_fragments(result.best_atoms.positions, 1.8 * 2 ** (1 / 6)) == 1
    assert result.best_energy < -150.0
