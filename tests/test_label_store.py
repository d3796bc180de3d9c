import json
import sqlite3

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from paper_artifact.calculators.cache import CachedCalculator, EnergyCache, at_stored_precision
from paper_artifact.calculators.dft import DFTSettings, PySCFDFT
from paper_artifact.calculators.gupta import Gupta
from paper_artifact.calculators.label_store import (
    LabelStoreError,
    export_labels,
    read_labels,
    sample_labels,
    seed_cache,
    summary_path,
    verify_labels,
)
from paper_artifact.commands import label_tolerances, verify_labels_command
from paper_artifact.config import load_config
from paper_artifact.configtree import ConfigError, InputPath, without_resources
from paper_artifact.runner import input_files

SETTINGS = "gupta-test"


def _clusters(count=4):
    rng = np.random.default_rng(3)
    base = np.array([[0, 0, 0], [3.1, 0, 0], [1.55, 2.7, 0], [1.55, 0.9, 2.5]], dtype=float)
    return [Atoms("Mg4", positions=base + rng.normal(0, 0.1, base.shape)) for _ in range(count)]


class MustNotBeCalled(Calculator):
    """A reference method that fails if a label has to be computed (atomate2's fake-code idea)."""

    implemented_properties = ("energy", "forces")

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        raise AssertionError("label computed although it was stored")


def _labelled_cache(path, structures, settings=SETTINGS):
    calc = CachedCalculator(Gupta(), EnergyCache(path), settings)
    results = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calc
        results.append((atoms.get_potential_energy(), atoms.get_forces().copy()))
    return results


def test_cached_row_keeps_provenance_and_forces_at_stored_precision(tmp_path):
    class WithProvenance(Gupta):
        def provenance(self):
            return {"program": "Gupta test"}

    atoms = _clusters(1)[0]
    atoms.calc = CachedCalculator(WithProvenance(), EnergyCache(tmp_path / "c.sqlite"), SETTINGS)
    forces = atoms.get_forces()
    raw = Gupta().get_forces(atoms.copy())
    assert np.array_equal(forces, at_stored_precision(raw))
    assert 0 < np.abs(forces - raw).max() < 1e-8
    (row,) = EnergyCache(tmp_path / "c.sqlite").rows()
    assert row.provenance["program"] == "Gupta test"
    assert row.provenance["cpu_seconds"] >= 0.0 and row.provenance["wall_seconds"] >= 0.0


def test_cache_written_before_provenance_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE results (key TEXT PRIMARY KEY, settings TEXT NOT NULL, numbers BLOB "
            "NOT NULL, positions BLOB NOT NULL, energy REAL NOT NULL, forces BLOB)"
        )
    atoms = _clusters(1)[0]
    cache = EnergyCache(path)
    cache.put(atoms, SETTINGS, -1.5, np.zeros((4, 3)))
    (row,) = cache.rows()
    assert row.energy == -1.5 and row.provenance == {}


def test_exported_labels_serve_a_new_run_bit_for_bit(tmp_path):
    structures = _clusters()
    computed = _labelled_cache(tmp_path / "run1.sqlite", structures)
    labels = tmp_path / "labels.extxyz"
    summary = export_labels(tmp_path / "run1.sqlite", labels, "test labels")
    assert summary["labels"] == 4 and summary["labels_per_size"] == {"4": 4}
    assert json.loads(summary_path(labels).read_text())["settings"] == {"s0": SETTINGS}

    added, usable = seed_cache(tmp_path / "run2.sqlite", labels, SETTINGS)
    assert (added, usable) == (4, 4)
    assert seed_cache(tmp_path / "run2.sqlite", labels, SETTINGS) == (0, 4)  # idempotent
    served = CachedCalculator(MustNotBeCalled(), EnergyCache(tmp_path / "run2.sqlite"), SETTINGS)
    for atoms, (energy, forces) in zip(structures, computed, strict=True):
        atoms = atoms.copy()
        atoms.calc = served
        assert atoms.get_potential_energy() == energy
        assert np.array_equal(atoms.get_forces(), forces)
    assert served.hits == 4 and served.misses == 0


def test_labels_made_with_other_settings_are_refused_by_name(tmp_path):
    _labelled_cache(tmp_path / "run.sqlite", _clusters(1), settings="xc=A")
    export_labels(tmp_path / "run.sqlite", tmp_path / "labels.extxyz")
    with pytest.raises(LabelStoreError, match="none made with.*\n  xc=B\nthe file has\n  xc=A"):
        seed_cache(tmp_path / "new.sqlite", tmp_path / "labels.extxyz", "xc=B")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda text: text.replace("label_key=", "other_key="), "frame 0: lacks label_key"),
        (lambda text: text.replace("label_energy_ev=-", "label_energy_ev=nan #"), "non-finite"),
        (lambda text: "\n".join(text.splitlines()[:-1]) + "\n", "not readable extxyz"),
    ],
)
def test_damaged_label_file_is_one_clear_error(tmp_path, damage, message):
    _labelled_cache(tmp_path / "run.sqlite", _clusters(1))
    labels = tmp_path / "labels.extxyz"
    export_labels(tmp_path / "run.sqlite", labels)
    labels.write_text(damage(labels.read_text()))
    with pytest.raises(LabelStoreError, match=f"{labels}.*{message}"):
        read_labels(labels)


def test_missing_label_file_or_summary_is_named(tmp_path):
    with pytest.raises(LabelStoreError, match="nothing.extxyz: file not found"):
        read_labels(tmp_path / "nothing.extxyz")
    _labelled_cache(tmp_path / "run.sqlite", _clusters(1))
    export_labels(tmp_path / "run.sqlite", tmp_path / "labels.extxyz")
    summary_path(tmp_path / "labels.extxyz").unlink()
    with pytest.raises(LabelStoreError, match="labels.json"):
        read_labels(tmp_path / "labels.extxyz")


def test_verify_finds_a_changed_label_and_samples_by_seed(tmp_path):
    _labelled_cache(tmp_path / "run.sqlite", _clusters(6))
    labels = tmp_path / "labels.extxyz"
    export_labels(tmp_path / "run.sqlite", labels)
    stored = read_labels(labels)
    checks = verify_labels(stored.rows, Gupta(), 1e-8, 1e-7, progress=lambda _: None)
    assert all(c.passed for c in checks)
    first = sample_labels(stored, SETTINGS, 3, seed=1)
    assert [r.key for r in first] == [r.key for r in sample_labels(stored, SETTINGS, 3, seed=1)]
    assert {r.key for r in first} != {r.key for r in sample_labels(stored, SETTINGS, 3, seed=2)}
    assert len(sample_labels(stored, SETTINGS, None, seed=1)) == 6

    labels.write_text(labels.read_text().replace("label_energy_ev=-", "label_energy_ev=-1", 1))
    checks = verify_labels(read_labels(labels).rows, Gupta(), 1e-8, 1e-7, lambda _: None)
    assert [c.passed for c in checks].count(False) == 1


def test_stored_labels_need_a_cached_dft_reference_and_are_no_stage_input(tmp_path):
    labels = tmp_path / "labels.extxyz"
    labels.write_text("")
    profile = tmp_path / "p.yaml"
    profile.write_text(f"seed: 1\nreference:\n  calculator: gupta\n  stored_labels: {labels}\n")
    with pytest.raises(ConfigError, match="stored_labels needs reference.calculator: dft"):
        load_config(profile)
    profile.write_text(f"seed: 1\nreference:\n  calculator: dft\n  stored_labels: {labels}\n")
    reference = load_config(profile).reference
    assert reference.stored_labels == InputPath(str(labels))
    assert input_files(reference) == []  # labels do not change results, so no stage reruns
    assert "stored_labels" not in without_resources({"stored_labels": str(labels)})


def test_label_tolerances_are_the_scf_thresholds():
    energy, force = label_tolerances(DFTSettings(conv_tol=1e-5, conv_tol_grad=1e-4))
    assert energy == pytest.approx(2.72e-4, rel=1e-3)  # 1e-5 Ha
    assert force == pytest.approx(5.14e-3, rel=1e-3)  # 1e-4 Ha/Bohr


def test_verify_command_recomputes_real_dft_labels(tmp_path, capsys):
    settings = DFTSettings(basis="sto-3g", cartesian=False, grid_level=1)
    cache = EnergyCache(tmp_path / "run" / ".cache" / "reference_energies.sqlite")
    calc = CachedCalculator(PySCFDFT(settings), cache, settings.cache_key())
    for distance in (3.2, 3.6):
        dimer = Atoms("Mg2", positions=[[0, 0, 0], [0, 0, distance]])
        dimer.calc = calc
        dimer.get_forces()
    labels = tmp_path / "labels.extxyz"
    export_labels(cache.path, labels)
    assert read_labels(labels).rows[0].provenance["program"].startswith("PySCF")
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "seed: 1\nreference:\n  calculator: dft\n"
        "  dft: {basis: sto-3g, cartesian: false, grid_level: 1}\n"
        f"  stored_labels: {labels}\n"
    )
    assert verify_labels_command(load_config(profile), None, None, 0) == 0
    assert "2 of 2 labels reproduced" in capsys.readouterr().out
    profile.write_text(profile.read_text().replace("grid_level: 1", "grid_level: 2"))
    assert verify_labels_command(load_config(profile), None, None, 0) == 2
