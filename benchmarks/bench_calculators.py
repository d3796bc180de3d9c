"""Speed of the reference calculators.

Gupta: energy+force calls per second (one core) for Mg13/55/100 clusters through the ASE
interface (positions changed before every call so nothing is reused).
--dft: PySCF BP86/6-31G(d) energy+gradient wall time and peak resident memory for the Mg13 global
minimum (and a Gupta-relaxed Mg30 with --dft-sizes 13 30), with and without density fitting.
Each DFT case runs in a fresh subprocess so that ru_maxrss is that case's peak.

  PYTHONPATH=. python benchmarks/bench_calculators.py [--dft --threads 2 --dft-sizes 13 30
      --timeout 3600 --coulomb both|df|exact]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from ase import Atoms

from paper_artifact.calculators.gupta import Gupta
from paper_artifact.calculators.relax import relax
from paper_artifact.data.gaussian_mg13 import read_lowest_distinct_minima
from paper_artifact.structures import random_cluster


def bench_gupta(n_atoms: int, seconds: float = 3.0, seed: int = 0) -> dict:
    atoms = random_cluster(n_atoms, np.random.default_rng(np.random.SeedSequence([seed, n_atoms])))
    atoms.calc = Gupta()
    calls = 0
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start_wall < seconds:
        atoms.positions[calls % n_atoms, 0] += 1e-7
        atoms.get_potential_energy()
        atoms.get_forces()
        calls += 1
    wall = time.perf_counter() - start_wall
    cpu = time.process_time() - start_cpu
    return {
        "n_atoms": n_atoms,
        "calls": calls,
        "calls_per_s_wall": calls / wall,
        "calls_per_s_cpu": calls / cpu,
    }


def dft_structure(n_atoms: int) -> Atoms:
    if n_atoms == 13:
        gm = read_lowest_distinct_minima(1)[0]
        return Atoms(gm.numbers, positions=gm.positions)
    rng = np.random.default_rng(np.random.SeedSequence([2025, n_atoms]))
    return relax(random_cluster(n_atoms, rng), Gupta(), fmax=0.01).atoms


def bench_dft_one(n_atoms: int, density_fit: bool, threads: int, max_memory_mb: int) -> dict:
    from paper_artifact.calculators.dft import DFTSettings, PySCFDFT

    atoms = dft_structure(n_atoms)
    settings = DFTSettings(density_fit=density_fit, threads=threads, max_memory_mb=max_memory_mb)
    calc = PySCFDFT(settings)
    atoms.calc = calc
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    atoms.get_forces()  # one SCF + analytic gradient; the energy comes with it
    return {
        "n_atoms": n_atoms,
        "density_fit": density_fit,
        "threads": threads,
        "max_memory_mb": max_memory_mb,
        "energy_ev": atoms.get_potential_energy(),
        "energy_gradient_wall_s": time.perf_counter() - start_wall,
        "cpu_s": time.process_time() - start_cpu,
        "scf_log": calc.last_scf_log,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_average_1min": os.getloadavg()[0],
    }


def run_dft_case(n_atoms: int, density_fit: bool, args: argparse.Namespace) -> dict:
    """One DFT case in a fresh subprocess (its own ru_maxrss), stopped after args.timeout s."""
    command = [sys.executable, __file__, "--dft-one", str(n_atoms), "--threads",
               str(args.threads), "--max-memory-mb", str(args.max_memory_mb)]
    if density_fit:
        command.append("--density-fit")
    case = {"n_atoms": n_atoms, "density_fit": density_fit, "threads": args.threads,
            "max_memory_mb": args.max_memory_mb}
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return case | {"status": f"stopped after {args.timeout:.0f} s (--timeout)"}
    if output.returncode != 0:
        return case | {"status": f"failed: {output.stderr.strip().splitlines()[-1:]}"}
    return json.loads(output.stdout.strip().splitlines()[-1]) | {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gupta-sizes", type=int, nargs="*", default=[13, 55, 100])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--dft", action="store_true")
    parser.add_argument("--dft-sizes", type=int, nargs="*", default=[13])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-memory-mb", type=int, default=6000,
                        help="PySCF max_memory; 6000 keeps Mg13's exact-J ERIs in memory")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds after which a DFT case is stopped and reported as such")
    parser.add_argument("--coulomb", choices=["both", "df", "exact"], default="both",
                        help="which DFT cases: density-fitted J, exact J, or both")
    parser.add_argument("--dft-one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--density-fit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dft_one is not None:
        print(json.dumps(
            bench_dft_one(args.dft_one, args.density_fit, args.threads, args.max_memory_mb)
        ))
        return
    results = {
        "load_average_1min": os.getloadavg()[0],
        "gupta": [bench_gupta(n, args.seconds) for n in args.gupta_sizes],
    }
    print(json.dumps(results["gupta"], indent=1), flush=True)
    if args.dft:
        results["dft"] = []
        cases = {"both": (True, False), "df": (True,), "exact": (False,)}[args.coulomb]
        for n_atoms in args.dft_sizes:
            for density_fit in cases:
                results["dft"].append(run_dft_case(n_atoms, density_fit, args))
                print(json.dumps(results["dft"][-1]), flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
