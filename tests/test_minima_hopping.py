import json
from dataclasses import replace

import numpy as np
import pytest
from ase import Atoms, units
from ase.calculators.lj import LennardJones
from ase.cluster import Icosahedron
from ase.optimize import BFGS

from paper_artifact.calculators.gupta import Gupta
from paper_artifact.calculators.lbfgs import LBFGSCore
from paper_artifact.mh.escape import (
    CountedPotential,
    escape_md,
    lowest_curvature_mode,
    median_nearest_neighbour,
    n_fragments,
    relocation_move,
    rigid_motion_basis,
    soften,
    thermal_velocities,
)
from paper_artifact.mh.minima_hopping import (
    LENNARD_JONES_PARAMS,
    MHParams,
    certify_minima,
    relax_lbfgs,
    run_minima_hopping,
)
from paper_artifact.structures import random_cluster

LJ13_GM = -44.326801  # Cambridge Cluster Database, LJ13 (epsilon = sigma = 1)
LJ = LENNARD_JONES_PARAMS


def lj():
    return LennardJones(epsilon=1.0, sigma=1.0, rc=1e3)  # rc large: no energy shift


def lj_start(n, seed):
    rng = np.random.default_rng(seed)
    positions = [np.zeros(3)]
    while len(positions) < n:
        trial = positions[rng.integers(len(positions))] + rng.normal(size=3)
        if min(np.linalg.norm(trial - q) for q in positions) > 1.0:
            positions.append(trial)
    return Atoms(f"Ar{n}", positions=positions)


def lj13_icosahedron():
    atoms = Icosahedron("Ar", noshells=2, latticeconstant=2 ** (1 / 6) * np.sqrt(2))
    atoms.calc = lj()
    BFGS(atoms, logfile=None).run(fmax=1e-8)
    return atoms


def hessian(atoms, h=1e-4):
    x0 = atoms.positions.copy()
    out = np.zeros((x0.size, x0.size))
    for i in range(x0.size):
        step = np.zeros(x0.size)
        step[i] = h
        atoms.positions = x0 + step.reshape(x0.shape)
        f_plus = atoms.get_forces().ravel()
        atoms.positions = x0 - step.reshape(x0.shape)
        f_minus = atoms.get_forces().ravel()
        out[i] = -(f_plus - f_minus) / (2 * h)
    atoms.positions = x0
    return 0.5 * (out + out.T)


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


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_counted_potential_counts_every_call_and_rejects_non_finite():
    atoms = Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 1.2]])
    potential = CountedPotential(atoms, lj())
    energy, forces = potential(atoms.positions)
    assert energy == pytest.approx(4 * (1.2**-12 - 1.2**-6))
    assert forces[1, 2] == pytest.approx(-forces[0, 2]) and forces[1, 2] < 0  # attractive
    potential(atoms.positions)  # the same geometry again is a new call
    assert potential.n_calls == 2
    with pytest.raises(FloatingPointError, match="non-finite"):
        potential(np.array([[0, 0, 0], [0, 0, 0.0]]))  # two atoms on one spot


def test_softening_turns_a_random_direction_towards_the_lowest_mode():
    atoms = lj13_icosahedron()
    h = hessian(atoms)
    lowest = np.linalg.eigvalsh(h)[6]  # skip 6 rigid-body zero modes
    x0 = atoms.positions.copy()
    potential = CountedPotential(atoms, lj())
    direction = np.random.default_rng(0).normal(size=x0.shape)
    softened, curvature = soften(potential, x0, np.zeros_like(x0), direction, 40, 1e-3)
    d = softened.ravel()
    start = direction.ravel() / np.linalg.norm(direction)
    assert np.linalg.norm(d) == pytest.approx(1.0)
    assert np.abs(rigid_motion_basis(x0).T @ d).max() < 1e-10
    # it stops once the residual is below half the curvature (6 calls here), not at the mode
    assert potential.n_calls < 40
    assert start @ h @ start > 2.0 * lowest
    assert d @ h @ d < 1.6 * lowest
    assert curvature == pytest.approx(d @ h @ d, rel=0.3)


def test_lowest_curvature_mode_matches_the_hessian_and_finds_a_saddle():
    atoms = lj13_icosahedron()
    potential = CountedPotential(atoms, lj())
    value, mode = lowest_curvature_mode(potential, atoms.positions)
    assert value == pytest.approx(np.linalg.eigvalsh(hessian(atoms))[6], rel=1e-4)
    assert potential.n_calls == 2 * atoms.positions.size
    # a square of four LJ atoms is a stationary point with negative out-of-plane curvature
    r = 2 ** (1 / 6)
    square = Atoms("Ar4", positions=[[0, 0, 0], [r, 0, 0], [r, r, 0], [0, r, 0]])
    square.calc = lj()
    BFGS(square, logfile=None).run(fmax=1e-8)  # stays planar: forces are in-plane
    value, mode = lowest_curvature_mode(CountedPotential(square, lj()), square.positions)
    assert value < -1.0
    assert mode.shape == (4, 3) and np.linalg.norm(mode) == pytest.approx(1.0)


def test_escape_md_conserves_energy_and_restarts_when_it_blows_up():
    atoms = lj13_icosahedron()
    x0 = atoms.positions.copy()
    masses = atoms.get_masses()
    velocities = thermal_velocities(masses, 3481.0, np.random.default_rng(1))
    assert np.abs((masses[:, None] * velocities).sum(axis=0)).max() < 1e-10
    cutoff = 1.6 * median_nearest_neighbour(x0)
    args = (x0, LJ13_GM, np.zeros_like(x0), velocities, masses)
    fine = escape_md(CountedPotential(atoms, lj()), *args, 0.05, 2, 10000, cutoff)
    assert fine.n_restarts == 0 and fine.energy_drift < 0.01
    coarse = escape_md(CountedPotential(atoms, lj()), *args, 40 * units.fs, 2, 10000, cutoff)
    assert coarse.n_restarts >= 1 and coarse.dt < 40 * units.fs
    assert np.isfinite(coarse.positions).all()


def test_escape_md_reports_a_trajectory_that_stays_home():
    atoms = lj13_icosahedron()
    x0 = atoms.positions.copy()
    masses = atoms.get_masses()
    cold = thermal_velocities(masses, 5.0, np.random.default_rng(2))
    md = escape_md(
        CountedPotential(atoms, lj()), x0, LJ13_GM, np.zeros_like(x0), cold, masses, 0.2, 2,
        10000, 1.6 * median_nearest_neighbour(x0), 0.3 * median_nearest_neighbour(x0),
    )  # fmt: skip
    assert md.home


def test_escape_md_turns_back_an_evaporating_atom():
    dimer = Atoms("Ar3", positions=[[0, 0, 0], [2 ** (1 / 6), 0, 0], [0.56, 0.97, 0]])
    dimer.calc = lj()
    BFGS(dimer, logfile=None).run(fmax=1e-8)
    x0 = dimer.positions.copy()
    masses = dimer.get_masses()
    velocities = np.zeros_like(x0)
    outward = x0[2] - x0[:2].mean(axis=0)
    velocities[2] = 0.4 * outward / np.linalg.norm(outward)  # well above the escape speed
    velocities -= (masses[:, None] * velocities).sum(axis=0) / masses.sum()
    cutoff = 1.6 * median_nearest_neighbour(x0)
    potential = CountedPotential(dimer, lj())
    md = escape_md(potential, x0, -3.0, np.zeros_like(x0), velocities, masses, 0.1, 3, 400, cutoff)
    assert md.n_fragment_fixes >= 1
    assert n_fragments(md.positions, 2.5 * cutoff) == 1


def test_lbfgs_relaxes_to_within_1e_4_ev_of_the_minimum():
    rng = np.random.default_rng(3)
    for n in (13, 19):
        start = random_cluster(n, rng)
        potential = CountedPotential(start, Gupta())
        energy, forces = potential(start.positions)
        relaxed, core = relax_lbfgs(potential, start.positions, energy, forces, 1e-4, 0.01, 3000)
        assert relaxed.converged and core.gamma > 0
        reference = Atoms(start.numbers, positions=relaxed.positions)
        reference.calc = Gupta()
        BFGS(reference, logfile=None).run(fmax=1e-7, steps=20000)
        assert 0.0 <= relaxed.energy - reference.get_potential_energy() < 1e-4


def test_lbfgs_core_first_step_and_scaling():
    # E = 2 (x + 0.25)^2 along x: gradient 4 (x + 0.25), minimum at x = -0.25
    core = LBFGSCore(inverse_curvature=0.5, max_step=10.0)
    np.testing.assert_allclose(core.step(np.zeros(3), np.array([1.0, 0, 0])), [-0.5, 0, 0])
    step = core.step(np.array([-0.5, 0, 0]), np.array([-1.0, 0, 0]))
    assert core.gamma == pytest.approx(0.25)  # 1 / curvature from one pair
    np.testing.assert_allclose(step, [0.25, 0, 0])  # lands on the minimum


def test_zero_hops_relaxes_start_to_dimer_minimum():
    atoms = Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 1.3]])
    result = run_minima_hopping(atoms, lj(), LJ, seed=0, workdir=None, max_steps=0)
    assert result.stop_reason == "max_steps"
    assert result.n_steps == 0 and len(result.minima) == 1
    assert result.best_energy == pytest.approx(-1.0, abs=1e-8)  # LJ dimer well depth
    assert result.best_atoms.get_distance(0, 1) == pytest.approx(2 ** (1 / 6), abs=1e-4)


def test_deterministic_for_fixed_seed():
    runs = [run_minima_hopping(lj_start(9, 1), lj(), LJ, 7, None, 5) for _ in range(2)]
    assert _signature(runs[0]) == _signature(runs[1])
    other = run_minima_hopping(lj_start(9, 1), lj(), LJ, 8, None, 5)
    assert _signature(other) != _signature(runs[0])


def test_resume_gives_same_result_as_uninterrupted_run(tmp_path):
    straight = run_minima_hopping(lj_start(9, 2), lj(), LJ, 11, tmp_path / "a", 8)
    first = run_minima_hopping(lj_start(9, 2), lj(), LJ, 11, tmp_path / "b", 4)
    assert first.n_steps == 4
    assert (tmp_path / "b" / "state.json").exists() and (tmp_path / "b" / "minima.extxyz").exists()
    resumed = run_minima_hopping(lj_start(9, 2), lj(), LJ, 11, tmp_path / "b", 8)
    assert resumed.n_steps == 8
    assert _signature(resumed) == _signature(straight)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"params": replace(LJ, mdmin=3)}, "params"),
        ({"seed": 2}, "seed"),
        ({"calculator_id": "lj-other"}, "calculator"),
        ({"atoms": lj_start(5, 4)}, "start"),
    ],
)
def test_resume_refuses_a_different_run(tmp_path, change, field):
    run = {"atoms": lj_start(5, 3), "params": LJ, "seed": 1, "calculator_id": "lj"}
    run_minima_hopping(run["atoms"], lj(), run["params"], run["seed"], tmp_path, 1,
                       calculator_id=run["calculator_id"])  # fmt: skip
    run.update(change)
    with pytest.raises(ValueError, match=f"another {field}"):
        run_minima_hopping(run["atoms"], lj(), run["params"], run["seed"], tmp_path, 2,
                           calculator_id=run["calculator_id"])  # fmt: skip


def test_every_reported_minimum_is_converged_and_the_lowest_are_certified():
    rng = np.random.default_rng(5)
    result = run_minima_hopping(random_cluster(19, rng), Gupta(), MHParams(), 5, None, 12)
    assert len(result.minima) > 5
    energies = sorted(m.info["energy"] for m in result.minima)
    certified = [m for m in result.minima if m.info["certified"]]
    assert sorted(m.info["energy"] for m in certified) == energies[: len(certified)]
    assert len(certified) == min(5, len(result.minima))
    for minimum in result.minima:
        tight = Atoms(minimum.numbers, positions=minimum.positions)
        tight.calc = Gupta()
        BFGS(tight, logfile=None).run(fmax=1e-7, steps=20000)
        assert 0.0 <= minimum.info["energy"] - tight.get_potential_energy() < 1e-4


def test_a_saddle_among_the_lowest_is_replaced_by_the_minimum_below_it():
    r = 2 ** (1 / 6)
    square = Atoms("Ar4", positions=[[0, 0, 0], [r, 0, 0], [r, r, 0], [0, r, 0]])
    # the planar start relaxes onto the square saddle; certification finds the tetrahedron
    result = run_minima_hopping(square, lj(), LJ, seed=0, workdir=None, max_steps=0)
    assert result.n_saddles >= 1  # the square, then possibly a planar rhombus
    assert result.best_energy == pytest.approx(-6.0, abs=1e-6)  # LJ4 tetrahedron
    assert all(m.info["certified"] for m in result.minima)


def lj13_adatom_defect():
    """The LJ13 icosahedron with one vertex atom moved onto a three-fold hollow of the surface."""
    ico = lj13_icosahedron()
    x = ico.positions.copy()
    centre = int(np.argmin(np.linalg.norm(x - x.mean(axis=0), axis=1)))
    vertex = (centre + 1) % 13
    surface = [i for i in range(13) if i not in (centre, vertex)]
    far = sorted(surface, key=lambda i: -np.linalg.norm(x[i] - x[vertex]))
    a = far[0]
    b, c = sorted((i for i in surface if i != a), key=lambda i: np.linalg.norm(x[i] - x[a]))[:2]
    hollow = (x[a] + x[b] + x[c]) / 3
    normal = hollow - x[centre]
    x[vertex] = hollow + 0.8 * normal / np.linalg.norm(normal)
    return x, vertex, ico.positions[vertex]


def test_relocation_move_puts_the_adatom_back_into_the_vacancy():
    x, adatom, vacancy = lj13_adatom_defect()
    nn = median_nearest_neighbour(lj13_icosahedron().positions)
    moved = relocation_move(x, nn, np.random.default_rng(0))
    assert moved is not None
    changed = np.flatnonzero(np.linalg.norm(moved - x, axis=1) > 0)
    assert changed.tolist() == [adatom]
    assert np.linalg.norm(moved[adatom] - vacancy) < 0.3 * nn


def test_relocation_move_leaves_a_perfect_icosahedron_alone():
    x = lj13_icosahedron().positions
    nn = median_nearest_neighbour(x)
    assert relocation_move(x, nn, np.random.default_rng(0)) is None


def test_one_relocation_hop_turns_the_defect_into_the_icosahedron():
    x, _, _ = lj13_adatom_defect()
    start = Atoms("Ar13", positions=x)
    result = run_minima_hopping(start, lj(), LJ, 0, None, 1, target_energy=LJ13_GM)
    assert result.stop_reason == "target_energy"
    without = run_minima_hopping(
        start, lj(), replace(LJ, relocation_probability=0.0), 0, None, 1, target_energy=LJ13_GM
    )
    assert without.stop_reason == "max_steps"


def test_reaches_lj13_global_minimum_and_stops():
    hops = []
    result = run_minima_hopping(
        lj_start(13, 9),
        lj(),
        LJ,
        seed=0,
        workdir=None,
        max_steps=300,
        target_energy=LJ13_GM,
        progress=lambda *args: hops.append(args),
    )
    assert result.stop_reason == "target_energy"
    assert 0 < result.n_steps < 300
    assert [h[0] for h in hops] == list(range(1, result.n_steps + 1))
    best = [h[4] for h in hops]
    assert best == sorted(best, reverse=True)
    assert result.best_energy == pytest.approx(LJ13_GM, abs=1e-4)


def test_target_structure_stop():
    target = lj13_icosahedron()
    result = run_minima_hopping(
        lj_start(13, 9), lj(), LJ, seed=0, workdir=None, max_steps=300, target_structure=target
    )
    assert result.stop_reason == "target_structure"
    assert result.best_energy == pytest.approx(LJ13_GM, abs=1e-4)


def test_on_minimum_sees_every_finished_relaxation_and_can_stop_the_run():
    seen = []

    def on_minimum(hop, positions, energy):
        seen.append((hop, energy))
        return len(seen) == 3

    result = run_minima_hopping(lj_start(9, 3), lj(), LJ, 2, None, 100, on_minimum=on_minimum)
    assert result.stop_reason == "callback" and len(seen) == 3
    assert seen[0][0] == 0 and seen[-1][0] == result.n_steps


def test_separated_start_is_rejected():
    atoms = Atoms("Ar4", positions=[[0, 0, 0], [0, 0, 1.1], [0, 0, 9.0], [0, 0, 10.1]])
    with pytest.raises(ValueError, match="fragmented"):
        run_minima_hopping(atoms, lj(), LJ, seed=0, workdir=None, max_steps=2)


@pytest.mark.parametrize(
    "bad",
    [{"mdmin": 0}, {"fmax": 0.0}, {"softening_steps": -1}, {"temperature_min": 2000.0},
     {"beta_increase": -1.0}],
)  # fmt: skip
def test_impossible_parameters_are_rejected(bad):
    with pytest.raises(ValueError, match="MHParams"):
        MHParams(**bad)


def test_checkpoint_is_json_with_full_precision_minima(tmp_path):
    run_minima_hopping(lj_start(7, 1), lj(), LJ, 3, tmp_path, 2)
    state = json.loads((tmp_path / "state.json").read_text())["state"]
    assert state["step"] == 2 and state["minima"]
    assert isinstance(state["minima"][0]["energy"], float)


def test_certify_minima_replaces_a_saddle_and_keeps_the_others():
    r = 2 ** (1 / 6)
    square = Atoms("Ar4", positions=[[0, 0, 0], [r, 0, 0], [r, r, 0], [0, r, 0]])
    square.calc = lj()
    BFGS(square, logfile=None).run(fmax=1e-8)
    square.info["energy"] = square.get_potential_energy()
    tetrahedron = lj_start(4, 0)
    tetrahedron.calc = lj()
    BFGS(tetrahedron, logfile=None).run(fmax=1e-8)
    tetrahedron.info.update(energy=tetrahedron.get_potential_energy(), start=3)
    out, saddles, calls = certify_minima([square, tetrahedron], lj(), LJ, count=5)
    assert saddles >= 1 and calls > 0
    assert len(out) == 1 and out[0].info["start"] == 3  # the push found the kept tetrahedron
    assert out[0].info["certified"] and out[0].info["energy"] == pytest.approx(-6.0, abs=1e-6)
