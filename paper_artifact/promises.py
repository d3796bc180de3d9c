"""What a profile's run promises: the files stored in expected_results/<profile>/ and how each is
compared on a rerun. Tolerances come with their reasons; `update_expected` writes them next to
the numbers (tolerances.yaml).

Same seed, same machine and package versions: every stage is deterministic (seeded generation,
serial executor, gap_fit rnd_seed, seeded MH), so all CSV/extxyz numbers are bit-identical and only
timings differ. The tolerances are for other machines (another BLAS kernel, the container): there
chaotic MD trajectories can diverge after many steps, so lists of higher isomers may change while
global minima, fitted errors and counts stay close. Figures are compared by image RMS so that font
rendering differences pass and a changed curve does not.
"""

from __future__ import annotations

from .check import CheckSpec
from .config import Config

TIMING_COLUMNS = ("fit_seconds", "peak_memory_mb", "model_hash", "model_path", "point_id", "error")
# The GO table's search cost and the values that the global_minima files compare themselves
GO_COST_COLUMNS = (
    "mh_runs", "hops", "energy_force_calls", "wall_seconds", "gap_gm_ev", "refined_gm_ev",
    "fingerprint_distance", "energy_gap_ev", "energy_gap_kcal_mol_atom", "lower_than_known",
)  # fmt: skip
GM_ENERGY_EV = 1e-3
GM_RMSD_ANGSTROM = 0.05
GM_REASON = (
    "{what}: what a converged search determines. The GAP is reproducible between machines to "
    "~1e-8 eV (seeded gap_fit; grid-search RMSEs agree to 1e-10), minima are relaxed to "
    "1e-4 eV/A so their energies lie within 1e-4 eV of the minimum: energy within 1e-3 eV; "
    "the structure within 0.05 A aligned RMSD (along the flattest Mg modes, ~0.002 eV/A^2, "
    "1e-4 eV/A of force is 0.05 A). A lower minimum is an improvement, named in the report"
)


def promised_specs(cfg: Config) -> list[CheckSpec]:
    specs = [
        CheckSpec(
            "data/filter_counts.csv",
            "csv",
            "candidates are seeded; MD/relaxation round-off elsewhere can flip a few "
            "duplicate decisions",
            key=("n_atoms",),
            abs=2,
            rel=0.05,
        ),
        CheckSpec(
            "fit/grid_table.csv",
            "csv",
            "gap_fit is seeded; RMSEs move slightly if the data set does",
            key=("stage", "grid_index"),
            abs=0.02,
            rel=0.2,
            ignore=TIMING_COLUMNS,
        ),
        CheckSpec(
            "active_learning/metrics_per_size.csv",
            "csv",
            "per-size RMSE/Pearson of the final GAP",
            key=("split", "n_atoms"),
            abs=0.02,
            rel=0.2,
            columns={"n_structures": {"abs": 2, "rel": 0.05}},
        ),
        CheckSpec(
            "active_learning/verdict.json",
            "json",
            "the active-learning verdict must not change",
            ignore=(),
        ),
        CheckSpec(
            "go/gap_global_minima.extxyz",
            "global_minima",
            GM_REASON.format(what="GAP global minima"),
            energy_ev=GM_ENERGY_EV,
            rmsd_angstrom=GM_RMSD_ANGSTROM,
        ),
        CheckSpec(
            "refine/refined_global_minima.extxyz",
            "global_minima",
            GM_REASON.format(what="reference-relaxed global minima"),
            energy_ev=GM_ENERGY_EV,
            rmsd_angstrom=GM_RMSD_ANGSTROM,
        ),
        CheckSpec(
            "refine/go_table.csv",
            "csv",
            "whether GO found each known GM must not change (a GM found that was not is an "
            "improvement); the known GMs are fixed structures relaxed with the reference",
            key=("n_atoms",),
            abs=GM_ENERGY_EV,
            ignore=GO_COST_COLUMNS,
            better={"found": "higher"},
        ),
        CheckSpec(
            "figures/fig7_lattice_motifs.csv",
            "csv",
            "motif fractions of the GMs (a changed GM changes them)",
            key=("n_atoms", "cutoff", "lattice"),
            abs=0.05,
            rel=0.0,
        ),
        CheckSpec(
            "figures/fig3_accuracy.png", "image", "Figure 3 drawn from the same numbers", rms=8.0
        ),
        CheckSpec(
            "figures/fig7_lattice_motifs.png",
            "image",
            "Figure 7 drawn from the same numbers",
            rms=8.0,
        ),
    ]
    if cfg.dft_check.enabled:
        specs.append(
            CheckSpec(
                "dft_check/mg1_energy.json",
                "json",
                "PySCF E(Mg1) is deterministic to ~1e-9 Ha across BLAS builds",
                abs=1e-6,
                ignore=(),
            )
        )
    if cfg.dft_check.enabled and cfg.dft_check.mg13_minima is not None and cfg.dft_check.mg13_count:
        specs.append(
            CheckSpec(
                "dft_check/mg13_vs_gaussian.csv",
                "csv",
                "PySCF single points, SCF converged to 1e-5 Ha",
                key=("unique_minimum_rank",),
                abs=1e-3,
                rel=0.0,
            )
        )
    if cfg.dft_check.enabled and cfg.dft_check.refine_size:
        specs.append(
            CheckSpec(
                "dft_check/dft_refined_isomers.csv",
                "csv",
                "DFT-relaxed isomers (BFGS to the Gaussian default max force)",
                key=("isomer_rank_gap",),
                abs=0.01,
                rel=0.0,
                ignore=("relax_steps",),
            )
        )
    return specs
