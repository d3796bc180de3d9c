"""Check that the numerical stack works in this environment (run inside the image as its user).

Each check compares against a value that does not come from the library under test:
- gap_fit + quippy: a 2-body GAP fitted to ASE Morse dimer energies reproduces a held-out
  Morse energy (the GAP executable, the XML writer and quippy's Potential reader all run);
- PySCF: the BP86/6-31G(d) (Cartesian d) Mg atom energy matches the published Gaussian value;
- dscribe: a SOAP vector of an Mg cluster is unchanged by a rigid rotation.
Usage: python docker/check_runtime.py   (exit code 0 when every check passes)
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.morse import MorsePotential
from ase.io import write

from paper_artifact.units import E_MG1_PAPER_HARTREE

MORSE = {"epsilon": 0.05, "r0": 3.4, "rho0": 5.0}
GAP_CUTOFF = 6.0
PYSCF_TOLERANCE_HARTREE = 5e-4


def _dimer(distance: float) -> Atoms:
    dimer = Atoms("Mg2", positions=[[0.0, 0.0, 0.0], [0.0, 0.0, distance]], cell=[20.0] * 3)
    dimer.calc = MorsePotential(**MORSE)
    return dimer


def check_gap_fit(workdir: Path) -> str:
    from quippy.potential import Potential

    training = []
    for distance in np.linspace(2.6, 5.8, 17):
        dimer = _dimer(float(distance))
        dimer.info["energy"] = dimer.get_potential_energy()
        dimer.arrays["forces"] = dimer.get_forces()
        dimer.calc = None
        training.append(dimer)
    write(workdir / "train.xyz", training, format="extxyz")
    gap_xml = workdir / "gap.xml"
    command = [
        "gap_fit",
        "at_file=train.xyz",
        f"gap={{distance_2b cutoff={GAP_CUTOFF} covariance_type=ard_se delta=1.0 "
        "theta_uniform=1.0 n_sparse=15 sparse_method=uniform}",
        "default_sigma={0.001 0.01 0.0 0.0}",
        "e0={Mg:0.0}",
        "energy_parameter_name=energy",
        "force_parameter_name=forces",
        f"gp_file={gap_xml.name}",
        "rnd_seed=1",
    ]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    if result.returncode != 0 or not gap_xml.exists():
        raise RuntimeError(f"gap_fit failed (exit {result.returncode}):\n{result.stdout[-2000:]}")
    held_out = _dimer(3.9)
    expected = held_out.get_potential_energy()
    held_out.calc = Potential(param_filename=str(gap_xml))
    predicted = held_out.get_potential_energy()
    if abs(predicted - expected) > 2e-3:
        raise RuntimeError(f"GAP dimer energy {predicted:.5f} eV, Morse {expected:.5f} eV")
    return f"GAP {predicted:.5f} eV vs Morse {expected:.5f} eV at 3.9 A"


def check_pyscf() -> str:
    from pyscf import dft, gto

    atom = gto.M(atom="Mg 0 0 0", basis="6-31g*", cart=True, spin=0, verbose=0)
    solver = dft.RKS(atom)
    solver.xc = "b88,p86"
    solver.grids.level = 5
    energy = solver.kernel()
    if not solver.converged or abs(energy - E_MG1_PAPER_HARTREE) > PYSCF_TOLERANCE_HARTREE:
        raise RuntimeError(f"PySCF Mg atom {energy:.7f} Ha, paper {E_MG1_PAPER_HARTREE} Ha")
    return f"Mg atom {energy:.7f} Ha vs Gaussian {E_MG1_PAPER_HARTREE} Ha"


def check_dscribe() -> str:
    from dscribe.descriptors import SOAP
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(7)
    cluster = Atoms("Mg6", positions=rng.uniform(0.0, 5.0, size=(6, 3)))
    soap = SOAP(species=["Mg"], r_cut=6.0, n_max=4, l_max=4, average="inner", periodic=False)
    rotated = cluster.copy()
    rotated.positions = Rotation.random(random_state=3).apply(cluster.positions)
    original_vector, rotated_vector = soap.create(cluster), soap.create(rotated)
    difference = float(np.max(np.abs(original_vector - rotated_vector)))
    if difference > 1e-6 * float(np.max(np.abs(original_vector))):
        raise RuntimeError(f"SOAP changed under rotation by {difference:.2e}")
    return f"SOAP rotation invariant ({original_vector.size} features)"


def main() -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        checks = {
            "gap_fit+quippy": lambda: check_gap_fit(Path(tmp)),
            "pyscf": check_pyscf,
            "dscribe": check_dscribe,
        }
        for name, check in checks.items():
            start = time.perf_counter()
            try:
                message = check()
                status = "ok"
            except Exception as error:  # report every failing check, not only the first
                message, status = str(error), "FAILED"
                failures += 1
            print(f"{name}: {status} ({time.perf_counter() - start:.1f} s) {message}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
