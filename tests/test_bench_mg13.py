"""Helpers of the dft-mini Mg13 benchmarks (benchmarks/dft_mini_mg13_*.py)."""

import dataclasses
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from ase.cluster import Icosahedron
from ase.io import read

from paper_artifact.config import load_profile
from paper_artifact.mh.fingerprint import fingerprint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import dft_mini_known_minima as known_minima  # noqa: E402
import dft_mini_mg13_holes as holes  # noqa: E402
import dft_mini_mg13_levers as levers  # noqa: E402
import dft_mini_refine_ranks as refine_ranks  # noqa: E402


def test_icosahedral_mg13_centre_has_twelve_neighbours():
    # fcc lattice constant a gives nearest neighbours a / sqrt(2) = 3.1 A
    atoms = Icosahedron("Mg", noshells=2, latticeconstant=3.1 * 2**0.5)
    assert holes.max_coordination(atoms, 3.6) == 12
    assert holes.max_coordination(atoms, 3.0) == 0
    assert holes.mean_nearest_neighbour(atoms) == pytest.approx(3.1, abs=0.2)


def test_mg13_labels_beyond_excludes_the_gaussian_gm_basin():
    cfg = load_profile("dft-mini")
    gm = read(cfg.active_learning.known_gm.resolve())
    every = levers.mg13_labels_beyond(cfg, [gm], -1.0)
    outside = levers.mg13_labels_beyond(cfg, [gm], 0.05)
    assert {len(a) for a in every} == {13}
    assert 0 < len(outside) < len(every)
    assert all(levers.REF_ENERGY_KEY in a.info for a in outside)


def test_gaussian_gm_is_the_first_unique_known_minimum():
    minima = read(known_minima.GAUSSIAN_MINIMA, ":")
    known = known_minima.unique_known_minima(minima)
    energies = [k.info["energy"] for k in known]
    assert energies == sorted(energies)
    assert 100 < len(known) < len(minima)  # the set holds repeats (mirror images among them)
    gm = read(load_profile("dft-mini").active_learning.known_gm.resolve())
    index, distance = known_minima.nearest(fingerprint(gm), known)
    assert index == 0 and distance < 1e-3
    third = known[3].info["energy"] - known[0].info["energy"]
    assert known_minima.minima_below(third, known) == 3
    assert known_minima.minima_below(third + 1e-6, known, same_as=3) == 3
    assert known_minima.minima_below(third + 1e-6, known) == 4


def test_ranks_nearest_orders_isomers_by_fingerprint_distance_to_the_known_gm():
    gm = read(load_profile("dft-mini").active_learning.known_gm.resolve())
    rattled = [gm.copy() for _ in range(3)]
    for seed, (atoms, amplitude) in enumerate(zip(rattled, (0.3, 0.02, 0.1), strict=True)):
        atoms.rattle(amplitude, seed=seed)
    distances = refine_ranks.distances_to(fingerprint(gm), rattled)
    assert refine_ranks.ranks_nearest(distances, 2) == [1, 2]


def test_rotated_copies_are_the_same_structure_in_other_orientations():
    gm = read(load_profile("dft-mini").active_learning.known_gm.resolve())
    copies = refine_ranks.rotated_copies(gm, 2, seed=1)
    again = refine_ranks.rotated_copies(gm, 2, seed=1)
    assert len(copies) == 2 and refine_ranks.rotated_copies(gm, 0, seed=1) == []
    for copy, repeat in zip(copies, again, strict=True):
        assert np.array_equal(copy.positions, repeat.positions)
        assert np.abs(copy.positions - gm.positions).max() > 0.5
        assert np.allclose(copy.get_all_distances(), gm.get_all_distances(), atol=1e-9)
        assert np.allclose(copy.get_center_of_mass(), gm.get_center_of_mass(), atol=1e-9)
    assert np.abs(copies[0].positions - copies[1].positions).max() > 0.5


def test_delta_labels_plus_gupta_give_back_the_dft_labels():
    labelled = levers.shipped_labels(load_profile("dft-mini"))[:3]
    for atoms in labelled:
        residual = levers.minus_gupta(atoms)
        gupta = residual.copy()
        gupta.calc = levers.Gupta()
        energy = residual.info[levers.REF_ENERGY_KEY] + gupta.get_potential_energy()
        forces = residual.arrays[levers.REF_FORCES_KEY] + gupta.get_forces()
        assert energy == pytest.approx(atoms.info[levers.REF_ENERGY_KEY], abs=1e-9)
        assert forces == pytest.approx(atoms.arrays[levers.REF_FORCES_KEY], abs=1e-9)
        assert abs(residual.info[levers.REF_ENERGY_KEY] - energy) > 1.0  # Gupta is not zero


def test_size_offsets_take_up_what_the_model_leaves_per_size(monkeypatch, tmp_path):
    """A model that predicts one energy per atom for every size: the fitted constants are each
    size's remaining mean per-atom label, and the last fit sees labels without them."""
    labelled = [a for a in levers.shipped_labels(load_profile("dft-mini")) if len(a) in (4, 8)]
    labelled = labelled[:3] + [a for a in labelled if len(a) == 8][:3]
    per_atom = {4: -0.5, 8: -2.0}
    for atoms in labelled:
        atoms.info[levers.REF_ENERGY_KEY] = len(atoms) * (per_atom[len(atoms)] + 0.01 * atoms[0].x)
    fits = []

    def fake_fit(labels, workdir, *_):
        fits.append([a.info[levers.REF_ENERGY_KEY] for a in labels])
        return SimpleNamespace(xml_path=workdir)

    constant_per_atom = -1.0
    monkeypatch.setattr(levers, "run_gap_fit", fake_fit)
    monkeypatch.setattr(levers, "load_gap", lambda _: None)
    monkeypatch.setattr(
        levers,
        "predict_energies",
        lambda _, atoms_list: np.array([constant_per_atom * len(a) for a in atoms_list]),
    )
    _, offsets = levers.fit_with_size_offsets(labelled, tmp_path, None, None, None, rounds=2)
    assert len(fits) == 3
    for n in (4, 8):
        same_size = [a for a in labelled if len(a) == n]
        mean_label = np.mean([a.info[levers.REF_ENERGY_KEY] for a in same_size]) / n
        assert offsets[n] == pytest.approx(mean_label - constant_per_atom, abs=1e-12)
    last = np.array(fits[-1])
    sizes = np.array([len(a) for a in labelled])
    for n in (4, 8):
        assert np.mean(last[sizes == n]) / n == pytest.approx(constant_per_atom, abs=1e-12)
    assert fits[0] == [a.info[levers.REF_ENERGY_KEY] for a in labelled]  # labels not modified


def test_go_rerun_hops_with_any_calculator(tmp_path):
    cfg = load_profile("dft-mini")
    cfg = dataclasses.replace(cfg, go=dataclasses.replace(cfg.go, n_starts=1, max_steps=2))
    known_gm = read(cfg.active_learning.known_gm.resolve())
    gm = levers.relax(known_gm, levers.Gupta(), cfg.refine.fmax, 2000)
    row = levers.go_rerun(levers.Gupta(), "gupta", cfg, 13, gm, tmp_path)
    assert row["rerun_isomers"] >= 1
    assert 0 <= row["rerun_below_gm"] <= row["rerun_isomers"]
    assert 0 <= row["rerun_nearest_rank"] < row["rerun_isomers"]
    assert row["rerun_nearest_fp"] <= row["rerun_gm_fp"]
    assert (tmp_path / "Mg13" / "start0").is_dir()


def test_score_rates_one_fitted_model_and_relaxes_the_known_gm_once(monkeypatch, tmp_path):
    """score with the fit replaced by the Gupta potential: its Mg13 metrics are Gupta's against
    the labels, and the known GM is relaxed once for both the GO check and the GO rerun."""
    cfg = load_profile("dft-mini")
    cfg = dataclasses.replace(cfg, go=dataclasses.replace(cfg.go, n_starts=1, max_steps=2))
    labelled = levers.shipped_labels(cfg)
    by_size = {n: [a for a in labelled if len(a) == n] for n in (4, 8, 9, 13)}
    external, go = by_size[13][:4], by_size[13][4:7]
    known_gm = read(cfg.active_learning.known_gm.resolve())
    monkeypatch.setattr(levers, "run_gap_fit", lambda *_: SimpleNamespace(xml_path=tmp_path))
    monkeypatch.setattr(levers, "model_calculator", lambda *_: levers.Gupta())
    monkeypatch.setattr(levers, "model_hash", lambda _: "gupta")
    relaxed_starts = []
    original_relax = levers.relax

    def counting_relax(atoms, *args, **kwargs):
        relaxed_starts.append(atoms.positions.copy())
        return original_relax(atoms, *args, **kwargs)

    monkeypatch.setattr(levers, "relax", counting_relax)
    settings = dataclasses.replace(cfg.fit.settings, e0=levers.reference_atom_energy(cfg))
    row = levers.score(
        ("gupta-as-gap", (None, None, {})),
        fit_set=by_size[4][:3] + by_size[8][:3],
        held_out=by_size[9][:2],
        external=external,
        settings=settings,
        workdir=tmp_path,
        relax_lowest=2,
        fmax=cfg.refine.fmax,
        known_gm=known_gm,
        go=go,
        rerun=(cfg, 13),
    )
    error = np.array(  # model minus label, as evaluate_model signs it
        [
            (levers.predict_energies(levers.Gupta(), [a])[0] - a.info[levers.REF_ENERGY_KEY])
            / len(a)
            * levers.EV_TO_KCAL_MOL
            for a in external
        ]
    )
    assert row["mg13_rmse"] == pytest.approx(np.sqrt(np.mean(error**2)), rel=1e-9)
    assert row["mg13_mse"] == pytest.approx(error.mean(), rel=1e-9)
    assert set(row["size_offsets_kcal_mol_atom"]) == set()  # no constants without offset rounds
    assert row["relaxed_minima"] == 2 and 0 <= row["relax_left_basin"] <= 2
    assert row["go_isomers"] == 3 and 0 <= row["go_below_gm"] <= 3
    assert row["rerun_isomers"] >= 1 and 0 <= row["rerun_below_gm"] <= row["rerun_isomers"]
    gm_relaxations = [p for p in relaxed_starts if np.allclose(p, known_gm.positions)]
    assert len(gm_relaxations) == 1


def test_a_larger_go_search_begins_with_the_profiles_starts(tmp_path):
    cfg = load_profile("dft-mini")
    assert levers.with_go_search(cfg, None, None) == cfg
    larger = levers.with_go_search(cfg, cfg.go.n_starts + 2, 60)
    assert (larger.go.n_starts, larger.go.max_steps) == (cfg.go.n_starts + 2, 60)
    assert dataclasses.replace(larger, go=cfg.go) == cfg

    def starts(profile):
        return [(t.start.positions, t.seed) for t in levers.go_tasks(profile, [13], "", tmp_path)]

    profile_starts, larger_starts = starts(cfg), starts(larger)
    assert len(larger_starts) == len(profile_starts) + 2
    for (positions, seed), (same_positions, same_seed) in zip(
        profile_starts, larger_starts[: len(profile_starts)], strict=True
    ):
        assert seed == same_seed and np.array_equal(positions, same_positions)
