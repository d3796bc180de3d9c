
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from paper_artifact.configtree import PROJECT_ROOT
from paper_artifact.data import REF_ENERGY_KEY, REF_FORCES_KEY, REF_METHOD_KEY, DataError
from paper_artifact.data.ingest import read_many, read_structures
from paper_artifact.units import E_MG1_PAPER_EV

REFERENCE = PROJECT_ROOT / "data" / "reference"
MINIMA = REFERENCE / "mg13_bp86_631gd_minima.extxyz"
FRAMES = REFERENCE / "mg13_bp86_631gd_frames_forces.extxyz"
HARTREE_EV_CODATA2014 = 27.211386024367243  # ASE's default units.Hartree
needs_reference = pytest.mark.skipif(not MINIMA.exists(), reason="reference data not present")


def triangle(symbols: str = "Mg3", side: float = 3.0) -> Atoms:
    height = side * np.sqrt(3.0) / 2.0
    return Atoms(symbols, positions=[[0, 0, 0], [side, 0, 0], [side / 2, height, 0]])


def with_energy(atoms: Atoms, energy: float) -> Atoms:
    atoms = atoms.copy()
    atoms.info["energy_ev"] = energy
    return atoms


@needs_reference
def test_reference_minima_file_matches_sources_md():
    result = read_structures(MINIMA)
    assert len(result.atoms) == 207 and result.drops.empty
    hartree = np.array([atoms.info["energy_hartree"] for atoms in result.atoms])
    energies = np.array([atoms.info[REF_ENERGY_KEY] for atoms in result.atoms])
    np.testing.assert_allclose(energies, hartree * HARTREE_EV_CODATA2014, rtol=0, atol=1e-8)
    # SOURCES.md: lowest -2601.163726 Ha found 9 times, highest -2601.083032 Ha.
    assert hartree.min() == pytest.approx(-2601.163726, abs=1e-6)
    assert np.sum(np.isclose(hartree, hartree.min(), rtol=0, atol=5e-7)) == 9
    assert hartree.max() == pytest.approx(-2601.083032, abs=1e-6)
    # SOURCES.md: GM binding energy -7.012 eV against the paper's Mg atom.
    assert energies.min() - 13 * E_MG1_PAPER_EV == pytest.approx(-7.012, abs=1e-3)
    first = result.atoms[0]
    assert first.info["source_file"] == str(MINIMA) and first.info["source_index"] == 0
    assert first.info["method"].startswith("BP86/6-31G(d)")
    assert first.info[REF_METHOD_KEY] == first.info["method"]
    assert [atoms.info["source_index"] for atoms in result.atoms] == list(range(207))
    assert REF_FORCES_KEY not in first.arrays and first.calc is None


@needs_reference
def test_reference_forces_file_keeps_forces_in_ev_per_angstrom():
    result = read_structures(FRAMES, method="BP86/6-31G(d)")
    assert len(result.atoms) == 51
    forces = np.array([atoms.arrays[REF_FORCES_KEY] for atoms in result.atoms])
    # SOURCES.md: max |F| component 0.206 eV/A over all frames; net force ~ 0.
    assert np.abs(forces).max() == pytest.approx(0.206, abs=1e-3)
    assert np.abs(forces.sum(axis=1)).max() < 1e-6
    assert result.atoms[0].info["method"] == "BP86/6-31G(d)"


def test_energy_sources_and_units(tmp_path):
    from_calc = triangle()
    from_calc.calc = SinglePointCalculator(from_calc, energy=-5.0, forces=np.ones((3, 3)))
    from_hartree = triangle()
    from_hartree.info["energy_hartree"] = -2.0
    path = tmp_path / "mixed.extxyz"
    write(path, [from_calc, from_hartree, with_energy(triangle(), -3.5)])
    result = read_structures(path, method="test")
    energies = [atoms.info[REF_ENERGY_KEY] for atoms in result.atoms]
    np.testing.assert_allclose(energies, [-5.0, -2.0 * HARTREE_EV_CODATA2014, -3.5])
    np.testing.assert_allclose(result.atoms[0].arrays[REF_FORCES_KEY], np.ones((3, 3)))
    assert REF_FORCES_KEY not in result.atoms[1].arrays
    assert all(atoms.info["energy_ev"] == atoms.info[REF_ENERGY_KEY] for atoms in result.atoms)


def test_ase_db_input(tmp_path):
    atoms = triangle()
    atoms.calc = SinglePointCalculator(atoms, energy=-1.25)
    path = tmp_path / "set.db"
    write(path, [atoms, atoms])
    result = read_structures(path)
    assert [a.info[REF_ENERGY_KEY] for a in result.atoms] == [-1.25, -1.25]
    assert result.atoms[1].info["method"] == "unknown"


def bad_structures() -> dict[str, Atoms]:
    nan_energy = with_energy(triangle(), float("nan"))
    inf_energy = triangle()
    inf_energy.info["energy_hartree"] = float("inf")
    overlapping = with_energy(triangle(), -1.0)
    overlapping.positions[1] = [0.3, 0.0, 0.0]
    disagreeing = with_energy(triangle(), -1.0)
    disagreeing.info["energy_hartree"] = -1.0  # 27 eV away from energy_ev
    return {
        "unsupported_element": with_energy(triangle("Mg2Al"), -1.0),
        "non_finite_energy": nan_energy,
        "missing_energy": triangle(),
        "too_few_atoms": with_energy(Atoms("Mg", positions=[[0, 0, 0]]), -1.0),
        "overlapping_atoms": overlapping,
        "inconsistent_energy": disagreeing,
        "inf_energy": inf_energy,
    }


def test_each_bad_structure_is_reported_and_skipped(tmp_path):
    bad = bad_structures()
    frames = [with_energy(triangle(), -2.0)] + list(bad.values())
    path = tmp_path / "bad.extxyz"
    write(path, frames)
    result = read_structures(path)
    assert len(result.atoms) == 1 and result.atoms[0].info["source_index"] == 0
    expected = [name if name != "inf_energy" else "non_finite_energy" for name in bad]
    assert result.drops["reason"].tolist() == expected
    assert result.drops["index"].tolist() == list(range(1, len(frames)))
    assert set(result.drops["file"]) == {str(path)}


def test_strict_raises_with_file_index_and_reason(tmp_path):
    path = tmp_path / "bad.extxyz"
    write(path, [with_energy(triangle(), -2.0), bad_structures()["missing_energy"]])
    with pytest.raises(DataError, match=r"bad\.extxyz \[frame 1\]: missing_energy"):
        read_structures(path, strict=True)


def test_truncated_and_unreadable_files(tmp_path):
    good = tmp_path / "good.extxyz"
    write(good, [with_energy(triangle(), -float(k)) for k in range(3)])
    lines = good.read_text().splitlines()
    truncated = tmp_path / "truncated.extxyz"
    truncated.write_text("\n".join(lines[:-1]) + "\n")  # last frame loses an atom line
    result = read_structures(truncated)
    assert len(result.atoms) == 2
    assert result.drops[["index", "reason"]].values.tolist() == [[2, "unreadable_frame"]]

    garbage = tmp_path / "garbage.extxyz"
    garbage.write_text("not a structure\n1 2 3\n")
    missing = tmp_path / "missing.extxyz"
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    combined = read_many([garbage, missing, empty, good])
    assert len(combined.atoms) == 3
    assert combined.drops["reason"].tolist() == ["unreadable_file"] * 2 + ["empty_file"]
    assert combined.drops["index"].isna().all()
    assert combined.drops["detail"].tolist()[1:] == ["no such file", "the file is empty"]
    with pytest.raises(DataError, match="garbage.extxyz: unreadable_file"):
        read_structures(garbage, strict=True)


def test_files_written_by_the_split_stage_read_back(tmp_path):
    from paper_artifact.data.split import write_labelled_extxyz

    original = triangle()
    original.calc = SinglePointCalculator(original, energy=-4.0, forces=np.full((3, 3), 0.25))
    path = tmp_path / "in.extxyz"
    write(path, [original])
    first = read_structures(path, method="BP86")
    write_labelled_extxyz(first.atoms, tmp_path / "train.extxyz")
    again = read_structures(tmp_path / "train.extxyz")
    (atoms,) = again.atoms
    assert atoms.info[REF_ENERGY_KEY] == -4.0 and atoms.info[REF_METHOD_KEY] == "BP86"
    np.testing.assert_allclose(atoms.arrays[REF_FORCES_KEY], 0.25)


def gaussian_log(frames: list[tuple[Atoms, float]]) -> str:
    """Gaussian 16 output as ase.io reads it: an orientation block and SCF energy per step."""
    lines = [" Entering Gaussian System, Link 0=g16", " #p BP86/6-31G(d) opt", ""]
    for atoms, energy_hartree in frames:
        lines += [
            "                         Standard orientation:",
            " ---------------------------------------------------------------------",
            " Center     Atomic      Atomic             Coordinates (Angstroms)",
            " Number     Number       Type             X           Y           Z",
            " ---------------------------------------------------------------------",
        ]
        for i, (number, xyz) in enumerate(zip(atoms.numbers, atoms.positions, strict=True)):
            x, y, z = xyz
            lines.append(f" {i + 1:6d} {number:10d} {0:11d} {x:13.6f} {y:11.6f} {z:11.6f}")
        lines += [
            " ---------------------------------------------------------------------",
            f" SCF Done:  E(RB-P86) =  {energy_hartree:.9f}     A.U. after   12 cycles",
            "",
        ]
    lines.append(" Normal termination of Gaussian 16")
    return "\n".join(lines) + "\n"


@needs_reference
def test_gaussian_log_ingest(tmp_path):
    from ase.io import read

    minima = read(MINIMA, ":2")
    path = tmp_path / "mg13_opt.log"
    path.write_text(gaussian_log([(m, m.info["energy_hartree"]) for m in minima]))
    result = read_structures(path, method="BP86/6-31G(d)")
    assert result.drops.empty and len(result.atoms) == 2
    for ours, reference in zip(result.atoms, minima, strict=True):
        assert ours.get_chemical_formula() == "Mg13"
        np.testing.assert_allclose(ours.positions, reference.positions, atol=1e-6)
        expected_ev = reference.info["energy_hartree"] * HARTREE_EV_CODATA2014
        assert ours.info[REF_ENERGY_KEY] == pytest.approx(expected_ev, abs=1e-6)
        assert ours.info["method"] == "BP86/6-31G(d)"
        assert ours.info["source_file"] == str(path)
    assert [a.info["source_index"] for a in result.atoms] == [0, 1]


def test_gaussian_log_with_a_non_mg_atom_is_reported(tmp_path):
    atoms = triangle("Mg2Al")
    path = tmp_path / "bad.log"
    path.write_text(gaussian_log([(atoms, -600.0)]))
    result = read_structures(path)
    assert result.atoms == [] and list(result.drops.reason) == ["unsupported_element"]
    assert result.drops.file.iloc[0] == str(path)
