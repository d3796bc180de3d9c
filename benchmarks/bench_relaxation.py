"""Energy+force calls of one local relaxation to fmax 1e-4 eV/A: our L-BFGS with the standard
initial-Hessian scaling (calculators.lbfgs.ScaledLBFGS, the optimizer of the minima-hopping
engine and of calculators.relax) against ASE's BFGS, LBFGS and FIRE and SciPy's L-BFGS-B.

Frames: for each seed, the anchor-protocol start of benchmarks/bench_minima_hopping.py (LJ13,
LJ38, Gupta Mg13, Mg19), relaxed, then one escape MD of the minima-hopping engine (velocities at
the benchmark's temperature, mdmin 2): the frames minima hopping actually relaxes. Each
optimizer relaxes every frame; a relaxation that does not reach fmax within 5000 steps counts
as failed. `E - E_tight` compares the end energy with a BFGS relaxation of the same end point to
fmax 1e-7 (a positive value is the energy still above the minimum it reached).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_relaxation.py [--systems Mg13 LJ38]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.optimize import BFGS, FIRE, LBFGS
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_minima_hopping import SYSTEMS, Counter, protocol_start  # noqa: E402

from paper_artifact.calculators.lbfgs import ScaledLBFGS  # noqa: E402
from paper_artifact.mh.escape import (  # noqa: E402
    CountedPotential,
    escape_md,
    median_nearest_neighbour,
    thermal_velocities,
)

FMAX = 1e-4
MAX_STEPS = 5000


def escape_frames(name: str, seeds: int) -> list[Atoms]:
    system = SYSTEMS[name]()
    frames = []
    for seed in range(seeds):
        start, _ = protocol_start(system, seed)
        start.calc = system.calculator()
        BFGS(start, logfile=None).run(fmax=1e-6, steps=MAX_STEPS)
        x0 = start.positions.copy()
        masses = start.get_masses()
        velocities = thermal_velocities(masses, system.temperature0, np.random.default_rng(seed))
        potential = CountedPotential(start, system.calculator())
        md = escape_md(
            potential, x0, start.get_potential_energy(), start.get_forces(), velocities, masses,
            system.params().md_timestep_fs * units.fs, 2, 10000,
            1.6 * median_nearest_neighbour(x0),
        )  # fmt: skip
        frames.append(Atoms(start.numbers, positions=md.positions))
    return frames


def ase_run(optimizer):
    def run(atoms: Atoms, calc) -> tuple[int, float, bool, np.ndarray]:
        counter = Counter(calc)
        work = atoms.copy()
        work.calc = counter
        converged = optimizer(work).run(fmax=FMAX, steps=MAX_STEPS)
        return counter.n_calls, work.get_potential_energy(), bool(converged), work.positions

    return run


def scipy_run(atoms: Atoms, calc) -> tuple[int, float, bool, np.ndarray]:
    counter = Counter(calc)
    work = atoms.copy()
    work.calc = counter

    def fun(x):
        work.positions = x.reshape(-1, 3)
        return work.get_potential_energy(), -work.get_forces().ravel()

    result = minimize(
        fun, work.positions.ravel(), jac=True, method="L-BFGS-B",
        options={"gtol": FMAX / np.sqrt(3), "ftol": 0.0, "maxiter": MAX_STEPS},
    )  # fmt: skip
    work.positions = result.x.reshape(-1, 3)
    converged = np.sqrt((work.get_forces() ** 2).sum(axis=1)).max() < FMAX
    return counter.n_calls, work.get_potential_energy(), bool(converged), work.positions


OPTIMIZERS = {
    "ours: ScaledLBFGS": ase_run(lambda a: ScaledLBFGS(a)),
    "ASE BFGS (alpha 70)": ase_run(lambda a: BFGS(a, logfile=None)),
    "ASE LBFGS (alpha 70)": ase_run(lambda a: LBFGS(a, logfile=None)),
    "ASE FIRE": ase_run(lambda a: FIRE(a, logfile=None)),
    "SciPy L-BFGS-B": scipy_run,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", nargs="+", choices=sorted(SYSTEMS), default=sorted(SYSTEMS))
    parser.add_argument("--seeds", type=int, default=20, help="frames per system")
    args = parser.parse_args()
    print("| system | optimizer | median calls | mean calls | failed | max E - E_tight (eV) |")
    print("|---|---|---|---|---|---|")
    for name in args.systems:
        system = SYSTEMS[name]()
        frames = escape_frames(name, args.seeds)
        for label, run in OPTIMIZERS.items():
            calls, gaps, failed = [], [], 0
            for frame in frames:
                n, energy, converged, positions = run(frame, system.calculator())
                if not converged:
                    failed += 1
                    continue
                calls.append(n)
                tight = Atoms(frame.numbers, positions=positions)
                tight.calc = system.calculator()
                BFGS(tight, logfile=None).run(fmax=1e-7, steps=20000)
                gaps.append(energy - tight.get_potential_energy())
            print(
                f"| {name} | {label} | {np.median(calls):.0f} | {np.mean(calls):.1f} | "
                f"{failed}/{len(frames)} | {max(gaps):.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
