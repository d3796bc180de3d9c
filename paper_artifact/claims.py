"""The claims report: every checkable claim of the paper (claims.yaml) with our value and verdict.

Verdicts: `reproduced`, `not reproduced`, or `not checkable` (with the reason: the profile does
not reach the claim's scale, or an output is missing). In surrogate profiles (Gupta labels,
reduced sizes) the row says so: the number tests the pipeline, not the paper's BP86 value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import paths
from .config import Config

METRICS: dict[str, Callable[[Path], object]] = {}


class NotAvailable(Exception):
    """The run folder lacks what a metric needs; the message says what."""


def metric(name: str):
    def register(fn):
        METRICS[name] = fn
        return fn

    return register


def _csv(run_dir: Path, stage: str, name: str) -> pd.DataFrame:
    path = run_dir / stage / name
    if not path.exists():
        raise NotAvailable(f"{stage}/{name} missing")
    return pd.read_csv(path)


def _json(run_dir: Path, stage: str, name: str) -> dict:
    path = run_dir / stage / name
    if not path.exists():
        raise NotAvailable(f"{stage}/{name} missing")
    return json.loads(path.read_text())


@metric("dft_e_mg1_hartree")
def _e_mg1(run_dir: Path):
    data = _json(run_dir, "dft_check", paths.DFT_ATOM)
    if not data.get("enabled"):
        raise NotAvailable("dft_check disabled in this profile")
    return data["e_mg1_hartree"]


@metric("dft_mg13_mae")
def _mg13_mae(run_dir: Path):
    table = _csv(run_dir, "dft_check", paths.DFT_MG13)
    ok = table[table.status == "ok"]
    if ok.empty:
        raise NotAvailable("no Mg13 single point succeeded")
    return float(ok.error_kcal_mol_atom.abs().mean())


def _metrics(run_dir: Path, split: str) -> pd.DataFrame:
    table = _csv(run_dir, "active_learning", paths.FIT_METRICS)
    return table[table.split == split].sort_values("n_atoms")


@metric("test_average_rmse")
def _test_rmse(run_dir: Path):
    return float(_metrics(run_dir, "test").rmse_kcal_mol_atom.mean())


@metric("train_average_rmse")
def _train_rmse(run_dir: Path):
    return float(_metrics(run_dir, "train").rmse_kcal_mol_atom.mean())


@metric("train_average_rmse_without_4_smallest")
def _train_rmse_large(run_dir: Path):
    train = _metrics(run_dir, "train")
    if len(train) < 5:
        raise NotAvailable("fewer than five training sizes")
    return float(train.rmse_kcal_mol_atom.iloc[4:].mean())


@metric("fraction_train_pearson_above_0.90")
def _train_pearson(run_dir: Path):
    r = _metrics(run_dir, "train").pearson_r.dropna()
    return float((r > 0.90).mean())


@metric("min_test_pearson")
def _test_pearson(run_dir: Path):
    return float(_metrics(run_dir, "test").pearson_r.min())


@metric("al_found_known_gm")
def _al_found(run_dir: Path):
    verdict = _json(run_dir, "active_learning", paths.AL_VERDICT)
    if not verdict.get("enabled"):
        raise NotAvailable("active learning disabled in this profile")
    return bool(verdict["found"])


@metric("median_minima_per_mh_run")
def _minima_per_run(run_dir: Path):
    return float(_csv(run_dir, "go", paths.GO_SUMMARY).n_minima.median())


def _delta_known(n: int):
    def compute(run_dir: Path):
        table = _csv(run_dir, "refine", paths.REFINE_KNOWN)
        row = table[(table.n_atoms == n) & (table.status == "ok")] if len(table) else table
        if row.empty:
            raise NotAvailable(f"no known-GM comparison for Mg{n}")
        return float(row.delta_per_atom_kcal.iloc[0])

    return compute


def _refined_total(n: int):
    def compute(run_dir: Path):
        table = _csv(run_dir, "refine", paths.REFINE_TABLE)
        rows = table[table.n_atoms == n]
        if rows.empty:
            raise NotAvailable(f"Mg{n} was not refined")
        return float(rows.e_bond_ref_total_kcal.min())

    return compute


METRICS["delta_known_gm_mg42"] = _delta_known(42)
METRICS["refined_gm_total_e_bond_mg44"] = _refined_total(44)
METRICS["refined_gm_total_e_bond_mg46"] = _refined_total(46)


@metric("cutoff_with_highest_hcp_fraction")
def _hcp_cutoff(run_dir: Path):
    table = _csv(run_dir, "figures", f"{paths.FIG7}.csv")
    hcp = table[table.lattice == "hcp"].groupby("cutoff")["fraction_equal"].mean()
    if hcp.max() == 0.0:
        raise NotAvailable("no hcp-like atom at any cutoff")
    return float(hcp.idxmax())


@metric("max_fcc_bcc_equal_fraction")
def _fcc_bcc(run_dir: Path):
    table = _csv(run_dir, "figures", f"{paths.FIG7}.csv")
    return float(table[table.lattice.isin(["fcc", "bcc"])]["fraction_equal"].max())


@metric("lattice_separation_threshold")
def _threshold(run_dir: Path):
    return float(
        _csv(run_dir, "figures", f"{paths.FIG7}.csv")["separation_threshold"].iloc[0]
    )


@metric("fraction_com_step_in_3.5_4.5")
def _com_step(run_dir: Path):
    table = _csv(run_dir, "figures", f"{paths.FIG5}.csv")
    inside = []
    for _, profile in table.groupby("n_atoms"):
        distances = profile.sort_values("rank")["com_distance"].to_numpy()
        after = int(profile["step_after"].iloc[0])
        if not 0 < after < len(distances):
            inside.append(False)
            continue
        inside.append(3.5 <= 0.5 * (distances[after - 1] + distances[after]) <= 4.5)
    return float(np.mean(inside))


@metric("magic_sizes_found")
def _magic(run_dir: Path):
    table = _csv(run_dir, "figures", f"{paths.FIG6}.csv")
    gms = table[(table.source == "reference") & (table.kind == "gm")]
    return sorted(int(n) for n in gms[gms.local_minimum.astype(bool)].n_atoms)


@metric("train_test_counts")
def _counts(run_dir: Path):
    counts = _csv(run_dir, "data", paths.DATA_COUNTS)
    by_split = counts.groupby("split")["kept"].sum()
    return [int(by_split.get("train", 0)), int(by_split.get("test", 0))]


@dataclass(frozen=True)
class ClaimRow:
    id: str
    claim: str
    paper_value: object
    our_value: object
    unit: str
    tolerance: str
    verdict: str
    note: str


def judge(compare: dict, paper, ours) -> bool:
    kind, tol = compare["kind"], float(compare.get("tolerance", 0.0))
    if kind == "abs":
        return abs(float(ours) - float(paper)) <= tol
    if kind == "at_most":
        return float(ours) <= float(paper) + tol
    if kind == "at_least":
        return float(ours) >= float(paper) - tol
    if kind == "range":
        return float(paper[0]) <= float(ours) <= float(paper[1])
    if kind == "equal":
        return ours == paper
    if kind == "contains":
        return set(paper) <= set(ours)
    raise ValueError(f"claims.yaml: unknown compare kind '{kind}'")


def _tolerance_text(compare: dict) -> str:
    kind = compare["kind"]
    tol = compare.get("tolerance")
    return {
        "abs": f"abs(ours - paper) <= {tol}",
        "at_most": f"ours <= paper + {tol}",
        "at_least": f"ours >= paper - {tol}",
        "range": "paper range",
        "equal": "equal",
        "contains": "all paper sizes found",
    }[kind]


def evaluate_claims(
    profile: str, run_dir: Path, claims_file: Path = paths.CLAIMS_FILE
) -> list[ClaimRow]:
    claims = yaml.safe_load(claims_file.read_text())["claims"]
    rows = []
    for claim in claims:
        compare = claim["compare"]
        ours, note = None, ""
        if profile not in claim["profiles"]:
            verdict = "not checkable"
            where = ", ".join(claim["profiles"]) or "no profile of this artifact"
            note = f"checkable in: {where} ({claim['reason']})"
        else:
            try:
                ours = METRICS[claim["metric"]](run_dir)
            except NotAvailable as missing:
                verdict, note = "not checkable", str(missing)
            else:
                verdict = (
                    "reproduced" if judge(compare, claim["paper_value"], ours) else "not reproduced"
                )
                if profile in claim.get("surrogate", []):
                    note = (
                        "surrogate: Gupta-labelled data at reduced sizes; tests the pipeline, "
                        "not the paper's BP86 number"
                    )
        rows.append(
            ClaimRow(
                claim["id"],
                claim["claim"],
                claim["paper_value"],
                _round(ours),
                claim["unit"],
                _tolerance_text(compare),
                verdict,
                note,
            )
        )
    return rows


def _round(value):
    if isinstance(value, float | np.floating):
        return float(f"{float(value):.10g}")
    return value


def render_markdown(profile: str, rows: list[ClaimRow]) -> str:
    counts = pd.Series([r.verdict for r in rows]).value_counts().to_dict()
    lines = [
        f"# Claims report ({profile} profile)",
        "",
        "Steshin et al., PCCP 2025, DOI 10.1039/D5CP02189H. "
        + ", ".join(f"{v}: {counts[v]}" for v in sorted(counts)),
        "",
        "| claim | paper | ours | unit | tolerance | verdict | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ours = "-" if r.our_value is None else r.our_value
        lines.append(
            f"| {r.claim} | {r.paper_value} | {ours} | {r.unit} | {r.tolerance} | "
            f"**{r.verdict}** | {r.note} |"
        )
    return "\n".join(lines) + "\n"


def render_go_table(run_dir: Path) -> str:
    """The GO table of the run (refine stage) as Markdown, or '' if the run has none."""
    path = run_dir / "refine" / paths.GO_TABLE
    if not path.exists():
        return ""
    table = pd.read_csv(path)
    lines = [
        "",
        "## Global optimisation: known global minima found by GO with the final GAP",
        "",
        "Found: the lowest of the GAP's isomers after relaxation with the reference is the "
        "reference-relaxed known GM (fingerprint distance < 1e-2). Calls and wall time: all "
        "minima-hopping runs of the size and the Hessian check of its lowest isomers.",
        "",
        "| size | known GM (eV) | our GM (eV) | found | gap (eV) | gap (kcal/mol/atom) "
        "| MH runs | hops | energy+force calls | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table.to_dict("records"):
        lines.append(
            f"| Mg{row['n_atoms']} | {_cell(row.get('known_gm_ev'), '.5f')} "
            f"| {_cell(row.get('refined_gm_ev'), '.5f')} | {_cell(row.get('found'))} "
            f"| {_cell(row.get('energy_gap_ev'), '.2g')} "
            f"| {_cell(row.get('energy_gap_kcal_mol_atom'), '.2g')} | {row['mh_runs']} "
            f"| {row['hops']} | {row['energy_force_calls']} | {row['wall_seconds']:.0f} |"
        )
    found = table["found"].fillna(False).astype(bool) if "found" in table else None
    if found is not None:
        lines += ["", f"Known GM found for {int(found.sum())} of {len(table)} sizes."]
    return "\n".join(lines) + "\n"


def _cell(value, fmt: str = "") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return format(value, fmt) if fmt else str(value)


def write_claims_report(cfg: Config, run_dir: Path) -> str:
    from .runner import atomic_write_text

    rows = evaluate_claims(cfg.profile, run_dir)
    run_paths = paths.RunPaths(run_dir)
    text = render_markdown(cfg.profile, rows) + render_go_table(run_dir)
    atomic_write_text(run_paths.claims_report, text)
    atomic_write_text(
        run_paths.claims_csv, pd.DataFrame([r.__dict__ for r in rows]).to_csv(index=False)
    )
    return text
