"""Content digest of a run folder's results, without what differs between identical runs.

Two runs with the same profile and seed on one machine must give the same digest: the tool that
shows a refactoring changed no result. Hashed: every stage output except logs, PDFs, GAP XML
files (gap_fit writes a time stamp into them and into the sparseX file names, which are
numbered instead) and the manifest; CSV columns and JSON keys that hold timings, memory, model
hashes or paths are dropped first.

    python -m paper_artifact digest RUN_DIR > digest.json
    python -m paper_artifact digest RUN_DIR --compare digest.json   # exit 1 and list differences
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pandas as pd

VOLATILE = {
    "wall_seconds", "fit_seconds", "peak_memory_mb", "model_hash", "model_path", "model",
    "next_model", "model_sha256", "seconds", "cpu_seconds", "host",
}  # fmt: skip
SKIPPED_SUFFIXES = {".log", ".pdf", ".xml", ".txt", ".md"}
SKIPPED_NAMES = {"manifest.json"}
SKIPPED_DIRS = {"runinfo"}  # Parsl logs and submit scripts


def _drop(value):
    if isinstance(value, dict):
        return {k: _drop(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_drop(v) for v in value]
    return value


def file_digest(path: Path) -> str:
    if path.suffix == ".csv" and path.stat().st_size > 1:
        frame = pd.read_csv(path)
        frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        data = buffer.getvalue().encode()
    elif path.suffix == ".json":
        data = json.dumps(_drop(json.loads(path.read_text())), sort_keys=True).encode()
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def run_digest(run_dir: Path) -> dict[str, str]:
    digest = {}
    sparse_index: dict[Path, int] = {}
    for path in sorted(run_dir.rglob("*")):
        relative = path.relative_to(run_dir)
        if (
            not path.is_file()
            or relative.parts[0].startswith(".")
            or relative.parts[0] in SKIPPED_DIRS
        ):
            continue
        if path.suffix in SKIPPED_SUFFIXES or path.name in SKIPPED_NAMES:
            continue
        name = str(relative)
        if ".sparseX." in path.name:  # gap_fit puts a time stamp into these names
            index = sparse_index[relative.parent] = sparse_index.get(relative.parent, -1) + 1
            name = str(relative.parent / f"{path.name.split('.sparseX.')[0]}.sparseX.{index}")
        digest[name] = file_digest(path)
    return digest


def digest_command(run_dir: Path, compare: Path | None) -> int:
    digest = run_digest(run_dir)
    if compare is None:
        print(json.dumps(digest, indent=1))
        return 0
    other = json.loads(compare.read_text())
    differing = sorted(
        name for name in set(digest) | set(other) if digest.get(name) != other.get(name)
    )
    for name in differing:
        print(f"differs: {name}")
    print(f"{len(digest)} files, {len(differing)} differ")
    return 1 if differing else 0
