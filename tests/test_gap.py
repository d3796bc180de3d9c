import re
from dataclasses import replace

import labelled
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import all_changes
from ase.io import read

from paper_artifact.calculators.gap import (
    GapFitError,
    GapFitSettings,
    RepulsiveCore,
    SoapParams,
    TwoBodyParams,
    build_gap_fit_command,
    load_gap,
    predict_energies,
    run_gap_fit,
    write_training_file,
)
from paper_artifact.calculators.relax import relax
from paper_artifact.structures import random_cluster

TINY_SOAP = SoapParams(cutoff=4.0, n_max=3, l_max=3, n_sparse=15, cutoff_transition_width=0.5)
TINY_2B = TwoBodyParams(cutoff=5.0, delta=0.1, theta_uniform=1.0, n_sparse=8)
LJ_SETTINGS = GapFitSettings(e0=0.0, default_sigma_energy=0.001, default_sigma_force=0.01)


def lj_clusters(count, sizes, seed, calc=None):
    return labelled.lj_clusters(count, sizes, seed, 7, calc)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    train = lj_clusters(25, [5, 6, 7, 8], seed=1)
    workdir = tmp_path_factory.mktemp("gap")
    return train, run_gap_fit(train, workdir, TINY_SOAP, TINY_2B, LJ_SETTINGS)


def test_command_exact_argv():
    soap = SoapParams(
        cutoff=4.25,
        n_max=8,
        l_max=6,
        atom_sigma=0.5,
        zeta=4.0,
        delta=0.2,
        n_sparse=200,
        sparse_method="cur_points",
        cutoff_transition_width=1.0,
    )
    two_body = TwoBodyParams(cutoff=7.0, delta=0.5, theta_uniform=1.5, n_sparse=20)
    settings = GapFitSettings(
        default_sigma_energy=0.0025,
        default_sigma_force=0.025,
        sparse_jitter=1e-8,
        e0=-5444.1,
        rnd_seed=3,
        energy_key="dft_energy",
        force_key="dft_forces",
    )
    argv = build_gap_fit_command("train.xyz", "gap.xml", soap, two_body, settings)
    assert argv == [
        "gap_fit",
        "at_file=train.xyz",
        "gap={soap cutoff=4.25 n_max=8 l_max=6 atom_sigma=0.5 zeta=4.0 delta=0.2 n_sparse=200 "
        "sparse_method=cur_points cutoff_transition_width=1.0 covariance_type=dot_product : "
        "distance_2b cutoff=7.0 delta=0.5 covariance_type=ard_se theta_uniform=1.5 n_sparse=20 "
        "sparse_method=uniform}",
        "default_sigma={0.0025 0.025 0.0 0.0}",
        "e0=-5444.1",
        "sparse_jitter=1e-08",
        "energy_parameter_name=dft_energy",
        "force_parameter_name=dft_forces",
        "rnd_seed=3",
        "do_copy_at_file=F",
        "sparse_separate_file=T",
        "gp_file=gap.xml",
    ]
    soap_only = build_gap_fit_command("t.xyz", "m.xml", soap, None, settings)
    assert "distance_2b" not in soap_only[2] and soap_only[2].startswith("gap={soap ")


def test_training_file_box_energies_forces(tmp_path):
    clusters = lj_clusters(3, [6], seed=2)
    path = write_training_file(clusters, tmp_path / "t.xyz", 30.0, "ref_energy", "ref_forces", 5.0)
    frames = read(path, index=":")
    for original, frame in zip(clusters, frames, strict=True):
        assert frame.pbc.all()
        np.testing.assert_allclose(frame.cell.lengths(), [30.0] * 3)
        lo, hi = frame.positions.min(axis=0), frame.positions.max(axis=0)
        np.testing.assert_allclose(lo + hi, [30.0] * 3, atol=1e-8)  # centred
        assert frame.calc is None  # explicit keys, no calculator
        assert frame.info["ref_energy"] == pytest.approx(original.info["ref_energy"], abs=1e-10)
        np.testing.assert_allclose(
            frame.arrays["ref_forces"], original.arrays["ref_forces"], atol=1e-7
        )
    no_forces = read(write_training_file(clusters, tmp_path / "e.xyz", 30.0, "ref_energy", None, 5))
    assert "ref_forces" not in no_forces.arrays


def test_training_file_rejects_small_box(tmp_path):
    clusters = lj_clusters(2, [8], seed=3)
    with pytest.raises(ValueError, match="structure 0 .* does not fit the 8.00 A box"):
        write_training_file(clusters, tmp_path / "t.xyz", 8.0, "ref_energy", None, 5.0)


def test_missing_reference_energy(tmp_path):
    cluster = random_cluster(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="structure 0 .*no reference energy"):
        write_training_file([cluster], tmp_path / "t.xyz", 30.0, "ref_energy", None, 5.0)


def test_fit_outputs(fitted):
    _, model = fitted
    assert model.xml_path.is_file() and model.log_path.is_file()
    assert len(model.content_hash) == 64
    assert model.fit_seconds > 0.0
    assert 10.0 < model.peak_memory_mb < 5000.0


def test_fit_reproduces_training_energies(fitted):
    train, model = fitted
    predicted = predict_energies(load_gap(model.xml_path), train)
    reference = np.array([a.info["ref_energy"] for a in train])
    sizes = np.array([len(a) for a in train])
    error_per_atom = np.sqrt(np.mean(((predicted - reference) / sizes) ** 2))
    spread_per_atom = np.std(reference / sizes)
    assert error_per_atom < 0.1 * spread_per_atom


def test_cluster_energy_independent_of_box(fitted):
    from quippy.potential import Potential

    _, model = fitted
    calc = load_gap(model.xml_path)
    assert calc.name == "quippy-gap"
    cluster = random_cluster(30, np.random.default_rng(5))
    free = predict_energies(calc, [cluster])[0]
    direct = Potential(param_filename=str(model.xml_path))
    for box in (30.0, 40.0):
        boxed = cluster.copy()
        boxed.cell = [box] * 3
        boxed.center()
        boxed.pbc = True
        boxed.calc = direct
        assert boxed.get_potential_energy() == pytest.approx(free, abs=1e-8)


def test_rnd_seed_makes_fit_repeatable(fitted, tmp_path):
    train, model = fitted
    again = run_gap_fit(train, tmp_path, TINY_SOAP, TINY_2B, LJ_SETTINGS)
    probe = lj_clusters(4, [9], seed=9)
    np.testing.assert_allclose(
        predict_energies(load_gap(again.xml_path), probe),
        predict_energies(load_gap(model.xml_path), probe),
        atol=1e-10,
    )


def _min_distance(atoms):
    return min(atoms.get_all_distances()[np.triu_indices(len(atoms), 1)])


def test_repulsive_core_adds_the_wall_below_its_cutoff_and_leaves_the_fit_alone(fitted, tmp_path):
    train, plain = fitted
    cutoff = min(_min_distance(atoms) for atoms in train) - 0.05
    core = RepulsiveCore(cutoff=cutoff, strength=0.2)
    walled = run_gap_fit(train, tmp_path, TINY_SOAP, TINY_2B, replace(LJ_SETTINGS, core=core))
    assert "Sum init_args_pot1={IP LJ}" in walled.xml_path.read_text()
    plain_calc, walled_calc = load_gap(plain.xml_path), load_gap(walled.xml_path)
    # zero wall on every label: the same GAP, so the same energies where the wall is off
    np.testing.assert_allclose(
        predict_energies(walled_calc, train), predict_energies(plain_calc, train), atol=1e-8
    )
    for r in (0.6 * cutoff, 0.8 * cutoff, 0.99 * cutoff, 1.2 * cutoff):
        dimer = [Atoms("Mg2", positions=[[0, 0, 0], [r, 0, 0]])]
        added = predict_energies(walled_calc, dimer)[0] - predict_energies(plain_calc, dimer)[0]
        assert added == pytest.approx(float(core.pair_energy(r)), abs=1e-8)
    assert core.pair_energy(0.8 * cutoff) > 1.0
    assert core.pair_energy(cutoff) == 0.0


def test_gap_fit_error_quotes_abort_line(tmp_path):
    train = lj_clusters(3, [5], seed=4)
    bad = SoapParams(cutoff=4.0, n_max=2, l_max=2, n_sparse=5, sparse_method="no_such_method")
    with pytest.raises(GapFitError, match="SYSTEM ABORT: unknown sparse method no_such_method"):
        run_gap_fit(train, tmp_path, bad, None, LJ_SETTINGS)


def test_load_gap_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.xml"):
        load_gap(tmp_path / "nothing.xml")


def quippy_energy_forces(xml_path, atoms):
    """Energy and forces from a fresh quippy Potential (the reference the calculator must match)."""
    from quippy.potential import Potential

    probe = atoms.copy()
    probe.calc = Potential(param_filename=str(xml_path))
    return probe.get_potential_energy(), probe.get_forces()


def free_cluster(n, seed):
    cluster = random_cluster(n, np.random.default_rng(seed))
    return Atoms(cluster.numbers, positions=cluster.positions, pbc=False)


def assert_matches_quippy(xml_path, atoms, energy, forces):
    reference_energy, reference_forces = quippy_energy_forces(xml_path, atoms)
    assert energy == pytest.approx(reference_energy, abs=1e-10)
    np.testing.assert_allclose(forces, reference_forces, rtol=0.0, atol=1e-10)
    return reference_energy


def test_calculator_matches_quippy_on_both_call_paths(fitted):
    _, model = fitted
    ase_calc, direct_calc = load_gap(model.xml_path), load_gap(model.xml_path)
    rng = np.random.default_rng(11)
    for n in (13, 29, 13):  # back to 13: the kept QUIP Atoms is rebuilt when the size changes
        via_ase, direct = free_cluster(n, seed=n), free_cluster(n, seed=n)
        via_ase.calc = ase_calc
        energies = []
        for _ in range(3):  # the same Atoms objects moved: no stale positions or results
            shift = rng.normal(scale=0.05, size=(n, 3))
            via_ase.positions = via_ase.positions + shift
            direct.positions = direct.positions + shift
            energy = assert_matches_quippy(
                model.xml_path, via_ase, via_ase.get_potential_energy(), via_ase.get_forces()
            )
            direct_calc.calculate(direct, ["energy", "forces"], all_changes)
            assert_matches_quippy(
                model.xml_path,
                direct,
                direct_calc.results["energy"],
                direct_calc.results["forces"],
            )
            energies.append(energy)
        assert len(set(energies)) == 3  # the moves changed the energy


def test_calculator_results_are_not_views(fitted):
    _, model = fitted
    calc = load_gap(model.xml_path)
    atoms = free_cluster(13, seed=3)
    calc.calculate(atoms, ["energy", "forces"], all_changes)
    first = calc.results["forces"]
    kept = first.copy()
    atoms.positions += 0.1
    calc.calculate(atoms, ["energy", "forces"], all_changes)
    np.testing.assert_array_equal(first, kept)


def test_relaxation_with_ase_optimizer(fitted, tmp_path):
    from quippy.potential import Potential

    _, model = fitted
    start = free_cluster(13, seed=7)
    ours = relax(start, load_gap(model.xml_path), fmax=0.01, steps=500, trajectory=tmp_path / "t")
    quippy = relax(start, Potential(param_filename=str(model.xml_path)), fmax=0.01, steps=500)
    assert ours.converged and ours.n_steps > 0
    assert np.abs(ours.atoms.get_forces()).max() < 0.01
    # identical energies and forces give the identical BFGS path
    assert ours.n_steps == quippy.n_steps
    assert ours.energy == pytest.approx(quippy.energy, abs=1e-10)
    np.testing.assert_allclose(ours.atoms.positions, quippy.atoms.positions, atol=1e-10)
    assert read(tmp_path / "t").calc.name == "quippy-gap"


def test_calculator_follows_cell_and_pbc(fitted):
    _, model = fitted
    calc = load_gap(model.xml_path)
    atoms = free_cluster(13, seed=5)
    atoms.calc = calc
    free_energy = atoms.get_potential_energy()
    atoms.cell = [9.0] * 3  # small enough for periodic images within the cutoff
    atoms.center()
    atoms.pbc = True
    periodic = assert_matches_quippy(
        model.xml_path, atoms, atoms.get_potential_energy(), atoms.get_forces()
    )
    assert abs(periodic - free_energy) > 1e-3


FAKE_GAP_FIT = """#!/bin/sh
echo $$ > {pid_file}
exec sleep 60
"""

PARENT = """
from ase import Atoms
from paper_artifact.calculators.gap import GapFitSettings, SoapParams, run_gap_fit
atoms = Atoms("Mg2", positions=[[0, 0, 0], [3, 0, 0]], info={{"ref_energy": -1.0}})
settings = GapFitSettings(e0=0.0, use_forces=False, gap_fit_executable={fake!r})
run_gap_fit([atoms], {workdir!r}, SoapParams(), None, settings)
"""


def test_gap_fit_child_dies_with_a_killed_run(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "gap_fit.pid"
    fake = tmp_path / "fake_gap_fit"
    fake.write_text(FAKE_GAP_FIT.format(pid_file=pid_file))
    fake.chmod(0o755)
    script = PARENT.format(fake=str(fake), workdir=str(tmp_path / "fit"))
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline and parent.poll() is None, "fake gap_fit never started"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child):
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            raise AssertionError("gap_fit outlived the killed run")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_several_soap_terms_are_summed_and_the_longest_cutoff_sizes_the_box(tmp_path):
    long_soap = replace(TINY_SOAP, cutoff=6.0, zeta=2.0, n_sparse=10)
    argv = build_gap_fit_command("t.xyz", "m.xml", (TINY_SOAP, long_soap), TINY_2B, LJ_SETTINGS)
    terms = argv[2].removeprefix("gap={").removesuffix("}").split(" : ")
    assert [t.split()[0] for t in terms] == ["soap", "soap", "distance_2b"]
    assert "cutoff=4.0 " in terms[0] and "cutoff=6.0 " in terms[1] and "zeta=2.0" in terms[1]
    train = lj_clusters(12, [5, 6, 7], seed=5)
    model = run_gap_fit(train, tmp_path / "fit", (TINY_SOAP, long_soap), TINY_2B, LJ_SETTINGS)
    descriptors = re.findall(r"<descriptor>\s*(\w+ cutoff=[\d.]+)", model.xml_path.read_text())
    assert descriptors == ["soap cutoff=4.0", "soap cutoff=6.0", "distance_2b cutoff=5.0"]
    residual = predict_energies(load_gap(model.xml_path), train) - [
        a.info["ref_energy"] for a in train
    ]
    assert np.abs(residual).max() < 0.05 * np.ptp([a.info["ref_energy"] for a in train])
    extent = max(np.ptp(a.positions, axis=0).max() for a in train)
    tight = replace(LJ_SETTINGS, box_length=extent + 5.0)  # fits cutoff 4 but not cutoff 6
    run_gap_fit(train, tmp_path / "short", TINY_SOAP, None, tight)
    with pytest.raises(ValueError, match="cutoff 6.00 A does not fit"):
        run_gap_fit(train, tmp_path / "long", (TINY_SOAP, long_soap), None, tight)
    with pytest.raises(ValueError, match="at least one SOAP term"):
        build_gap_fit_command("t.xyz", "m.xml", (), TINY_2B, LJ_SETTINGS)
