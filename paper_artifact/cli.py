"""Command line: `python -m paper_artifact <command>` (also installed as `paper-artifact`)."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from pathlib import Path

from . import paths
from .calculators.factory import SPEC_HELP, parse_spec
from .calculators.relax import GAUSSIAN_DEFAULT_FMAX

DESCRIPTION = """\
Reproduce Steshin et al., PCCP 2025 (DOI 10.1039/D5CP02189H): a GAP (SOAP + 2b) for Mg clusters,
fitted by a two-stage grid search with active learning, used for minima-hopping global
optimisation, with the lowest isomers refined by the reference method (BP86/6-31G(d) DFT).

Profiles (configs/<name>.yaml):
  smoke     Gupta-labelled pipeline at small sizes, every stage, < 5 min (CI)
  default   the main job, < 60 min on 2 cores: Gupta-labelled pipeline plus a real PySCF DFT step
            (E(Mg1), Gaussian Mg13 minima, DFT refinement of the lowest isomers of one size)
  dft-mini  real DFT labels on small clusters, Mg13 Gaussian minima as external test; its labels
            are shipped, so a rerun takes under an hour on 2 cores (computing them: ~6 h)
  paper     the paper's sizes and settings (a cluster; see README)

Outputs go to results/<profile>/ (one folder per stage, manifest.json, check and claims reports).
"""


def _calculator_spec(text: str) -> str:
    try:
        parse_spec(text)
    except (ValueError, FileNotFoundError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _at_least(minimum: int):
    def integer(text: str) -> int:
        value = int(text)  # a ValueError becomes argparse's "invalid integer value"
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return integer


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive(text: str) -> float:
    value = _finite(text)
    if value <= 0.0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _add_run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        default="default",
        help="profile name in configs/, or the path of your own profile YAML (default: default)",
    )
    parser.add_argument("--config", type=Path, help="a config YAML file instead of a profile name")
    parser.add_argument("--out", type=Path, help="run folder (default: results/<profile>/)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set active_learning.known_gm=Mg56.xyz "
        "(VALUE is parsed as YAML; repeatable)",
    )
    parser.add_argument(
        "--cluster",
        type=Path,
        metavar="FILE",
        help="executor settings from configs/clusters/*.yaml (local, slurm)",
    )


def _print_dft_estimate(cfg, stage_names: list[str]) -> None:
    from .planning import NO_DFT_STAGES, CostModel, assumptions, df_memory_warning, estimate

    model = CostModel.load()
    stages = {e.stage: e for e in estimate(cfg, model)}
    print("  DFT work (CPU hours; all threads of a task count):")
    for name in stage_names:
        if name in NO_DFT_STAGES:
            print(f"    {name:<16} no DFT ({NO_DFT_STAGES[name]})")
            continue
        e = stages[name]
        note = f"  ({e.note})" if e.note and e.dft_calls else ""
        print(f"    {name:<16} {e.dft_calls:>7} calls {e.cpu_seconds / 3600:>10.1f} CPU h{note}")
    total = sum(e.cpu_seconds for e in stages.values())
    calls = sum(e.dft_calls for e in stages.values())
    print(f"    {'total':<16} {calls:>7} calls {total / 3600:>10.1f} CPU h")
    print(f"  assumptions: {assumptions(model)}")
    warning = df_memory_warning(cfg)
    if warning:
        print(f"  warning: {warning}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paper-artifact",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the pipeline stages of a profile (resumes finished ones)")
    _add_run_dir(run)
    run.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this stage (repeatable); see `stages`",
    )
    run.add_argument(
        "--from", dest="start", metavar="NAME", help="rerun this stage and every later one"
    )
    run.add_argument(
        "--force", action="store_true", help="rerun selected stages even if up to date"
    )
    run.add_argument(
        "--dataset",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="ingest this structure file (extxyz, ASE db, Gaussian log) as training data",
    )

    sub.add_parser("stages", help="list the pipeline stages with one-line descriptions")

    plan = sub.add_parser(
        "plan", help="validate a profile and print the stages it would run (dry run)"
    )
    _add_run_dir(plan)

    check = sub.add_parser("check", help="compare a run folder with expected_results/<profile>/")
    _add_run_dir(check)
    check.add_argument(
        "--update-expected",
        action="store_true",
        help="copy this run's results into expected_results/<profile>/ and print what moved",
    )

    claims = sub.add_parser(
        "claims", help="write and print the paper-claims report for a run folder"
    )
    _add_run_dir(claims)

    energy = sub.add_parser(
        "energy", help="energies (optionally relaxed) of every structure in a file"
    )
    energy.add_argument("structures", type=Path, help="any ASE-readable file (extxyz, db, log)")
    energy.add_argument("--calculator", required=True, type=_calculator_spec, help=SPEC_HELP)
    energy.add_argument("--relax", action="store_true", help="relax each structure first")
    energy.add_argument(
        "--fmax",
        type=_positive,
        default=GAUSSIAN_DEFAULT_FMAX,
        help="relaxation force threshold, eV/A (default: Gaussian's 0.00045 Ha/Bohr)",
    )
    energy.add_argument("--steps", type=_at_least(1), default=500, help="maximum relaxation steps")
    energy.add_argument("--threads", type=_at_least(1), default=1, help="OpenMP threads for DFT")
    energy.add_argument("--out", type=Path, help="CSV file (default: <structures>.energies.csv)")

    digest = sub.add_parser(
        "digest",
        help="content digest of a run folder without timings (same seed, same machine: equal)",
    )
    digest.add_argument("run_dir", type=Path)
    digest.add_argument("--compare", type=Path, help="a digest file to compare with (exit 1)")

    labels = sub.add_parser(
        "labels", help="ship a run's reference labels (export) and recompute a sample (verify)"
    )
    labels_sub = labels.add_subparsers(dest="labels_command", required=True, metavar="ACTION")
    export = labels_sub.add_parser(
        "export", help="write a run folder's cached reference labels to an extxyz + JSON summary"
    )
    export.add_argument("run_dir", type=Path, help="run folder (its .cache/ holds the labels)")
    export.add_argument("--to", required=True, type=Path, metavar="FILE", help="extxyz to write")
    export.add_argument("--description", default="", help="one line stored in the summary")
    verify = labels_sub.add_parser(
        "verify",
        help="recompute a seeded sample of a profile's stored labels with its reference method",
    )
    _add_run_dir(verify)
    verify.add_argument(
        "--labels", type=Path, help="label file (default: the profile's reference.stored_labels)"
    )
    amount = verify.add_mutually_exclusive_group()
    amount.add_argument(
        "--sample", type=_at_least(1), default=5, help="how many labels (default: 5)"
    )
    amount.add_argument("--all", action="store_true", help="recompute every stored label")
    verify.add_argument(
        "--seed", type=_at_least(0), help="sample seed (default: the profile's seed)"
    )

    hop = sub.add_parser("hop", help="one minima-hopping run; writes every minimum found")
    hop.add_argument("--calculator", required=True, type=_calculator_spec, help=SPEC_HELP)
    start = hop.add_mutually_exclusive_group(required=True)
    start.add_argument(
        "--atoms",
        type=_at_least(2),
        metavar="N",
        help="start from a random N-atom cluster (N >= 2)",
    )
    start.add_argument("--start", type=Path, metavar="FILE", help="start from this structure")
    hop.add_argument("--seed", type=_at_least(0), default=0)
    hop.add_argument("--steps", type=_at_least(1), default=200, help="MH steps (paper: 200)")
    hop.add_argument("--target-energy", type=_finite, help="stop at or below this energy")
    hop.add_argument(
        "--temperature", type=_positive, help="initial MD temperature, K (paper: 2000)"
    )
    hop.add_argument(
        "--mdmin", type=_at_least(1), help="MD stops after this many minima (paper: 60)"
    )
    hop.add_argument("--out", type=Path, default=Path("mh_out"), help="output folder")
    return parser


def _load(args: argparse.Namespace):
    import yaml

    from .config import load_config, load_profile
    from .configtree import deep_merge, to_plain

    overrides: dict = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got '{item}'")
        node = overrides
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    if getattr(args, "dataset", None):
        overrides = deep_merge(
            overrides, {"data": {"datasets": [str(p.resolve()) for p in args.dataset]}}
        )
    if args.cluster:
        from .executor import load_cluster_config

        overrides = deep_merge(overrides, {"executor": to_plain(load_cluster_config(args.cluster))})
    profile_file = args.config or _profile_path(args.profile)
    cfg = (
        load_config(profile_file, overrides)
        if profile_file
        else load_profile(args.profile, overrides)
    )
    run_dir = args.out or paths.default_run_dir(cfg.profile)
    return cfg, Path(run_dir).resolve()


def _profile_path(profile: str) -> Path | None:
    """`--profile` as a file: a value with a YAML suffix or a path separator."""
    if profile.endswith((".yaml", ".yml")) or "/" in profile:
        return Path(profile)
    return None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so executors shut their Parsl workers down on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - one-line errors for users, tracebacks with --debug
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "energy":
        from .commands import energy_command

        return energy_command(args)
    if args.command == "hop":
        from .commands import hop_command

        return hop_command(args)
    if args.command == "digest":
        from .digest import digest_command

        return digest_command(args.run_dir, args.compare)

    if args.command == "labels" and args.labels_command == "export":
        from .calculators.label_store import export_labels

        summary = export_labels(paths.RunPaths(args.run_dir).cache_db, args.to, args.description)
        print(f"wrote {summary['labels']} labels ({summary['cpu_hours']} CPU hours) to {args.to}")
        return 0
    if args.command == "labels":
        from .commands import verify_labels_command

        cfg, _ = _load(args)
        return verify_labels_command(cfg, args.labels, None if args.all else args.sample, args.seed)

    from .stages import STAGES

    if args.command == "stages":
        width = max(len(s.name) for s in STAGES)
        for stage in STAGES:
            print(f"{stage.name:<{width}}  {stage.description}")
        return 0

    from .runner import Runner

    cfg, run_dir = _load(args)
    if args.command in ("run", "plan"):
        from .config import check_runnable

        check_runnable(cfg)
    runner = Runner(cfg, STAGES, run_dir)
    if args.command == "run":
        record = runner.run(only=args.stage, start=args.start, force=args.force)
        print(f"run folder: {run_dir}")
        print(
            f"executed: {', '.join(record.executed) or '-'}; skipped (up to date): "
            f"{', '.join(record.skipped) or '-'}"
        )
        return 0
    if args.command == "plan":
        print(f"profile {cfg.profile} ({cfg.source}) is valid; config hash {cfg.hash()}")
        for stage in runner.stages:
            state = "up to date" if runner.is_current(stage) else "would run"
            print(f"  {stage.name:<16} {state:<11} sections: {', '.join(stage.config_sections)}")
        _print_dft_estimate(cfg, [stage.name for stage in runner.stages])
        al = cfg.active_learning
        if al.target_size and al.known_gm is None:
            print(
                f"  warning: active learning on Mg{al.target_size} needs its known GM: "
                "--set active_learning.known_gm=FILE"
            )
        return 0
    if args.command == "check":
        from .check import check_run, update_expected
        from .promises import promised_specs

        if args.update_expected:
            print(update_expected(cfg, run_dir, promised_specs(cfg)))
            return 0
        report = check_run(cfg, run_dir)
        print(report.render())
        return 0 if report.passed else 2
    if args.command == "claims":
        from .claims import write_claims_report

        report = write_claims_report(cfg, run_dir)
        print(report)
        return 0
    raise AssertionError(args.command)
