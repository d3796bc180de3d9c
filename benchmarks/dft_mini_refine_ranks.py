"""Reference relaxation of chosen GAP ranks of a dft-mini run's GO isomers (issue 16, item 3:
would refining more of the GAP's lowest isomers, as the paper's 10, reach the Gaussian GM? Does
any GO isomer lie in the GM's reference basin at all?).

Relaxes the unique GO isomers of one size at the given GAP ranks (RUN/go/MgN_unique_isomers.extxyz)
the way the refine stage does (the profile's reference calculator through the run's label cache,
refine.fmax, refine.max_steps) and prints per rank the energy above the known GM relaxed with the
same reference (refine/known_global_minima.extxyz of the run, else the relaxed profile GM), the
fingerprint distance to it and whether it is the same minimum (go_table's rule). The labels land
in the run's cache, so `labels export` can ship them.

--nearest-known K relaxes instead the K isomers nearest the known GM by fingerprint, whatever
their GAP rank: a diagnostic that uses the answer (GO cannot pick these), to tell a search that
never reaches the GM's basin from a ranking that puts it too high.

--orientations K relaxes each chosen isomer also from K random rigid rotations (about its centre
of mass, seeded by --seed): the DFT grid is not rotation invariant, so this shows whether the
reference basin a long relaxation ends in is decided by that numerical noise.

Run: PYTHONPATH=. python benchmarks/dft_mini_refine_ranks.py RUN (--ranks 0 1 2 ... |
     --nearest-known K) [--orientations K] [--seed S] [--size 13] [--profile dft-mini]
     [--workers 2]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read
from scipy.spatial.transform import Rotation

from paper_artifact import paths
from paper_artifact.analysis.go_table import SAME_MINIMUM_FP_DISTANCE
from paper_artifact.calculators.factory import calculator_factory
from paper_artifact.calculators.relax import RelaxTask, relax_task
from paper_artifact.config import load_profile
from paper_artifact.mh.fingerprint import fingerprint, fingerprint_distance
from paper_artifact.stages.common import reference_atom_energy, reference_rules
from paper_artifact.units import binding_energy_per_atom_kcal


def distances_to(known_fp: np.ndarray, isomers: list[Atoms]) -> list[float]:
    """Fingerprint distance of each isomer to the known GM."""
    return [fingerprint_distance(known_fp, fingerprint(atoms)) for atoms in isomers]


def ranks_nearest(distances: list[float], k: int) -> list[int]:
    """GAP ranks of the k isomers nearest the known GM, nearest first."""
    return [int(r) for r in np.argsort(distances, kind="stable")[:k]]


def rotated_copies(atoms: Atoms, count: int, seed: int) -> list[Atoms]:
    """`count` copies of atoms under random rigid rotations about the centre of mass."""
    centre = atoms.get_center_of_mass()
    copies = []
    for rotation in Rotation.random(count, random_state=np.random.default_rng(seed)):
        copy = atoms.copy()
        copy.positions = rotation.apply(atoms.positions - centre) + centre
        copies.append(copy)
    return copies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="a run folder with its go stage done")
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--ranks", type=int, nargs="+", metavar="R", help="GAP ranks, 0 lowest")
    choice.add_argument(
        "--nearest-known", type=int, metavar="K",
        help="the K isomers nearest the known GM by fingerprint (a diagnostic, see above)",
    )  # fmt: skip
    parser.add_argument(
        "--orientations", type=int, default=0, metavar="K",
        help="also relax each isomer from K random rotations (0: the GO orientation only)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the random rotations")
    parser.add_argument("--size", type=int, default=13)
    parser.add_argument("--profile", default="dft-mini")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cfg = load_profile(args.profile)
    run = paths.RunPaths(args.run)
    unique = read(run.stage("go") / paths.go_unique(args.size), ":")
    count = len(unique)
    wanted = args.ranks or [args.nearest_known - 1]
    if not 0 <= min(wanted) <= max(wanted) < count:
        parser.error(
            f"the run has {count} unique Mg{args.size} isomers: ranks 0-{count - 1}, K 1-{count}"
        )
    reference = cfg.reference
    factory = calculator_factory(reference.calculator, reference.dft, run.cache_db)
    known_file = run.stage("refine") / paths.REFINE_KNOWN_GM
    known = None
    if known_file.exists():
        known = {len(a): a for a in read(known_file, ":")}.get(args.size)
    if known is None:
        gm = read(cfg.refine.known_gm_dir.resolve() / f"Mg{args.size}.extxyz")
        known = relax_task(
            RelaxTask(gm, factory, cfg.refine.fmax, cfg.refine.max_steps, "known GM")
        )["atoms"]
    known_energy = known.get_potential_energy()
    known_fp = fingerprint(known)
    start_distances = distances_to(known_fp, unique)
    ranks = args.ranks or ranks_nearest(start_distances, args.nearest_known)
    starts = [
        (rank, orientation, atoms)
        for rank in ranks
        for orientation, atoms in enumerate(
            [unique[rank]] + rotated_copies(unique[rank], args.orientations, args.seed + rank)
        )
    ]
    tasks = [
        RelaxTask(atoms, factory, cfg.refine.fmax, cfg.refine.max_steps,
                  f"Mg{args.size} GAP isomer {rank} orientation {orientation}",
                  reference_rules(cfg))
        for rank, orientation, atoms in starts
    ]  # fmt: skip
    e_atom = reference_atom_energy(cfg)
    print("| GAP rank | orientation (0: GO's) | GAP energy (eV) | fingerprint distance to the GM: "
          "start, relaxed | relaxed: above the GM (eV) | E_bond (kcal/mol/atom) | steps "
          "| same minimum |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|", flush=True)
    with ProcessPoolExecutor(args.workers) as pool:
        for (rank, orientation, _), result in zip(
            starts, pool.map(relax_task, tasks), strict=True
        ):
            distance = fingerprint_distance(known_fp, fingerprint(result["atoms"]))
            e_bond = binding_energy_per_atom_kcal(result["energy_ev"], args.size, e_atom)
            print(
                f"| {rank} | {orientation} | {unique[rank].get_potential_energy():.4f} | "
                f"{start_distances[rank]:.4f}, {distance:.4f} | "
                f"{result['energy_ev'] - known_energy:+.4f} | {e_bond:.3f} | "
                f"{result['n_steps']}{'' if result['converged'] else ' (not converged)'} | "
                f"{'yes' if distance < SAME_MINIMUM_FP_DISTANCE else 'no'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
