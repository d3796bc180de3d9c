"""CPU hours of the DFT work each stage of a profile will do (printed by `plan`).

Per-call costs come from a power law cost(n) = a n^b fitted (least squares in log-log) to the
measured CPU seconds per size in data/dft_cost.yaml (benchmarks/bench_dft.py --part cost: one
SCF energy and one energy+force label, Mg4-Mg13, fresh calculator). The counts follow what the
stages do:

  data             every generated candidate gets one energy+force label;
  active_learning  the known GM relaxed once, then per round (at most max_rounds + 1) the
                   test_lowest (default refine.n_lowest) GAP isomers of the target size
                   relaxed, and per growing round (at most max_rounds)
                   new_isomers_per_size labels of every AL size,
                   reference_relax_steps + 1 per isomer when paths are labelled;
  refine           refine.n_lowest relaxations per size (+ one per known GM file found), after
                   refine.screen_lowest single points per size (upper bound) when screening;
  dft_check        (PySCF whatever the reference) mg13_count exact-J Mg13 energies and
                   refine_count relaxations of refine_size.

A relaxation is counted as RELAX_FORCE_CALLS energy+force labels (an assumption, see below).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .config import Config

COST_FILE = Path(__file__).parent / "data" / "dft_cost.yaml"
# Assumed energy+force calls per reference relaxation from a GAP minimum (L-BFGS to Gaussian's
# fmax). Measured only at Mg8 (default profile: 3 and 6 steps); larger clusters need more.
RELAX_FORCE_CALLS = 30
NO_DFT_STAGES = {"fit": "GAP fits", "go": "GAP minima hopping", "figures": "analysis"}


@dataclass(frozen=True)
class PowerLaw:
    a: float
    b: float

    def __call__(self, n: int) -> float:
        return self.a * n**self.b


def fit_power_law(sizes, seconds) -> PowerLaw:
    b, log_a = np.polyfit(np.log(sizes), np.log(seconds), 1)
    return PowerLaw(float(np.exp(log_a)), float(b))


@dataclass(frozen=True)
class CostModel:
    """CPU seconds per call as a function of cluster size n."""

    energy_forces: PowerLaw
    energy: PowerLaw
    exact_j_mg13_energy: float  # CPU s, dft_check's Gaussian comparison (no density fitting)
    sizes: tuple[int, int]  # smallest and largest measured size
    source: str

    @classmethod
    def load(cls, path: Path = COST_FILE) -> CostModel:
        table = yaml.safe_load(path.read_text())
        sizes = [row["n_atoms"] for row in table["sizes"]]
        return cls(
            energy_forces=fit_power_law(
                sizes, [row["cpu_s_energy_forces"] for row in table["sizes"]]
            ),
            energy=fit_power_law(sizes, [row["cpu_s_energy"] for row in table["sizes"]]),
            exact_j_mg13_energy=float(table["cpu_s_energy_exact_j_mg13"]),
            sizes=(min(sizes), max(sizes)),
            source=f"{path.name}: {table['date']}, {table['cpu']}, PySCF {table['pyscf']}",
        )


@dataclass(frozen=True)
class StageEstimate:
    stage: str
    dft_calls: int  # energy+force labels, relaxation steps and single points
    cpu_seconds: float
    note: str = ""


def estimate(cfg: Config, model: CostModel) -> list[StageEstimate]:
    """DFT calls and CPU time of every stage of the profile (upper bounds for active learning)."""
    label = model.energy_forces
    dft_reference = cfg.reference.calculator == "dft"
    data = cfg.data
    per_size = sum(data.generation.counts())
    sizes = data.generate_sizes if dft_reference else ()
    estimates = [StageEstimate("data", per_size * len(sizes), per_size * sum(map(label, sizes)))]

    al = cfg.active_learning
    calls, seconds = 0, 0.0
    if dft_reference and al.target_size:
        relaxations = 1 + (al.max_rounds + 1) * cfg.al_test_lowest
        calls += relaxations * RELAX_FORCE_CALLS
        seconds += relaxations * RELAX_FORCE_CALLS * label(al.target_size)
        per_isomer = al.reference_relax_steps + 1  # the start and each step of its path
        grown = al.max_rounds * al.new_isomers_per_size * per_isomer
        calls += grown * len(al.al_sizes)
        seconds += grown * sum(map(label, al.al_sizes))
    estimates.append(StageEstimate("active_learning", calls, seconds, "upper bound: every round"))

    refine_sizes = (cfg.refine.sizes or cfg.go.sizes) if dft_reference else ()
    known = cfg.refine.known_gm_dir
    relaxations = {
        n: cfg.refine.n_lowest
        + int(known is not None and (known.resolve() / f"Mg{n}.extxyz").exists())
        for n in refine_sizes
    }
    screened = cfg.refine.screen_lowest
    estimates.append(
        StageEstimate(
            "refine",
            RELAX_FORCE_CALLS * sum(relaxations.values()) + screened * len(refine_sizes),
            RELAX_FORCE_CALLS * sum(k * label(n) for n, k in relaxations.items())
            + screened * sum(map(label, refine_sizes)),
            f"upper bound: {screened} isomers screened per size" if screened else "",
        )
    )

    check = cfg.dft_check
    calls, seconds = 0, 0.0
    if check.enabled:
        if check.mg13_minima is not None:
            calls += check.mg13_count
            seconds += check.mg13_count * model.exact_j_mg13_energy
        if check.refine_size:
            calls += check.refine_count * RELAX_FORCE_CALLS
            seconds += check.refine_count * RELAX_FORCE_CALLS * label(check.refine_size)
    estimates.append(StageEstimate("dft_check", calls, seconds, "PySCF whatever the reference"))
    return estimates


def assumptions(model: CostModel) -> str:
    f, e = model.energy_forces, model.energy
    return (
        f"CPU s per energy+force label {f.a:.3g}*n^{f.b:.2f}, per SCF energy {e.a:.3g}*n^{e.b:.2f}"
        f" (fit to Mg{model.sizes[0]}-{model.sizes[1]}, {model.source}; 1 thread, cold SCF "
        f"start), exact-J Mg13 energy {model.exact_j_mg13_energy:.0f} s, {RELAX_FORCE_CALLS} "
        f"energy+force calls per relaxation (assumed); beyond Mg{model.sizes[1]} extrapolated, "
        "likely too low (docs/dft_validation.md section 7)"
    )


def dft_sizes(cfg: Config) -> list[int]:
    """Cluster sizes the reference DFT labels or relaxes in this profile."""
    if cfg.reference.calculator != "dft":
        return []
    al = cfg.active_learning
    sizes = {*cfg.data.generate_sizes, *(cfg.refine.sizes or cfg.go.sizes)}
    if al.target_size:
        sizes |= {al.target_size, *al.al_sizes}
    return sorted(sizes)


def df_memory_warning(cfg: Config) -> str | None:
    """Sizes whose DF tensor exceeds half of max_memory_mb (direct DF, slower than estimated)."""
    from ase import Atoms

    from .calculators.dft import build_molecule, df_tensor_mb

    settings = cfg.reference.dft
    if not settings.density_fit or not dft_sizes(cfg):
        return None
    largest = max(dft_sizes(cfg))
    chain = Atoms(f"Mg{largest}", positions=[(3.0 * i, 0.0, 0.0) for i in range(largest)])
    tensor = df_tensor_mb(build_molecule(chain, settings), settings.auxbasis)
    if tensor < settings.max_memory_mb / 2:
        return None
    return (
        f"the DF tensor of Mg{largest} ({tensor / 1e3:.0f} GB) exceeds half of "
        f"reference.dft.max_memory_mb ({settings.max_memory_mb}): such sizes recompute it every "
        f"SCF cycle (Mg13: 1.6x the CPU time), which the estimate does not include"
    )
