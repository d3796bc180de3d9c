"""Candidate Mg_n structures for a training set built from scratch (no published dataset given).

Kinds, generated per size in this order (KINDS; the index is part of each kind's seed):
- random:   compact random clusters (structures.random_cluster);
- fragment: the n lattice sites nearest a random centre in hcp, fcc, bcc bulk or a Mackay
            icosahedron (motifs cycled in GenerationParams.motifs order);
- relaxed:  local minima of the cheap calculator: short BFGS runs from slightly rattled random
            and fragment structures (taken in turn);
- rattled:  Gaussian displacements of the relaxed minima (of random/fragment when n_relaxed = 0);
- strained: the same parents under a random symmetric strain;
- md:       Langevin snapshots started from the same parents at md_temperature_k.
So the set holds minima and their surroundings. Every structure carries info['generator'] (the
kind), info['generator_index'] and, when derived from another, info['parent']
('kind:index' within the same size). Output order: sizes as given, then KINDS, then index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.calculator import Calculator
from ase.cluster import Icosahedron
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta
from ase.optimize import BFGS

from paper_artifact.structures import random_cluster

KINDS = ("random", "fragment", "relaxed", "rattled", "strained", "md")

# Lattices at the volume per atom of hcp Mg (a = 3.209 A, c = 5.211 A: 23.24 A^3/atom).
HCP_A, HCP_C = 3.209, 5.211
_VOLUME_PER_ATOM = np.sqrt(3.0) / 4.0 * HCP_A**2 * HCP_C
FCC_A = (4.0 * _VOLUME_PER_ATOM) ** (1.0 / 3.0)
BCC_A = (2.0 * _VOLUME_PER_ATOM) ** (1.0 / 3.0)
MOTIFS = ("hcp", "fcc", "bcc", "ico")


@dataclass(frozen=True)
class GenerationParams:
    n_random: int = 20  # structures per size for each kind
    n_fragment: int = 20
    n_relaxed: int = 20
    n_rattled: int = 20
    n_strained: int = 10
    n_md: int = 20
    random_min_distance: float = 2.7  # Angstrom, for random clusters
    motifs: tuple[str, ...] = MOTIFS
    fragment_centre_spread: float = 1.0  # Angstrom, random centre offset in an icosahedron
    rattle_amplitude: float = 0.1  # Angstrom, Gaussian sigma per coordinate
    strain_range: float = 0.05  # strain components drawn uniformly in [-range, range]
    md_temperature_k: float = 300.0
    md_steps: int = 200  # steps from each start to its snapshot
    md_timestep_fs: float = 5.0
    md_friction_per_fs: float = 0.01
    relax_fmax: float = 0.05  # eV/Angstrom
    relax_steps: int = 200

    def __post_init__(self) -> None:
        counts = self.counts()
        if min(counts) < 0:
            raise ValueError(f"GenerationParams counts must be >= 0, got {counts}")
        unknown = set(self.motifs) - set(MOTIFS)
        if unknown or not self.motifs:
            raise ValueError(f"GenerationParams.motifs must be a non-empty subset of {MOTIFS}")
        if self.n_random + self.n_fragment == 0 and (
            self.n_relaxed + self.n_rattled + self.n_strained + self.n_md
        ):
            raise ValueError("GenerationParams: derived kinds need n_random or n_fragment > 0")

    def counts(self) -> list[int]:
        """Candidates per size of each kind, in KINDS order."""
        return [getattr(self, f"n_{kind}") for kind in KINDS]


def _cluster(positions: np.ndarray, kind: str, index: int, **info) -> Atoms:
    atoms = Atoms(f"Mg{len(positions)}", positions=positions)
    atoms.positions -= atoms.get_center_of_mass()
    atoms.info.update(generator=kind, generator_index=index, **info)
    return atoms


def _derived(parent: Atoms, positions: np.ndarray, kind: str, index: int, **info) -> Atoms:
    source = f"{parent.info['generator']}:{parent.info['generator_index']}"
    return _cluster(positions, kind, index, parent=source, **info)


def _bulk(motif: str) -> Atoms:
    if motif == "hcp":
        return bulk("Mg", "hcp", a=HCP_A, c=HCP_C)
    if motif == "fcc":
        return bulk("Mg", "fcc", a=FCC_A, cubic=True)
    return bulk("Mg", "bcc", a=BCC_A, cubic=True)


@cache
def _lattice_sites(motif: str, n_atoms: int) -> np.ndarray:
    """Sites of a motif, centred at the origin, reaching well beyond an n-atom fragment."""
    if motif == "ico":
        shells = 2
        while len(Icosahedron("Mg", shells, latticeconstant=FCC_A)) < 2 * n_atoms:
            shells += 1
        sites = Icosahedron("Mg", shells, latticeconstant=FCC_A).positions
    else:
        radius = (3.0 * n_atoms * _VOLUME_PER_ATOM / (4.0 * np.pi)) ** (1.0 / 3.0) + 2 * HCP_C
        cell = _bulk(motif)
        repeats = [int(np.ceil(2 * radius / length)) + 1 for length in cell.cell.lengths()]
        sites = cell.repeat(repeats).positions
    return sites - sites.mean(axis=0)


def _fragment(motif: str, n_atoms: int, rng: np.random.Generator, spread: float) -> np.ndarray:
    if motif == "ico":  # stay near the icosahedron's centre
        direction = rng.normal(size=3)
        offset = direction / np.linalg.norm(direction) * spread * rng.uniform() ** (1.0 / 3.0)
    else:  # a random point of one unit cell covers every placement in the crystal
        offset = rng.uniform(size=3) @ np.asarray(_bulk(motif).cell)
    sites = _lattice_sites(motif, n_atoms)
    nearest = np.argsort(np.linalg.norm(sites - offset, axis=1), kind="stable")[:n_atoms]
    return sites[nearest]


def _relaxed(start: Atoms, calc: Calculator, params: GenerationParams) -> tuple[Atoms, bool]:
    atoms = start.copy()
    atoms.calc = calc
    converged = BFGS(atoms, logfile=None).run(fmax=params.relax_fmax, steps=params.relax_steps)
    return atoms, bool(converged)


def _md_snapshot(
    start: Atoms, calc: Calculator, params: GenerationParams, rng: np.random.Generator
) -> np.ndarray:
    atoms = start.copy()
    atoms.calc = calc
    atoms.set_constraint(FixCom())
    thermalize_momenta(atoms, params.md_temperature_k, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    dynamics = Langevin(
        atoms,
        timestep=params.md_timestep_fs * units.fs,
        temperature_K=params.md_temperature_k,
        friction=params.md_friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )
    dynamics.run(params.md_steps)
    return atoms.positions.copy()


def _candidates_of_size(
    n_atoms: int,
    params: GenerationParams,
    seed: int,
    cheap_calc_factory: Callable[[], Calculator],
) -> list[Atoms]:
    rngs = {
        kind: np.random.default_rng(np.random.SeedSequence([seed, n_atoms, index]))
        for index, kind in enumerate(KINDS)
    }
    random_set = []
    for k in range(params.n_random):
        cluster = random_cluster(n_atoms, rngs["random"], min_distance=params.random_min_distance)
        random_set.append(_cluster(cluster.positions, "random", k))
    fragments = []
    for k in range(params.n_fragment):
        motif = params.motifs[k % len(params.motifs)]
        positions = _fragment(motif, n_atoms, rngs["fragment"], params.fragment_centre_spread)
        fragments.append(_cluster(positions, "fragment", k, motif=motif))
    starts = random_set + fragments

    minima = []
    for k in range(params.n_relaxed):
        start = starts[k % len(starts)]
        shaken = start.copy()
        shaken.positions += rngs["relaxed"].normal(scale=params.rattle_amplitude, size=(n_atoms, 3))
        relaxed, converged = _relaxed(shaken, cheap_calc_factory(), params)
        minima.append(_derived(start, relaxed.positions, "relaxed", k, relax_converged=converged))
    parents = minima or starts

    rattled = []
    for k in range(params.n_rattled):
        parent = parents[k % len(parents)]
        noise = rngs["rattled"].normal(scale=params.rattle_amplitude, size=(n_atoms, 3))
        rattled.append(_derived(parent, parent.positions + noise, "rattled", k))
    strained = []
    for k in range(params.n_strained):
        parent = parents[k % len(parents)]
        strain = rngs["strained"].uniform(-params.strain_range, params.strain_range, size=(3, 3))
        deformation = np.eye(3) + (strain + strain.T) / 2.0
        strained.append(_derived(parent, parent.positions @ deformation, "strained", k))
    snapshots = []
    for k in range(params.n_md):
        parent = parents[k % len(parents)]
        positions = _md_snapshot(parent, cheap_calc_factory(), params, rngs["md"])
        snapshots.append(_derived(parent, positions, "md", k))
    return random_set + fragments + minima + rattled + strained + snapshots


def generate_candidates(
    sizes: tuple[int, ...] | list[int],
    params: GenerationParams,
    seed: int,
    cheap_calc_factory: Callable[[], Calculator],
) -> list[Atoms]:
    """Candidate structures for every size (module docstring), deterministic for a seed.

    cheap_calc_factory() must return a fresh ASE calculator (e.g. the Gupta potential); it is
    used for the relaxations and the MD. Returned structures carry no calculator or energy.
    """
    if len(set(sizes)) != len(sizes) or any(int(n) < 2 for n in sizes):
        raise ValueError(f"generate_candidates: sizes must be distinct integers >= 2, got {sizes}")
    candidates = []
    for n_atoms in sizes:
        candidates.extend(_candidates_of_size(int(n_atoms), params, seed, cheap_calc_factory))
    return candidates
