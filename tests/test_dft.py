import re
from dataclasses import replace

import numpy as np
import pytest
from ase import Atoms

from paper_artifact.calculators.cache import CachedCalculator, EnergyCache
from paper_artifact.calculators.dft import DFTSettings, PySCFDFT, SCFConvergenceError
from paper_artifact.units import (
    E_MG1_PAPER_HARTREE,
    HARTREE_EV,
    binding_energy_per_atom_kcal,
)

TIGHT = DFTSettings(conv_tol=1e-9, conv_tol_grad=1e-6)


def _mg2(distance):
    return Atoms("Mg2", positions=[[0.0, 0.0, 0.0], [0.0, 0.0, distance]])


def _diis_cycles(calc):
    return int(re.match(r"DIIS: converged after (\d+) cycles", calc.last_scf_log[0]).group(1))


def test_mg_atom_matches_gaussian_bp86_631gd():
    # paper: E(Mg1) = -200.0696953 Ha with Gaussian BP86/6-31G(d)
    energy_hartree = PySCFDFT(TIGHT).isolated_atom_energy() / HARTREE_EV
    assert abs(energy_hartree - E_MG1_PAPER_HARTREE) < 20e-6


def test_mg2_forces_match_finite_difference_of_energy():
    distance, step = 3.4, 2e-3
    calc = PySCFDFT(TIGHT)
    atoms = _mg2(distance)
    atoms.calc = calc
    forces = atoms.get_forces()
    energies = []
    for shifted in (distance + step, distance - step):
        atoms.positions[1, 2] = shifted
        energies.append(atoms.get_potential_energy())
        assert calc.last_initial_guess == "previous density"
    numerical = -(energies[0] - energies[1]) / (2 * step)  # force on atom 2 along z
    assert forces[1, 2] == pytest.approx(numerical, abs=2e-3)
    assert forces[0, 2] == pytest.approx(-forces[1, 2], abs=1e-6)
    assert np.abs(forces[:, :2]).max() < 1e-6


def test_previous_density_speeds_up_nearby_geometry():
    calc = PySCFDFT(DFTSettings())
    atoms = _mg2(3.5)
    atoms.calc = calc
    atoms.get_potential_energy()
    cold = _diis_cycles(calc)
    atoms.positions[1, 2] += 0.02
    atoms.get_potential_energy()
    assert calc.last_initial_guess == "previous density"
    assert _diis_cycles(calc) < cold


def test_cache_hit_skips_scf(tmp_path):
    cache = EnergyCache(tmp_path / "dft.sqlite")
    key = DFTSettings().cache_key()
    first = _mg2(3.5)
    first_dft = PySCFDFT()
    first.calc = CachedCalculator(first_dft, cache, key)
    forces = first.get_forces()  # energy and forces from one SCF
    energy = first.get_potential_energy()
    assert len(first_dft.last_scf_log) == 1
    second_dft = PySCFDFT()
    second = _mg2(3.5)
    second.calc = CachedCalculator(second_dft, cache, key)
    assert second.get_potential_energy() == energy
    assert np.array_equal(second.get_forces(), forces)
    assert second_dft.last_scf_log == []  # no SCF was run


def test_cache_key_separates_result_defining_settings():
    base = DFTSettings()
    assert DFTSettings(threads=2, max_cycle=300, diis_max_cycle=80).cache_key() == base.cache_key()
    for changed in (
        DFTSettings(density_fit=True),
        DFTSettings(grid_level=5),
        DFTSettings(xc="BP86"),
        DFTSettings(cartesian=False),
    ):
        assert changed.cache_key() != base.cache_key()


def test_unconverged_scf_raises_with_label_and_rungs():
    settings = DFTSettings(conv_tol=1e-12, conv_tol_grad=1e-10, max_cycle=1, diis_max_cycle=1)
    atoms = Atoms("Mg", positions=[[0.0, 0.0, 0.0]])
    atoms.info["label"] = "atom-under-test"
    atoms.calc = PySCFDFT(settings)
    with pytest.raises(SCFConvergenceError, match="atom-under-test") as error:
        atoms.get_potential_energy()
    for rung in ("DIIS", "level shift", "Fermi smearing", "newton"):
        assert rung in str(error.value)


def test_use_gpu_without_gpu4pyscf_is_a_clear_error():
    pytest.importorskip("pyscf")
    try:
        import gpu4pyscf  # noqa: F401

        pytest.skip("gpu4pyscf is installed")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="use_gpu"):
        PySCFDFT(DFTSettings(use_gpu=True))


@pytest.mark.slow
def test_mg13_minima_binding_energies_match_gaussian():
    from paper_artifact.data.gaussian_mg13 import read_lowest_distinct_minima

    calc = PySCFDFT(DFTSettings(threads=2, max_memory_mb=6000))  # in-core ERIs: faster
    e_atom = calc.isolated_atom_energy()
    for reference in read_lowest_distinct_minima(3):
        atoms = Atoms(reference.numbers, positions=reference.positions)
        atoms.calc = calc
        ours = binding_energy_per_atom_kcal(atoms.get_potential_energy(), 13, e_atom)
        gaussian = binding_energy_per_atom_kcal(
            float(reference.info["energy_hartree"]) * HARTREE_EV,
            13,
            E_MG1_PAPER_HARTREE * HARTREE_EV,
        )
        assert abs(ours - gaussian) < 0.02, reference.info["label"]


DF = DFTSettings(density_fit=True)


def test_df_incore_stores_the_tensor_and_gives_the_direct_result():
    from paper_artifact.calculators.dft import build_molecule, make_scf

    atoms = Atoms("Mg3", positions=[[0.0, 0.0, 0.0], [3.1, 0.0, 0.0], [1.5, 2.7, 0.0]])
    mol = build_molecule(atoms, DF)
    assert make_scf(mol, DF).with_df._cderi is not None
    assert make_scf(mol, replace(DF, df_incore=False)).with_df._cderi is None
    # a tensor above half of max_memory_mb stays direct (Mg3: ~2.6 MB)
    assert make_scf(mol, replace(DF, max_memory_mb=4)).with_df._cderi is None
    results = []
    for settings in (DF, replace(DF, df_incore=False)):
        work = atoms.copy()
        work.calc = PySCFDFT(settings)
        results.append((work.get_potential_energy(), work.get_forces()))
    assert results[0][0] == pytest.approx(results[1][0], abs=1e-7)
    assert np.abs(results[0][1] - results[1][1]).max() < 1e-7


def test_small_rho_cutoff_drops_grid_points_not_accuracy():
    from paper_artifact.calculators.dft import build_molecule, run_scf

    mol = build_molecule(_mg2(3.5), DF)
    full, _ = run_scf(mol, DF)
    pruned, _ = run_scf(mol, replace(DF, small_rho_cutoff=1e-7))
    assert pruned.grids.weights.size < full.grids.weights.size
    assert pruned.e_tot == pytest.approx(full.e_tot, abs=1e-8)


def test_later_ladder_rungs_reuse_the_first_df_object(monkeypatch):
    from paper_artifact.calculators import dft as dft_module

    calls = []
    original = dft_module.make_scf

    def recording(mol, settings, with_df=None):
        mf = original(mol, settings, with_df)
        calls.append((with_df, mf.with_df))
        return mf

    monkeypatch.setattr(dft_module, "make_scf", recording)
    settings = replace(DF, conv_tol=1e-12, conv_tol_grad=1e-10, max_cycle=1, diis_max_cycle=1)
    mol = dft_module.build_molecule(_mg2(3.5), settings)
    with pytest.raises(SCFConvergenceError):
        dft_module.run_scf(mol, settings)
    first = calls[0][1]
    assert calls[0][0] is None and len(calls) >= 4
    assert all(passed is first and used is first for passed, used in calls[1:])


def test_dft_mini_settings_and_cache_key():
    from paper_artifact.config import load_profile

    settings = load_profile("dft-mini").reference.dft
    assert settings.density_fit and settings.df_incore and settings.grid_level == 2
    key = settings.cache_key()
    assert replace(settings, df_incore=False, diis_space=8).cache_key() == key
    assert replace(settings, small_rho_cutoff=0.0).cache_key() != key
    assert "small_rho_cutoff" not in DFTSettings().cache_key()  # older cache entries still hit
    assert replace(settings, grid_level=3).cache_key() != key


def test_diis_space_reaches_pyscf():
    from paper_artifact.calculators.dft import build_molecule, make_scf

    settings = DFTSettings(diis_space=12)
    assert make_scf(build_molecule(_mg2(3.5), settings), settings).diis_space == 12


@pytest.mark.slow
def test_dft_mini_settings_keep_mg13_agreement_with_gaussian():
    # measured with these settings on ranks 0-9: max |error| 0.0021 kcal/mol/atom, same order
    from paper_artifact.config import load_profile
    from paper_artifact.data.gaussian_mg13 import read_lowest_distinct_minima

    calc = PySCFDFT(load_profile("dft-mini").reference.dft)
    e_atom = calc.isolated_atom_energy()
    minima = read_lowest_distinct_minima(3)
    ours = []
    for reference in minima:
        atoms = Atoms(reference.numbers, positions=reference.positions)
        atoms.calc = calc
        ours.append(atoms.get_potential_energy())
        gaussian = binding_energy_per_atom_kcal(
            float(reference.info["energy_hartree"]) * HARTREE_EV,
            13,
            E_MG1_PAPER_HARTREE * HARTREE_EV,
        )
        error = binding_energy_per_atom_kcal(ours[-1], 13, e_atom) - gaussian
        assert abs(error) < 0.005, reference.info["label"]
    assert ours == sorted(ours)  # ranks 0, 1, 2 in Gaussian's order


def test_failed_diis_goes_to_smearing_then_newton_and_keeps_the_energy():
    from paper_artifact.calculators.dft import build_molecule, run_scf

    settings = replace(DF, conv_tol=1e-9)
    mol = build_molecule(_mg2(3.5), settings)
    plain, plain_log = run_scf(mol, settings)
    assert plain_log[0].startswith("DIIS: converged")
    ladder, log = run_scf(mol, replace(settings, diis_max_cycle=2))
    assert [entry.split(":")[0] for entry in log] == [
        "DIIS",
        "Fermi smearing sigma=0.005 Ha",
        "second-order (newton)",
    ]
    assert "DIIS: not converged" in log[0] and "newton): converged" in log[2]
    assert ladder.e_tot == pytest.approx(plain.e_tot, abs=1e-8)
