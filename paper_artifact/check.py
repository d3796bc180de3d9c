"""Regression check of a run folder against expected_results/<profile>/.

`expected_results/<profile>/tolerances.yaml` lists every promised file with the way it is compared
and the tolerance, each with its reason. Kinds:
  csv      rows matched by key columns; numeric columns within abs + rel*|expected|; others
           exact. A column listed in `better` ("higher" or "lower") that moved beyond its
           tolerance in that direction is an improvement, not a regression. `rows` (a pandas
           query) restricts the comparison to the rows a converged run determines.
  extxyz   same number of frames; per frame same size, energy within `energy_ev`, and the same
           structure: Goedecker overlap-matrix fingerprint distance within `fingerprint_distance`
  global_minima  one structure per cluster size, matched by size: energy within `energy_ev` and
           fingerprint distance within `fingerprint_distance`; a structure lower by more than
           `energy_ev` is an improvement (a better global minimum), named in the report
  The fingerprint ignores rotation, translation and atom order exactly; an aligned RMSD needs a
  search over superpositions, which found 1.25 A for two orientations of the same Mg26 minimum.
  image    matplotlib.testing.compare RMS difference of the PNG within `rms`
  json     numeric leaves within abs + rel*|expected|, other leaves exact
A regression is reported by file, row/structure, expected, got and tolerance; an improvement
likewise, and the check still passes. A spec marked `trajectory` holds what follows the MD
trajectories (every isomer a search visited): it is compared only when the run's numerics
(OpenBLAS kernels, numpy code paths, library versions) equal those of the expected results, and
otherwise named in a NOTE as not compared.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .config import Config
from .paths import RunPaths, expected_dir

TOLERANCES_FILE = "tolerances.yaml"
NUMERICS_FILE = "numerics.json"


@dataclass(frozen=True)
class CheckSpec:
    """One promised output file and how it is compared."""

    file: str
    kind: str
    reason: str
    key: tuple[str, ...] = ()
    abs: float = 0.0
    rel: float = 0.0
    columns: dict = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    energy_ev: float = 0.0
    fingerprint_distance: float = 0.0
    rms: float = 0.0
    better: dict = field(default_factory=dict)  # csv column -> "higher" | "lower"
    rows: str = ""  # csv: pandas query selecting the compared rows (empty: all)
    trajectory: bool = False  # compared only with the expected results' numerics

    def tolerance_for(self, column: str) -> tuple[float, float]:
        spec = self.columns.get(column, {})
        return float(spec.get("abs", self.abs)), float(spec.get("rel", self.rel))


@dataclass(frozen=True)
class Finding:
    file: str
    item: str
    expected: str
    got: str
    tolerance: str
    ok: bool
    improvement: bool = False


@dataclass
class CheckReport:
    profile: str
    run_dir: Path
    findings: list[Finding]
    files_checked: int
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    @property
    def improvements(self) -> list[Finding]:
        return [f for f in self.findings if f.improvement]

    @property
    def passed(self) -> bool:
        return self.files_checked > 0 and not self.failures

    def render(self) -> str:
        lines = [
            f"check of {self.run_dir} against expected_results/{self.profile}/: "
            f"{self.files_checked} files, {len(self.findings)} comparisons, "
            f"{len(self.failures)} regressions, {len(self.improvements)} improvements"
        ]
        if self.files_checked == 0:
            lines.append(
                "  no expected results recorded for this profile: nothing was checked (FAIL)"
            )
        lines.extend(f"  NOTE {note}" for note in self.notes)
        for f in self.failures:
            lines.append(
                f"  REGRESSION {f.file} [{f.item}]: expected {f.expected}, got {f.got} "
                f"(tolerance {f.tolerance})"
            )
        for f in self.improvements:
            lines.append(
                f"  IMPROVEMENT {f.file} [{f.item}]: stored {f.expected}, got {f.got} "
                f"(tolerance {f.tolerance}); review it, then store it with --update-expected"
            )
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


def load_specs(directory: Path) -> list[CheckSpec]:
    path = directory / TOLERANCES_FILE
    if not path.exists():
        return []
    raw = yaml.safe_load(path.read_text()) or {}
    specs = []
    for i, entry in enumerate(raw.get("files", [])):
        try:
            entry = dict(entry)
            for name in ("key", "ignore"):
                entry[name] = tuple(entry.get(name, ()))
            specs.append(CheckSpec(**entry))
        except TypeError as exc:
            raise ValueError(f"{path}: entry {i} ({entry.get('file')}): {exc}") from exc
    return specs


def check_run(cfg: Config, run_dir: Path, expected: Path | None = None) -> CheckReport:
    expected = expected or expected_dir(cfg.profile)
    specs = load_specs(expected)
    notes = stage_numerics_notes(_read_json(expected / NUMERICS_FILE), _stage_numerics(run_dir))
    findings: list[Finding] = []
    for spec in specs:
        got_path, exp_path = run_dir / spec.file, expected / spec.file
        if not got_path.exists():
            findings.append(Finding(spec.file, "file", "present", "missing", "-", False))
            continue
        if spec.trajectory and notes:
            notes.append(f"{spec.file} not compared: {spec.reason}")
            continue
        findings.extend(COMPARERS[spec.kind](spec, exp_path, got_path))
    return CheckReport(cfg.profile, run_dir, findings, len(specs), notes)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _stage_numerics(run_dir: Path) -> dict[str, dict]:
    """Each finished stage's numerics and packages, as the runner recorded them when it ran."""
    stages = (_read_json(RunPaths(run_dir).manifest) or {}).get("stages", {})
    return {
        name: {"numerics": entry["numerics"], "packages": entry.get("packages", {})}
        for name, entry in stages.items()
        if "numerics" in entry
    }


def _run_numerics(run_dir: Path) -> dict | None:
    """The one set of numerics all stages ran with (None if the manifest records none)."""
    by_stage = _stage_numerics(run_dir)
    distinct = {json.dumps(env, sort_keys=True) for env in by_stage.values()}
    if len(distinct) > 1:
        raise ValueError(
            f"the stages in {run_dir} ran with different numerics or packages (manifest.json, "
            "'stages'); rerun them in one environment (run --force) before storing its results"
        )
    return next(iter(by_stage.values()), None)


def stage_numerics_notes(expected: dict | None, by_stage: dict[str, dict]) -> list[str]:
    """`numerics_notes` for every stage; a note that holds for only some stages names them."""
    stages_by_note: dict[str, list[str]] = {}
    for name, got in by_stage.items():
        for note in numerics_notes(expected, got):
            stages_by_note.setdefault(note, []).append(name)
    return [
        note if len(names) == len(by_stage) else f"stage(s) {', '.join(names)}: {note}"
        for note, names in stages_by_note.items()
    ]


def numerics_notes(expected: dict | None, got: dict | None) -> list[str]:
    """Why a run's numbers may differ beyond round-off from the stored ones: other BLAS kernels,
    numpy code paths or package versions than those the expected results were made with."""
    if expected is None or got is None:
        return []
    moved = []
    loops = "numpy_x86_v4_loops"
    if loops in expected["numerics"] and loops in got["numerics"]:
        if expected["numerics"][loops] != got["numerics"][loops]:
            moved.append(
                f"numpy AVX512 loops {expected['numerics'][loops]} -> {got['numerics'][loops]}"
            )
    if expected["numerics"]["openblas_kernels"] != got["numerics"]["openblas_kernels"]:
        moved.append(
            f"OpenBLAS kernels {expected['numerics']['openblas_kernels']} -> "
            f"{got['numerics']['openblas_kernels']}"
        )
    for name, version in expected["packages"].items():
        # The interpreter's patch release computes nothing itself (host 3.11.7 and container
        # 3.11.2 gave the same default-profile results); the libraries do.
        if name != "python" and got["packages"].get(name) != version:
            moved.append(f"{name} {version} -> {got['packages'].get(name)}")
    if not moved:
        return []
    return [
        "this run's numerics differ from those of the expected results ("
        + "; ".join(moved)
        + "): gap_fit may pick other sparse points, so GAP-derived numbers can move beyond "
        "round-off (README, 'Reproducibility')"
    ]


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _close(expected, got, abs_tol: float, rel_tol: float) -> bool:
    if isinstance(expected, float | int) and isinstance(got, float | int):
        if math.isnan(expected) or math.isnan(got):
            return math.isnan(expected) and math.isnan(got)
        return abs(got - expected) <= abs_tol + rel_tol * abs(expected)
    return expected == got


def compare_csv(spec: CheckSpec, exp_path: Path, got_path: Path) -> Iterator[Finding]:
    exp, got = pd.read_csv(exp_path), pd.read_csv(got_path)
    if spec.rows:
        exp, got = exp.query(spec.rows), got.query(spec.rows)
    missing = [c for c in exp.columns if c not in got.columns and c not in spec.ignore]
    for column in missing:
        yield Finding(spec.file, f"column {column}", "present", "missing", "-", False)
    if len(exp) != len(got):
        yield Finding(spec.file, "rows", str(len(exp)), str(len(got)), "exact", False)
        return
    if spec.key:
        exp, got = exp.sort_values(list(spec.key)), got.sort_values(list(spec.key))
    for i, (erow, grow) in enumerate(
        zip(exp.to_dict("records"), got.to_dict("records"), strict=True)
    ):
        label = ", ".join(f"{k}={erow[k]}" for k in spec.key) or f"row {i}"
        for column in exp.columns:
            if column in spec.ignore or column in missing:
                continue
            abs_tol, rel_tol = spec.tolerance_for(column)
            e, g = _scalar(erow[column]), _scalar(grow[column])
            ok = _close(e, g, abs_tol, rel_tol)
            improved = not ok and _better(spec.better.get(column), e, g)
            yield Finding(
                spec.file,
                f"{label}: {column}",
                _fmt(e),
                _fmt(g),
                f"abs {abs_tol:g} + rel {rel_tol:g}",
                ok or improved,
                improved,
            )


def _better(direction: str | None, expected, got) -> bool:
    if direction is None or isinstance(expected, str) or isinstance(got, str):
        return False
    return got > expected if direction == "higher" else got < expected


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def compare_extxyz(spec: CheckSpec, exp_path: Path, got_path: Path) -> Iterator[Finding]:
    from ase.io import read

    exp, got = read(exp_path, ":"), read(got_path, ":")
    if len(exp) != len(got):
        yield Finding(spec.file, "frames", str(len(exp)), str(len(got)), "exact", False)
        return
    for i, (e, g) in enumerate(zip(exp, got, strict=True)):
        label = f"frame {i} (Mg{len(e)})"
        if len(e) != len(g):
            yield Finding(spec.file, f"{label}: atoms", str(len(e)), str(len(g)), "exact", False)
            continue
        ee, ge = _frame_energy(e), _frame_energy(g)
        yield Finding(
            spec.file,
            f"{label}: energy_ev",
            _fmt(ee),
            _fmt(ge),
            f"abs {spec.energy_ev:g} eV",
            _close(ee, ge, spec.energy_ev, 0.0),
        )
        yield _structure_finding(spec, label, e, g)


def _structure_finding(spec: CheckSpec, label: str, expected, got) -> Finding:
    from .mh.fingerprint import fingerprint, fingerprint_distance

    distance = fingerprint_distance(fingerprint(expected), fingerprint(got))
    return Finding(
        spec.file,
        f"{label}: fingerprint distance",
        "0",
        f"{distance:.3g}",
        f"{spec.fingerprint_distance:g}",
        distance <= spec.fingerprint_distance,
    )


def compare_global_minima(spec: CheckSpec, exp_path: Path, got_path: Path) -> Iterator[Finding]:
    from ase.io import read

    got = {len(a): a for a in read(got_path, ":")}
    for e in read(exp_path, ":"):
        n = len(e)
        label = f"Mg{n} GM"
        if n not in got:
            yield Finding(spec.file, label, "present", "missing", "-", False)
            continue
        g = got[n]
        ee, ge = _frame_energy(e), _frame_energy(g)
        tolerance = f"abs {spec.energy_ev:g} eV"
        if ge < ee - spec.energy_ev:
            yield Finding(
                spec.file,
                f"{label}: energy_ev (a lower minimum)",
                _fmt(ee),
                _fmt(ge),
                tolerance,
                True,
                True,
            )
            continue
        yield Finding(
            spec.file,
            f"{label}: energy_ev",
            _fmt(ee),
            _fmt(ge),
            tolerance,
            ge <= ee + spec.energy_ev,
        )
        yield _structure_finding(spec, label, e, g)


def _frame_energy(atoms) -> float:
    for key in ("energy", "ref_energy", "energy_ev"):
        if key in atoms.info:
            return float(atoms.info[key])
    if atoms.calc is not None:
        return float(atoms.get_potential_energy())
    return float("nan")


def compare_image(spec: CheckSpec, exp_path: Path, got_path: Path) -> Iterator[Finding]:
    from matplotlib.testing.compare import calculate_rms
    from PIL import Image

    exp = np.asarray(Image.open(exp_path).convert("RGB")).astype(float)
    got = np.asarray(Image.open(got_path).convert("RGB")).astype(float)
    if exp.shape != got.shape:
        yield Finding(spec.file, "image size", str(exp.shape), str(got.shape), "exact", False)
        return
    rms = float(calculate_rms(exp, got))
    yield Finding(spec.file, "image RMS", "0", f"{rms:.3g}", f"{spec.rms:g}", rms <= spec.rms)


def compare_json(spec: CheckSpec, exp_path: Path, got_path: Path) -> Iterator[Finding]:
    exp, got = json.loads(exp_path.read_text()), json.loads(got_path.read_text())
    for key, e, g in _walk(exp, got, ""):
        if key.split(".")[-1] in spec.ignore:
            continue
        abs_tol, rel_tol = spec.tolerance_for(key)
        yield Finding(
            spec.file,
            key,
            _fmt(e),
            _fmt(g),
            f"abs {abs_tol:g} + rel {rel_tol:g}",
            _close(e, g, abs_tol, rel_tol),
        )


def _walk(exp, got, prefix: str):
    if isinstance(exp, dict):
        for key in exp:
            yield from _walk(
                exp[key],
                got.get(key) if isinstance(got, dict) else None,
                f"{prefix}.{key}" if prefix else key,
            )
    elif isinstance(exp, list) and isinstance(got, list) and len(exp) == len(got):
        for i, (e, g) in enumerate(zip(exp, got, strict=True)):
            yield from _walk(e, g, f"{prefix}[{i}]")
    else:
        yield prefix, exp, got


COMPARERS = {
    "csv": compare_csv,
    "extxyz": compare_extxyz,
    "global_minima": compare_global_minima,
    "image": compare_image,
    "json": compare_json,
}


def update_expected(
    cfg: Config, run_dir: Path, specs: list[CheckSpec], target: Path | None = None
) -> str:
    """Copy every promised file of the run (specs: promises.promised_specs) into
    expected_results/<profile>/; report what moved."""
    target = target or expected_dir(cfg.profile)
    numerics = _run_numerics(run_dir)
    lines = [f"updating expected_results/{cfg.profile}/ from {run_dir}"]
    if target.exists():
        previous = check_run(cfg, run_dir, target)
        moved = previous.failures
        lines.append(
            f"  {len(moved)} of {len(previous.findings)} compared values moved beyond tolerance"
        )
        lines.extend(f"  moved: {f.file} [{f.item}] {f.expected} -> {f.got}" for f in moved[:50])
    missing = [s.file for s in specs if not (run_dir / s.file).exists()]
    if missing:
        raise FileNotFoundError(f"run folder {run_dir} lacks promised files: {', '.join(missing)}")
    staging = target.with_name(f".{target.name}.new")
    if staging.exists():
        shutil.rmtree(staging)
    for spec in specs:
        dest = staging / spec.file
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_dir / spec.file, dest)
    entries = [_spec_to_yaml(s) for s in specs]
    (staging / TOLERANCES_FILE).write_text(yaml.safe_dump({"files": entries}, sort_keys=False))
    if numerics is not None:
        (staging / NUMERICS_FILE).write_text(json.dumps(numerics, indent=1, sort_keys=True) + "\n")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    lines.append(f"  wrote {len(specs)} files and {TOLERANCES_FILE}")
    return "\n".join(lines)


def _spec_to_yaml(spec: CheckSpec) -> dict:
    out = {"file": spec.file, "kind": spec.kind, "reason": spec.reason}
    defaults = CheckSpec(file="", kind="", reason="")
    for name in (f.name for f in fields(CheckSpec)):
        value = getattr(spec, name)
        if name not in out and value != getattr(defaults, name):
            out[name] = list(value) if isinstance(value, tuple) else value
    return out
