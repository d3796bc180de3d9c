"""GAP variants fitted to a dft-mini run's DFT labels, scored on the 207 Gaussian Mg13 minima
(issue 16, item 3: RMSE(E_bond) <= 0.30 kcal/mol/atom on structures never trained on).

Reads RUN/data/{train,test,external_test}.extxyz of a dft-mini run (any generate_sizes), fits
each variant with gap_fit (seeded) on the training split (`--train train`) or on every labelled
size (`--train all`), and prints per variant: Mg13 RMSE, Pearson r and mean signed error
(kcal/mol/atom), the test-size RMSEs and the largest per-size training RMSE.

Run: PYTHONPATH=. python benchmarks/dft_mini_mg13_levers.py RUN [--train train|all]
     [--variants NAME ...] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from ase.io import read

from paper_artifact.calculators.gap import SoapParams, TwoBodyParams, run_gap_fit
from paper_artifact.config import load_profile
from paper_artifact.evaluation import evaluate_model
from paper_artifact.stages.common import reference_atom_energy

SMALL = SoapParams(cutoff=4.0, n_max=6, l_max=4, zeta=4.0, n_sparse=50)
LARGE = SoapParams(cutoff=4.0, n_max=8, l_max=6, zeta=4.0, n_sparse=300)
TB5 = TwoBodyParams(cutoff=5.0, n_sparse=10)
TB7 = TwoBodyParams(cutoff=7.0, delta=0.5, n_sparse=20)
TIGHT = {"default_sigma_energy": 0.001, "default_sigma_force": 0.05}
# name: (SOAP, 2b, gap_fit settings changed from the profile's)
VARIANTS = {
    "profile-stop21": (SMALL, TB5, {}),
    "energies-only": (SMALL, TB5, {"use_forces": False}),
    "large": (LARGE, TB7, TIGHT),
    "large-cutoff5": (dataclasses.replace(LARGE, cutoff=5.0), TB7, TIGHT),
    "large-sigma-default": (LARGE, TB7, {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="a dft-mini run folder (its data stage done)")
    parser.add_argument("--train", choices=("train", "all"), default="train")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--workdir", type=Path, help="keep the fits here (default: temporary)")
    args = parser.parse_args()
    cfg = load_profile("dft-mini")
    e0 = reference_atom_energy(cfg)
    data = args.run / "data"
    train, test = read(data / "train.extxyz", ":"), read(data / "test.extxyz", ":")
    external = read(data / "external_test.extxyz", ":")
    fit_set = train + test if args.train == "all" else train
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mg13-levers-"))
    print(f"{len(fit_set)} training structures ({args.train}), {len(external)} Mg13 minima")
    print("| variant | Mg13 RMSE | Mg13 r | Mg13 MSE | test RMSE per size | max train RMSE |")
    print("|---|---|---|---|---|---|")
    for name in args.variants:
        soap, two_body, changes = VARIANTS[name]
        settings = dataclasses.replace(cfg.fit.settings, e0=e0, rnd_seed=7, **changes)
        model = run_gap_fit(fit_set, workdir / name, soap, two_body, settings)
        metrics, _ = evaluate_model(model.xml_path, fit_set, test, e0, external)
        mg13 = metrics[metrics.split == "external"].iloc[0]
        per_size = ", ".join(
            f"Mg{int(r.n_atoms)} {r.rmse_kcal_mol_atom:.2f}"
            for r in metrics[metrics.split == "test"].itertuples()
        )
        worst_train = metrics[metrics.split == "train"]["rmse_kcal_mol_atom"].max()
        print(
            f"| {name} | {mg13.rmse_kcal_mol_atom:.3f} | {mg13.pearson_r:.2f} | "
            f"{mg13.mean_signed_error_kcal_mol_atom:+.3f} | {per_size} | {worst_train:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
