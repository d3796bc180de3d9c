"""gap_fit cost vs training-set size, and the cost of one GAP energy+force call.

Part "fit": fit a SOAP + 2b GAP (Banik et al.'s SOAP settings) to 50/100/200 random Mg13-20
clusters labelled by the Gupta potential; report gap_fit wall time and the peak RSS of the
gap_fit process (run_gap_fit's numbers), with and without forces in the fit.

Part "calls": fit one GAP with the default profile's settings (SOAP 5 A, n_max 8, l_max 4,
100 sparse points + 2b 7 A, 15 sparse points; energies of 100 Gupta-labelled Mg13-20 clusters)
and time one energy+force call on random compact Mg13/29/55 free clusters (pbc=False) by:

  quippy ASE        quippy.potential.Potential, atoms.calc = pot; get_potential_energy +
                    get_forces (what load_gap returned before issue 14)
  quippy calculate  the same Potential through calc.calculate(atoms, ["energy", "forces"],
                    all_changes) on one reused Atoms (the minima-hopping call)
  ours ASE          load_gap's GapCalculator, ASE path
  ours calculate    load_gap's GapCalculator, calculate() path
  Fortran calc      quippy's lowest-level call: potential_module.Potential.calc on one kept
                    QUIP Atoms (positions updated in place) with preallocated energy/force
                    arrays: the floor for any Python wrapper

Every round draws new positions (so every call is a fresh calculation) and runs the five ways
in a rotating order (machine load affects all alike); the table gives the median of --repeats
rounds, calls/s = 1/median, and the speed-up of ours over quippy's for both call paths. All
five must give identical energies and forces (checked every round). A last line times the
Fortran call on a single Mg atom (no neighbours), i.e. QUIP's fixed per-call cost.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_gap.py [--part calls|fit|all]
     [--repeats 50] [--fit-sizes 50 100 200]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import all_changes

from paper_artifact.calculators.gap import (
    GapFitSettings,
    SoapParams,
    TwoBodyParams,
    load_gap,
    run_gap_fit,
)
from paper_artifact.calculators.gupta import Gupta
from paper_artifact.structures import random_cluster

CALL_SIZES = (13, 29, 55)
# configs/default.yaml fit.grid (the larger SOAP/2b values) and fit.settings
CALL_SOAP = SoapParams(cutoff=5.0, n_max=8, l_max=4, zeta=4.0, n_sparse=100)
CALL_TWO_BODY = TwoBodyParams(cutoff=7.0, delta=0.5, n_sparse=15)
CALL_SETTINGS = GapFitSettings(e0=0.0, use_forces=False, default_sigma_energy=0.002)


def labelled_set(count: int, seed: int, calc) -> list[Atoms]:
    clusters = []
    for i in range(count):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        atoms = random_cluster(int(rng.integers(13, 21)), rng)
        atoms.calc = calc
        atoms.info["ref_energy"] = atoms.get_potential_energy()
        atoms.arrays["ref_forces"] = atoms.get_forces()
        atoms.calc = None
        clusters.append(atoms)
    return clusters


WAYS = ("quippy ASE", "quippy calculate", "ours ASE", "ours calculate", "Fortran calc")


class CallWays:
    """The five ways of one energy+force call on a free cluster of `n` Mg atoms.

    Each way has its own calculator and Atoms: quippy's calculate() skips a call whose atoms
    equal the last ones it computed, so a shared calculator would return cached results.
    """

    def __init__(self, xml_path: Path, n: int):
        from quippy.convert import ase_to_quip
        from quippy.potential import Potential

        free = Atoms(["Mg"] * n, positions=np.zeros((n, 3)), pbc=False)
        self.atoms = {way: free.copy() for way in WAYS[:4]}
        self.calcs = {}
        for way, atoms in self.atoms.items():
            if way.startswith("quippy"):
                self.calcs[way] = Potential(param_filename=str(xml_path))
            else:
                self.calcs[way] = load_gap(xml_path)
            if way.endswith("ASE"):
                atoms.calc = self.calcs[way]
        self.fortran = Potential(param_filename=str(xml_path))._quip_potential
        self.quip_atoms = ase_to_quip(free)
        self.energy, self.forces = np.zeros(()), np.zeros((3, n), order="F")

    def call(self, way: str, x: np.ndarray) -> tuple[float, np.ndarray]:
        if way == "Fortran calc":
            self.quip_atoms.pos[:] = x.T
            self.fortran.calc(self.quip_atoms, energy=self.energy, force=self.forces, args_str="")
            return float(self.energy), self.forces.T
        atoms = self.atoms[way]
        atoms.positions = x
        if way.endswith("ASE"):
            return atoms.get_potential_energy(), atoms.get_forces()
        calc = self.calcs[way]
        calc.calculate(atoms, ["energy", "forces"], all_changes)
        return calc.results["energy"], calc.results["forces"]


def time_calls(xml_path: Path, n: int, repeats: int, seed: int) -> dict[str, float]:
    """Median seconds per call of each way, rounds interleaved with a rotating order."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, n]))
    base = random_cluster(n, rng).positions
    ways = CallWays(xml_path, n)
    times = {way: [] for way in WAYS}
    for round_ in range(repeats + 1):  # round 0 warms up and is dropped
        x = base + rng.normal(scale=0.02, size=base.shape)
        results = {}
        for k in range(len(WAYS)):
            way = WAYS[(round_ + k) % len(WAYS)]
            start = time.perf_counter()
            energy, forces = ways.call(way, x)
            times[way].append(time.perf_counter() - start)
            results[way] = (energy, np.array(forces))
        energy, forces = results["quippy ASE"]
        for way, (e, f) in results.items():
            if e != energy or not np.array_equal(f, forces):
                raise AssertionError(f"Mg{n}: {way} differs from quippy ASE")
    return {way: float(np.median(t[1:])) for way, t in times.items()}


def single_atom_seconds(xml_path: Path, repeats: int) -> float:
    ways = CallWays(xml_path, 1)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        ways.call("Fortran calc", np.zeros((1, 3)))
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def bench_calls(workdir: Path, repeats: int, seed: int, calc) -> None:
    data = labelled_set(100, seed, calc)
    model = run_gap_fit(data, workdir, CALL_SOAP, CALL_TWO_BODY, CALL_SETTINGS)
    print(f"\nSOAP {CALL_SOAP}\n2b {CALL_TWO_BODY}\nfit {CALL_SETTINGS}")
    print(f"energy+force call, median of {repeats} interleaved rounds: ms per call (calls/s)\n")
    print(f"| cluster | {' | '.join(WAYS)} | speed-up ASE | speed-up calculate |")
    print("|---" * (len(WAYS) + 3) + "|")
    for n in CALL_SIZES:
        t = time_calls(model.xml_path, n, repeats, seed)
        cells = " | ".join(f"{1e3 * t[way]:.2f} ({1 / t[way]:.0f})" for way in WAYS)
        ase_gain = t["quippy ASE"] / t["ours ASE"]
        calc_gain = t["quippy calculate"] / t["ours calculate"]
        print(f"| Mg{n} | {cells} | {ase_gain:.3f} | {calc_gain:.3f} |")
    fixed = single_atom_seconds(model.xml_path, repeats)
    print(f"\nFortran calc on a single Mg atom (QUIP's fixed per-call cost): {1e3 * fixed:.2f} ms")


def bench_fit(workdir: Path, sizes: list[int], seed: int, calc) -> None:
    soap, two_body = SoapParams(), TwoBodyParams(cutoff=7.0, delta=0.5, n_sparse=20)
    settings = GapFitSettings(e0=0.0)
    print(f"SOAP {soap}\n2b {two_body}")
    print("| configurations | atoms | forces fitted | gap_fit wall s | peak RSS MB |")
    print("|---|---|---|---|---|")
    data = labelled_set(max(sizes), seed, calc)
    for use_forces in (True, False):
        fit_settings = replace(settings, use_forces=use_forces)
        for count in sizes:
            subset = data[:count]
            fitted = run_gap_fit(
                subset, workdir / f"{count}_{use_forces}", soap, two_body, fit_settings
            )
            atoms = sum(len(a) for a in subset)
            print(
                f"| {count} | {atoms} | {'yes' if use_forces else 'no'} | "
                f"{fitted.fit_seconds:.1f} | {fitted.peak_memory_mb:.0f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--part", choices=["calls", "fit", "all"], default="all", help="which part to run"
    )
    parser.add_argument("--repeats", type=int, default=50, help="timed rounds per cluster")
    parser.add_argument(
        "--fit-sizes", type=int, nargs="+", default=[50, 100, 200], help="training-set sizes"
    )
    parser.add_argument("--seed", type=int, default=2025, help="seed of clusters and rattles")
    args = parser.parse_args()
    calc = Gupta()
    print(f"labeller Gupta; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.part in ("fit", "all"):
            bench_fit(Path(tmp) / "fit", args.fit_sizes, args.seed, calc)
        if args.part in ("calls", "all"):
            bench_calls(Path(tmp) / "calls", args.repeats, args.seed, calc)


if __name__ == "__main__":
    main()
