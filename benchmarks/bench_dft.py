"""Energy+force labels per CPU hour of the PySCF reference (issue 16), per throughput lever.

Part "levers": Mg8 and Mg13 structures of the kind the pipeline labels, each labelled by a fresh
PySCFDFT (as data.label.label_one does) with every variant, interleaved per structure (machine
load affects all alike). CPU time = time.process_time() of this process (all threads) around
get_forces() (one SCF + analytic gradient). Structures: Mg8 from the project's candidate
generator with the Gupta potential (a relaxed minimum, a rattled copy, an MD snapshot); Mg13
from the Gaussian minima (data/reference/mg13_bp86_631gd_minima.extxyz: rank 0, a copy of it
rattled by 0.1 A, rank 1, ...). Variants (all single-threaded unless named so):

  before      configs/dft-mini.yaml's reference.dft with BEFORE (the settings before issue 16:
              DF J recomputed from 3-centre integrals every cycle, grid level 3, all grid points,
              conv_tol_grad 1e-4, DIIS subspace 8)
  df-incore   before + the DF 3-index tensor kept in memory (DFTSettings.df_incore)
  grid2       df-incore + grid level 2
  rho         df-incore + small_rho_cutoff 1e-7
  grad3e-4    df-incore + conv_tol_grad 3e-4 (norm of the orbital gradient)
  diis12      df-incore + DIIS subspace of 12 (PySCF default 8)
  after       configs/dft-mini.yaml's reference.dft as it is (threads 1)
  after-2t    after with 2 threads (CPU time per label, not wall time)

Per variant: labels per CPU hour, SCF cycles, and against the first variant given ("before" by
default): max |dF| (eV/A) and max |dE_bond| (kcal/mol/atom, each variant with its own E(Mg1) at
the same settings).

Part "cost": CPU seconds of one SCF energy and of one energy+force label with the "after"
settings for Mg4..Mg13, and of one exact-J Mg13 energy (dft_check's Gaussian comparison): the
table paper_artifact/planning.py fits a power law to, written as YAML with provenance
(--cost-out, default paper_artifact/data/dft_cost.yaml).

Run: OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_dft.py [--part levers|cost|all]
     [--sizes 8 13] [--structures 3] [--variants before df-incore ...] [--csv FILE] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyscf
import yaml
from ase import Atoms

from paper_artifact.calculators.dft import DFTSettings, PySCFDFT
from paper_artifact.calculators.gupta import Gupta
from paper_artifact.config import load_profile
from paper_artifact.data.gaussian_mg13 import read_lowest_distinct_minima
from paper_artifact.data.generate import GenerationParams, generate_candidates
from paper_artifact.planning import COST_FILE
from paper_artifact.units import binding_energy_per_atom_kcal

PROFILE = "dft-mini"
# dft-mini's reference.dft fields as they were before issue 16 (configs/dft-mini.yaml at main)
BEFORE = {
    "df_incore": False,
    "grid_level": 3,
    "small_rho_cutoff": 0.0,
    "conv_tol_grad": 1.0e-4,
    "diis_space": 8,
}
LEVERS = {
    "df-incore": {"df_incore": True},
    "grid2": {"df_incore": True, "grid_level": 2},
    "rho": {"df_incore": True, "small_rho_cutoff": 1e-7},
    "grad3e-4": {"df_incore": True, "conv_tol_grad": 3e-4},
    "diis12": {"df_incore": True, "diis_space": 12},
}
VARIANTS = ("before", *LEVERS, "after", "after-2t")
RATTLE = 0.1  # Angstrom, Gaussian sigma of the rattled Mg13 copies
COST_SIZES = tuple(range(4, 14))


def after_settings() -> DFTSettings:
    return replace(load_profile(PROFILE).reference.dft, threads=1)


def variant_settings(name: str) -> DFTSettings:
    after = after_settings()
    before = replace(after, **BEFORE)
    if name == "before":
        return before
    if name in LEVERS:
        return replace(before, **LEVERS[name])
    if name == "after":
        return after
    if name == "after-2t":
        return replace(after, threads=2)
    raise ValueError(f"unknown variant {name!r} (use {', '.join(VARIANTS)})")


def structures(n_atoms: int, count: int, seed: int) -> list[Atoms]:
    """`count` structures of the kind the pipeline labels (module docstring), labelled."""
    if n_atoms == 13:
        minima = read_lowest_distinct_minima((count + 1) // 2)
        rng = np.random.default_rng(seed)
        picked = []
        for minimum in minima:
            atoms = Atoms(minimum.numbers, positions=minimum.positions)
            atoms.info["label"] = f"Mg13 Gaussian rank {minimum.info['unique_minimum_rank']}"
            rattled = atoms.copy()
            rattled.positions += rng.normal(scale=RATTLE, size=rattled.positions.shape)
            rattled.info["label"] = f"{atoms.info['label']} rattled {RATTLE} A"
            picked += [atoms, rattled]
        return picked[:count]
    params = GenerationParams(
        n_random=1, n_fragment=1, n_relaxed=2, n_rattled=2, n_strained=0, n_md=2, md_steps=60
    )
    candidates = generate_candidates([n_atoms], params, seed, Gupta)
    order = ("relaxed", "rattled", "md")
    by_kind = [[a for a in candidates if a.info["generator"] == kind] for kind in order]
    picked = [atoms for group in zip(*by_kind, strict=True) for atoms in group][:count]
    for atoms in picked:
        atoms.info["label"] = (
            f"Mg{n_atoms} {atoms.info['generator']} {atoms.info['generator_index']}"
        )
    return [
        Atoms(a.numbers, positions=a.positions, info={"label": a.info["label"]}) for a in picked
    ]


def _cycles(log: list[str]) -> int:
    return sum(int(m.group(1)) for m in re.finditer(r"after (\d+) cycles", " ".join(log)))


def timed_label(atoms: Atoms, settings: DFTSettings, forces: bool = True) -> dict:
    """One label (fresh calculator): CPU s, energy (eV), forces (eV/A), SCF cycles of all rungs."""
    calc = PySCFDFT(settings)
    work = atoms.copy()
    work.calc = calc
    start = time.process_time()
    result = work.get_forces() if forces else None
    energy = work.get_potential_energy()
    return {
        "cpu_s": time.process_time() - start,
        "energy_ev": float(energy),
        "forces": None if result is None else np.array(result),
        "scf_cycles": _cycles(calc.last_scf_log),
        "scf_rungs": len(calc.last_scf_log),
    }


def warm_up() -> None:
    """Load libxc, basis sets and integral libraries once, outside the timed calls."""
    timed_label(
        Atoms("Mg2", positions=[[0, 0, 0], [0, 0, 3.2]]), replace(DFTSettings(), density_fit=True)
    )


def run_levers(sizes, count, variants, seed) -> list[dict]:
    settings = {name: variant_settings(name) for name in variants}
    e_atom = {name: PySCFDFT(s).isolated_atom_energy() for name, s in settings.items()}
    rows = []
    for n_atoms in sizes:
        for atoms in structures(n_atoms, count, seed):
            reference = None
            for name in variants:
                result = timed_label(atoms, settings[name])
                e_bond = binding_energy_per_atom_kcal(result["energy_ev"], n_atoms, e_atom[name])
                if name == variants[0]:
                    reference = (e_bond, result["forces"])
                row = {
                    "n_atoms": n_atoms,
                    "structure": atoms.info["label"],
                    "variant": name,
                    "cpu_s": result["cpu_s"],
                    "scf_cycles": result["scf_cycles"],
                    "scf_rungs": result["scf_rungs"],
                    "energy_ev": result["energy_ev"],
                    "e_bond_kcal_mol_atom": e_bond,
                    "d_e_bond_vs_first": e_bond - reference[0],
                    "max_abs_d_force_vs_first": float(
                        np.abs(result["forces"] - reference[1]).max()
                    ),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def summarise(rows: list[dict], variants) -> list[dict]:
    summary = []
    for n_atoms in sorted({r["n_atoms"] for r in rows}):
        base = None
        for name in variants:
            sel = [r for r in rows if r["n_atoms"] == n_atoms and r["variant"] == name]
            cpu = float(np.mean([r["cpu_s"] for r in sel]))
            base = base or cpu
            summary.append(
                {
                    "n_atoms": n_atoms,
                    "variant": name,
                    "labels": len(sel),
                    "cpu_s_per_label": cpu,
                    "labels_per_cpu_hour": 3600.0 / cpu,
                    "speed_up": base / cpu,
                    "mean_scf_cycles": float(np.mean([r["scf_cycles"] for r in sel])),
                    "max_abs_d_force_ev_a": max(r["max_abs_d_force_vs_first"] for r in sel),
                    "max_abs_d_e_bond_kcal": max(abs(r["d_e_bond_vs_first"]) for r in sel),
                }
            )
    return summary


def print_levers(summary: list[dict], variants) -> None:
    print(f"\nCPU time per energy+force label (fresh calculator); differences vs '{variants[0]}'")
    print(
        "| cluster | variant | labels | CPU s/label | labels/CPU h | speed-up | SCF cycles |"
        " max abs dF / eV/A | max abs dE_bond / kcal/mol/atom |"
    )
    print("|---" * 9 + "|")
    for s in summary:
        print(
            f"| Mg{s['n_atoms']} | {s['variant']} | {s['labels']} | {s['cpu_s_per_label']:.1f} | "
            f"{s['labels_per_cpu_hour']:.0f} | {s['speed_up']:.2f} | {s['mean_scf_cycles']:.1f} | "
            f"{s['max_abs_d_force_ev_a']:.1e} | {s['max_abs_d_e_bond_kcal']:.1e} |"
        )


def run_cost(sizes, count, seed, out: Path) -> dict:
    """CPU s of an SCF energy and of an energy+force label per size, "after" settings."""
    settings = after_settings()
    rows = []
    for n_atoms in sizes:
        energy, label = [], []
        for atoms in structures(n_atoms, count, seed):
            energy.append(timed_label(atoms, settings, forces=False)["cpu_s"])
            label.append(timed_label(atoms, settings)["cpu_s"])
        rows.append(
            {
                "n_atoms": n_atoms,
                "structures": count,
                "cpu_s_energy": round(float(np.mean(energy)), 2),
                "cpu_s_energy_forces": round(float(np.mean(label)), 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    mg13 = structures(13, 1, seed)[0]
    exact_j = timed_label(mg13, replace(settings, density_fit=False), forces=False)["cpu_s"]
    print(f"Mg13 exact-J energy (dft_check's Gaussian comparison): {exact_j:.1f} CPU s")
    table = {
        "description": "CPU seconds (time.process_time, 1 thread) of one PySCF SCF energy and of "
        "one energy+force label per cluster size, fresh calculator (cold SCF start), mean over "
        "the structures of benchmarks/bench_dft.py --part cost",
        "date": datetime.date.today().isoformat(),
        "cpu": _cpu_model(),
        "pyscf": pyscf.__version__,
        "settings": f"configs/{PROFILE}.yaml reference.dft, threads 1: {settings.cache_key()}",
        "command": "OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_dft.py --part cost",
        "sizes": rows,
        "cpu_s_energy_exact_j_mg13": round(exact_j, 2),
    }
    out.write_text(yaml.safe_dump(table, sort_keys=False, width=100))
    print(f"wrote {out}")
    return table


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=("levers", "cost", "all"), default="levers")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 13], help="levers part")
    parser.add_argument("--structures", type=int, default=3, help="structures per size")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--cost-sizes", type=int, nargs="+", default=list(COST_SIZES))
    parser.add_argument("--cost-structures", type=int, default=2)
    parser.add_argument("--cost-out", type=Path, default=COST_FILE)
    parser.add_argument("--seed", type=int, default=2026, help="generator and rattle seed")
    parser.add_argument("--csv", type=Path, help="levers: one row per label")
    parser.add_argument("--json", type=Path, help="levers: the summary table")
    args = parser.parse_args()
    print(f"PySCF {pyscf.__version__}; CPU {_cpu_model()}; threads per variant (DFTSettings)")
    warm_up()
    if args.part in ("levers", "all"):
        rows = run_levers(args.sizes, args.structures, args.variants, args.seed)
        summary = summarise(rows, args.variants)
        print_levers(summary, args.variants)
        if args.csv:
            with args.csv.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1) + "\n")
    if args.part in ("cost", "all"):
        run_cost(args.cost_sizes, args.cost_structures, args.seed, args.cost_out)


if __name__ == "__main__":
    main()
