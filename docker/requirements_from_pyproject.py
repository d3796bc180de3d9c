"""Print the pinned dependencies of pyproject.toml, one per line, for `pip install -r`.

Used by the Dockerfile to install dependencies in a cached layer before the package code is copied.
Usage: python requirements_from_pyproject.py PYPROJECT [EXTRA ...]
"""

import sys
import tomllib


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: requirements_from_pyproject.py PYPROJECT [EXTRA ...]", file=sys.stderr)
        return 2
    pyproject_path, extras = argv[1], argv[2:]
    with open(pyproject_path, "rb") as handle:
        project = tomllib.load(handle)["project"]
    requirements = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            print(f"{pyproject_path}: no optional-dependencies extra '{extra}'", file=sys.stderr)
            return 1
        requirements.extend(optional[extra])
    print("\n".join(requirements))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
