"""Pictures of the global minima for Tables 1 and 2: whole cluster (core atoms highlighted) and
core only, drawn with ASE's PNG renderer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import ase.io
from ase import Atoms

from paper_artifact.analysis.com_profile import CoreParams, core_indices
from paper_artifact.figures.common import write_file


@dataclass(frozen=True)
class PictureParams:
    rotation: str = "10x,20y,0z"  # ASE rotation string
    atom_radius: float = 1.1  # Angstrom, drawn sphere radius (below contact, so depth shows)
    scale: int = 30  # pixels per Angstrom
    shell_colour: str = "#9db4c0"
    core_colour: str = "#c0392b"


def render(
    atoms: Atoms,
    path: str | Path,
    params: PictureParams = PictureParams(),
    highlight: list[int] | None = None,
) -> Path:
    """Write atoms as a PNG; atoms listed in highlight get the core colour."""
    if len(atoms) == 0:
        raise ValueError(f"nothing to draw for {path}: the structure has no atoms")
    marked = set(highlight or [])
    colours = [
        params.core_colour if i in marked else params.shell_colour for i in range(len(atoms))
    ]
    centred = atoms.copy()
    centred.positions -= centred.get_center_of_mass()
    return write_file(
        Path(path),
        lambda p: ase.io.write(
            p,
            centred,
            format="png",
            rotation=params.rotation,
            colors=colours,
            radii=[params.atom_radius] * len(centred),
            scale=params.scale,
            show_unit_cell=0,
        ),
    )


def render_all(
    gms: Mapping[int, Atoms],
    out_dir: str | Path,
    params: PictureParams = PictureParams(),
    core: CoreParams | None = None,
) -> dict[int, dict[str, Path]]:
    """mg{n}_cluster.png (core highlighted) and, when there is a core, mg{n}_core.png."""
    core = core or CoreParams()
    out_dir = Path(out_dir)
    written: dict[int, dict[str, Path]] = {}
    for n, atoms in sorted(gms.items()):
        inner = [int(i) for i in core_indices(atoms, core)]
        paths = {"cluster": render(atoms, out_dir / f"mg{n}_cluster.png", params, inner)}
        if inner:
            paths["core"] = render(
                atoms[inner], out_dir / f"mg{n}_core.png", params, list(range(len(inner)))
            )
        written[n] = paths
    return written
