"""Calls and wall time to reach the Lennard-Jones global minimum: our MH vs ASE's MinimaHopping.

For every seed both methods start from the same random cluster (LJ units: epsilon = 1 eV,
sigma = 1 A, Ar masses) and use the same MD temperature, time step and mdmin. Both get the same
calculator wrapper, which counts energy+force evaluations and raises as soon as an energy below
E_GM + 1e-3 is seen (so "calls to the GM" are measured identically for both) or the call budget is
spent (failure). The LJ energy/forces come from a vectorised numpy calculator that is checked
against ase.calculators.lj.LennardJones(rc=1e3) at every start (ASE's version is ~20x slower
because it rebuilds a neighbour list every call; the counts do not depend on it).

Run:  OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_minima_hopping.py \
          --sizes 13 38 --seeds 10 --out /tmp/bench_mh.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.lj import LennardJones
from ase.optimize.minimahopping import MinimaHopping
from scipy.spatial.distance import pdist, squareform

from paper_artifact.mh.minima_hopping import MHParams, run_minima_hopping
from paper_artifact.structures import random_cluster

GLOBAL_MINIMA = {13: -44.326801, 38: -173.928427}  # Cambridge Cluster Database, LJ units
GM_TOLERANCE = 1e-3
CALL_BUDGET = {13: 10_000, 38: 20_000}
# LJ-tuned settings (epsilon/k_B = 11605 K, so 3000 K = 0.26 epsilon; LJ time unit of Ar ~ 64 fs)
LJ_MH = MHParams(
    temperature0=3000.0,
    mdmin=3,
    md_timestep_fs=4.0,
    ediff0=1.0,
    fmax=0.01,
    softening_steps=10,
    fp_width_scale=0.5,
    fragmentation_factor=1.8,
)


class FastLennardJones(Calculator):
    """All-pairs LJ without cutoff (epsilon = sigma = 1)."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pos = self.atoms.positions
        diff = pos[:, None, :] - pos[None, :, :]
        r2 = squareform(pdist(pos, "sqeuclidean"))
        np.fill_diagonal(r2, np.inf)
        inv6 = r2**-3
        energy = 2.0 * np.sum(inv6 * inv6 - inv6)  # 4 * sum over pairs = 2 * sum over i != j
        coeff = (48.0 * inv6 * inv6 - 24.0 * inv6) / r2
        self.results = {"energy": energy, "forces": np.einsum("ij,ijk->ik", coeff, diff)}


class StopSearch(Exception):
    pass


class Watcher(Calculator):
    """Counts evaluations; raises StopSearch at the first energy <= E_GM + tol or at the budget."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, target: float, budget: int):
        super().__init__()
        self.inner = FastLennardJones()
        self.target, self.budget = target, budget
        self.n_calls, self.started = 0, time.perf_counter()
        self.hit: tuple[int, float] | None = None
        self.lowest = np.inf

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.inner.calculate(self.atoms, properties, system_changes)
        self.results = dict(self.inner.results)
        self.n_calls += 1
        self.lowest = min(self.lowest, self.results["energy"])
        if self.results["energy"] <= self.target + GM_TOLERANCE:
            self.hit = (self.n_calls, time.perf_counter() - self.started)
            raise StopSearch
        if self.n_calls >= self.budget:
            raise StopSearch


def lj_start(n_atoms: int, seed: int) -> Atoms:
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_atoms, 7]))
    cluster = random_cluster(n_atoms, rng, min_distance=1.0, bond_length=1.5, candidates=8)
    atoms = Atoms(f"Ar{n_atoms}", positions=cluster.positions)
    check = atoms.copy()
    check.calc = LennardJones(epsilon=1.0, sigma=1.0, rc=1e3)
    fast = atoms.copy()
    fast.calc = FastLennardJones()
    assert abs(check.get_potential_energy() - fast.get_potential_energy()) < 1e-9
    assert np.allclose(check.get_forces(), fast.get_forces(), atol=1e-9)
    return atoms


def run_ours(n_atoms: int, seed: int) -> dict:
    watcher = Watcher(GLOBAL_MINIMA[n_atoms], CALL_BUDGET[n_atoms])
    try:
        run_minima_hopping(lj_start(n_atoms, seed), watcher, LJ_MH, seed, None, 10**6)
    except StopSearch:
        pass
    return {"calls": watcher.n_calls, "hit": watcher.hit, "lowest": watcher.lowest}


def run_ase(n_atoms: int, seed: int, temperature0: float, mdmin: int, timestep: float) -> dict:
    watcher = Watcher(GLOBAL_MINIMA[n_atoms], CALL_BUDGET[n_atoms])
    atoms = lj_start(n_atoms, seed)
    atoms.calc = watcher
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            hop = MinimaHopping(
                atoms,
                T0=temperature0,
                mdmin=mdmin,
                timestep=timestep,
                Ediff0=LJ_MH.ediff0,
                fmax=0.05,  # ASE default; its minima_threshold (0.5 A) is in sigma here
                rng=np.random.RandomState(seed),
            )
            hop(totalsteps=10**6)
        except StopSearch:
            pass
        finally:
            os.chdir(cwd)
    return {"calls": watcher.n_calls, "hit": watcher.hit, "lowest": watcher.lowest}


def summarise(runs: list[dict]) -> dict:
    hits = [r["hit"] for r in runs if r["hit"] is not None]
    calls = [h[0] for h in hits]
    seconds = [h[1] for h in hits]
    return {
        "success": f"{len(hits)}/{len(runs)}",
        "median_calls": float(np.median(calls)) if calls else None,
        "median_seconds": float(np.median(seconds)) if seconds else None,
        "calls_per_run": [r["calls"] if r["hit"] else None for r in runs],
        "lowest_energy_per_run": [round(float(r["lowest"]), 4) for r in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[13, 38])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=["ours", "ase"])
    parser.add_argument("--ase-T0", type=float, default=LJ_MH.temperature0)
    parser.add_argument("--ase-mdmin", type=int, default=LJ_MH.mdmin)
    parser.add_argument("--ase-timestep", type=float, default=LJ_MH.md_timestep_fs)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_minima_hopping.json"))
    args = parser.parse_args()
    ase_settings = {"T0": args.ase_T0, "mdmin": args.ase_mdmin, "timestep": args.ase_timestep}
    report = {
        "seeds": [args.first_seed, args.first_seed + args.seeds],
        "params": LJ_MH.__dict__,
        "ase": ase_settings,
        "budget": CALL_BUDGET,
        "results": {},
    }
    for n_atoms in args.sizes:
        for method in args.methods:
            runs = []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                if method == "ours":
                    runs.append(run_ours(n_atoms, seed))
                else:
                    runs.append(run_ase(n_atoms, seed, *ase_settings.values()))
                print(f"LJ{n_atoms} {method} seed {seed}: {runs[-1]}", flush=True)
            report["results"][f"LJ{n_atoms}_{method}"] = summarise(runs)
            print(f"LJ{n_atoms} {method}: {report['results'][f'LJ{n_atoms}_{method}']}", flush=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
