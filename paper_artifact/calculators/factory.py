"""One factory for every calculator a stage or CLI command may use.

Specs: "gupta" (Gupta Mg potential), "dft" (PySCF BP86/6-31G(d)), "lj" (ase LennardJones with
epsilon = sigma = 1 and no cutoff shift), "gap:PATH/TO/gap.xml" (a fitted GAP).
Factories are `functools.partial` objects over top-level functions, so they pickle to workers.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from ase.calculators.calculator import Calculator

from .dft import DFTSettings

LJ_NO_SHIFT_CUTOFF = 1.0e3  # sigma units; beyond every pair distance, so energies are unshifted
SPEC_HELP = "gupta | dft | lj | gap:MODEL.xml"


def parse_spec(spec: str) -> tuple[str, str]:
    """(kind, argument) of a calculator spec; ValueError for an unknown one, FileNotFoundError
    for a GAP whose model file is missing."""
    kind, _, argument = spec.partition(":")
    if kind not in ("gupta", "dft", "lj", "gap") or bool(argument) != (kind == "gap"):
        raise ValueError(f"unknown calculator '{spec}' (use {SPEC_HELP})")
    if kind == "gap" and not Path(argument).is_file():
        raise FileNotFoundError(f"calculator '{spec}': GAP model file not found")
    return kind, argument


def make_calculator(
    spec: str, dft: DFTSettings | None = None, cache_path: str | Path | None = None
) -> Calculator:
    kind, argument = parse_spec(spec)
    if kind == "gupta":
        from .gupta import Gupta

        return Gupta()
    if kind == "lj":
        from ase.calculators.lj import LennardJones

        return LennardJones(epsilon=1.0, sigma=1.0, rc=LJ_NO_SHIFT_CUTOFF, smooth=False)
    if kind == "dft":
        from .cache import CachedCalculator, EnergyCache
        from .dft import PySCFDFT

        settings = dft or DFTSettings()
        calc = PySCFDFT(settings=settings)
        if cache_path:
            return CachedCalculator(calc, EnergyCache(cache_path), settings.cache_key())
        return calc
    from .gap import load_gap

    return load_gap(argument)


def calculator_id(spec: str) -> str:
    """The spec, with the model's content hash for a GAP (a refitted model at the same path is
    another calculator)."""
    kind, _, argument = spec.partition(":")
    if kind == "gap":
        from .gap import model_hash

        return f"gap:{model_hash(Path(argument))}"
    return spec


def calculator_factory(
    spec: str, dft: DFTSettings | None = None, cache_path: str | Path | None = None
):
    """A picklable zero-argument callable returning a fresh calculator."""
    return partial(make_calculator, spec, dft, str(cache_path) if cache_path else None)


def isolated_atom_energy(spec: str, dft: DFTSettings | None = None) -> float:
    """E(Mg1) in eV of a calculator: 0 for pair/embedding potentials, the SCF atom for DFT.

    A GAP's isolated-atom energy is its e0 (the reference's E(Mg1)); callers pass the reference
    spec for binding energies, as the paper does (Eq. 2).
    """
    kind = spec.partition(":")[0]
    if kind in ("gupta", "lj"):
        return 0.0
    if kind == "dft":
        from .dft import PySCFDFT

        return PySCFDFT(settings=dft or DFTSettings()).isolated_atom_energy()
    raise ValueError(
        f"isolated-atom energy of '{spec}' is the reference's; pass the reference spec"
    )
