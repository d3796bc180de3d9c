"""The layering of docs/ARCHITECTURE.md: stages are adapters that import no other stage, and the
domain layer knows nothing of stages, run folders or the config tree."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "paper_artifact"
STAGES = sorted(p.stem for p in (PACKAGE / "stages").glob("*.py") if p.stem != "__init__")
DOMAIN = ["mh", "calculators", "data", "analysis", "evaluation.py", "gridsearch.py", "units.py",
          "structures.py", "fileio.py", "validation.py"]  # fmt: skip
ORCHESTRATION = {"stages", "runner", "config", "paths", "promises", "check", "claims", "cli"}


def imported_modules(path: Path) -> set[str]:
    """Absolute dotted names of what a module imports (relative imports resolved)."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def domain_files() -> list[Path]:
    files = []
    for entry in DOMAIN:
        path = PACKAGE / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_another(stage):
    imports = imported_modules(PACKAGE / "stages" / f"{stage}.py")
    others = {f"paper_artifact.stages.{s}" for s in STAGES} - {
        f"paper_artifact.stages.{stage}",
        "paper_artifact.stages.common",
    }
    assert not imports & others


@pytest.mark.parametrize("path", domain_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_domain_layer_knows_no_stage_run_folder_or_config_tree(path):
    forbidden = {
        name
        for name in imported_modules(path)
        if name.split(".")[:2] in ([["paper_artifact", o] for o in ORCHESTRATION])
    }
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"
