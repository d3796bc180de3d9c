"""PySCF DFT calculator reproducing the paper's Gaussian BP86/6-31G(d) reference level.

Gaussian's "BP86" is Becke-88 exchange + Perdew-86 correlation on top of the local (PZ81)
correlation; in libxc that is 'B88,P86_FT' (PySCF's plain 'BP86' alias differs by ~113 micro-Ha for
the Mg atom). Gaussian's 6-31G(d) uses six Cartesian d functions (spherical d: ~1.2 mHa off).
With these settings PySCF gives E(Mg1) = -200.069699 Ha (grid level 3) vs -200.0696953 Ha in
Gaussian (paper; see docs/dft_validation.md for the measurements).

SCF convergence ladder (each rung only if the previous one did not converge; never an unconverged
energy is returned):
  1. plain DIIS from the initial guess (the previous converged density when the geometry is close,
     otherwise PySCF's 'minao' guess), at most diis_max_cycle cycles: the 186 dft-mini labels
     (Mg4-12) that converged here took <= 19 cycles, the 10 that did not failed at 100 too;
  2. Fermi-Dirac smearing (sigma = smearing_sigma Hartree) to get a reasonable density, then
     second-order SCF (PySCF `.newton()`) from it (from rung 1's density if smearing failed),
     unsmeared (the smeared free energy is never returned);
  3. DIIS with a level shift and damping from the best density so far, then plain DIIS from its
     density (the level shift does not change the converged density; gradients need a clean SCF).
On those 10 (Mg11-12 candidates) rung 2 gives the energy of the earlier order (DIIS, level
shift, smearing + DIIS, newton) within 3e-6 eV in a third of the CPU time
(benchmarks/bench_scf_ladder.py, docs/dft_validation.md section 7).
If all fail, SCFConvergenceError names the structure and what was tried.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.units import Bohr, Hartree
from pyscf import dft, gto, lib
from pyscf.scf import addons

from paper_artifact.configtree import without_resources


class SCFConvergenceError(RuntimeError):
    """All rungs of the SCF convergence ladder failed for one structure."""


@dataclass(frozen=True)
class DFTSettings:
    xc: str = "B88,P86_FT"  # Gaussian BP86
    basis: str = "6-31g*"
    cartesian: bool = True  # Gaussian 6-31G(d) has 6 Cartesian d functions
    conv_tol: float = 1e-5  # Hartree; the paper's single-point threshold (Gaussian's is tighter)
    conv_tol_grad: float | None = None  # orbital-gradient threshold; None = sqrt(conv_tol)
    grid_level: int = 3  # PySCF grids.level (0-9)
    atom_grid: tuple[int, int] | None = None  # (radial, angular) overrides grid_level
    spin: int = 0  # 2S; 0 -> restricted KS, otherwise unrestricted
    charge: int = 0
    density_fit: bool = False
    auxbasis: str = "def2-universal-jfit"
    # Keep the DF 3-index tensor in memory when it fits in half of max_memory_mb (Mg13: 220 MB,
    # Mg55: 17 GB); otherwise PySCF recomputes the 3-centre integrals in every SCF cycle.
    df_incore: bool = True
    # PySCF small_rho_cutoff: grid points where the density (times weight) is below it are dropped
    # after the initial guess (0 = keep all, PySCF 2.14's default)
    small_rho_cutoff: float = 0.0
    smearing_sigma: float = 0.005  # Hartree, Fermi smearing rung of the ladder
    level_shift: float = 0.2  # Hartree, rung 3
    damping: float = 0.5  # rung 3
    max_cycle: int = 100  # per rung after the first
    diis_max_cycle: int = 40  # rung 1 (plain DIIS)
    diis_space: int = 8  # DIIS subspace (PySCF default 8; 12 saves 2-5 of ~17-21 cycles for Mg13)
    threads: int = 1
    # PySCF max_memory; above ~1.1 nao^4/1e6 MB the 4-index ERIs are kept in memory instead of a
    # direct J build every cycle (Mg13, nao 247: use 6000)
    max_memory_mb: int = 4000
    use_gpu: bool = False
    reuse_density_max_shift: float = 0.5  # Angstrom; reuse previous density if all atoms moved less
    verbose: int = 0  # PySCF log level (4 = SCF iterations), written to stdout

    def cache_key(self) -> str:
        """Settings that change the result (not configtree.RESOURCE_FIELDS), as a stable string."""
        values = without_resources(asdict(self))
        if not self.density_fit:
            del values["auxbasis"]
        if not self.small_rho_cutoff:  # keys of results from before the setting existed stay valid
            del values["small_rho_cutoff"]
        fields = [f"{name}={value!r}" for name, value in values.items()]
        return "pyscf-dft;" + ";".join(fields)


def _check_gpu() -> None:
    try:
        import cupy
        import gpu4pyscf  # noqa: F401
    except ImportError as error:
        raise RuntimeError(
            f"DFTSettings.use_gpu=True but gpu4pyscf/cupy is not importable ({error}); "
            "install gpu4pyscf or set use_gpu: false"
        ) from error
    if cupy.cuda.runtime.getDeviceCount() < 1:
        raise RuntimeError("DFTSettings.use_gpu=True but no CUDA device is visible")


def build_molecule(atoms: Atoms, settings: DFTSettings) -> gto.Mole:
    return gto.M(
        atom=[
            (symbol, tuple(position))
            for symbol, position in zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)
        ],
        unit="Angstrom",
        basis=settings.basis,
        cart=settings.cartesian,
        spin=settings.spin,
        charge=settings.charge,
        verbose=settings.verbose,
    )


def df_tensor_mb(mol: gto.Mole, auxbasis: str) -> float:
    """Size of the density-fitting 3-index tensor (aux x AO pairs, float64) in MB."""
    from pyscf.df.addons import make_auxmol

    nao = mol.nao_nr()
    return make_auxmol(mol, auxbasis).nao_nr() * nao * (nao + 1) // 2 * 8 / 1e6


def make_scf(mol: gto.Mole, settings: DFTSettings, with_df=None):
    """The SCF object of the settings; with_df: a built DF object of the same molecule to reuse."""
    mf = dft.RKS(mol) if settings.spin == 0 else dft.UKS(mol)
    mf.xc = settings.xc
    if settings.atom_grid is not None:
        mf.grids.atom_grid = tuple(settings.atom_grid)
    else:
        mf.grids.level = settings.grid_level
    mf.conv_tol = settings.conv_tol
    if settings.conv_tol_grad is not None:
        mf.conv_tol_grad = settings.conv_tol_grad
    mf.max_cycle = settings.max_cycle
    mf.diis_space = settings.diis_space
    mf.max_memory = settings.max_memory_mb
    mf.small_rho_cutoff = settings.small_rho_cutoff
    if settings.density_fit:
        mf = mf.density_fit(auxbasis=settings.auxbasis, with_df=with_df)
        if (
            with_df is None
            and settings.df_incore
            and not settings.use_gpu
            and df_tensor_mb(mol, settings.auxbasis) < settings.max_memory_mb / 2
        ):
            mf.with_df.build()  # J from the stored tensor: same result, ~2x faster SCF
    if settings.use_gpu:
        _check_gpu()
        mf = mf.to_gpu()
    return mf


def _to_numpy(array) -> np.ndarray:
    return array.get() if hasattr(array, "get") else np.asarray(array)


def run_scf(mol: gto.Mole, settings: DFTSettings, dm0=None, label: str = "structure"):
    """Converge the SCF with the ladder in the module docstring; return (mf, rungs_tried)."""
    tried: list[str] = []

    def attempt(name, mf, guess):
        mf.kernel(dm0=guess)
        status = "converged" if mf.converged else "not converged"
        tried.append(
            f"{name}: {status} after {getattr(mf, 'cycles', '?')} cycles,"
            f" E={float(mf.e_tot):.8f} Ha"
        )
        return mf

    first = make_scf(mol, settings)
    first.max_cycle = settings.diis_max_cycle
    mf = attempt("DIIS", first, dm0)
    if mf.converged:
        return mf, tried
    best_dm = mf.make_rdm1()
    with_df = getattr(mf, "with_df", None)

    def fresh():  # the later rungs reuse the first rung's DF object (and its tensor)
        return make_scf(mol, settings, with_df)

    smeared = addons.smearing(fresh(), sigma=settings.smearing_sigma, method="fermi")
    smeared = attempt(f"Fermi smearing sigma={settings.smearing_sigma} Ha", smeared, best_dm)
    if smeared.converged:
        best_dm = smeared.make_rdm1()
    newton = attempt("second-order (newton)", fresh().newton(), best_dm)
    if newton.converged:
        return newton, tried
    best_dm = newton.make_rdm1()

    shifted = fresh()
    shifted.level_shift = settings.level_shift
    shifted.damp = settings.damping
    shifted.diis_start_cycle = 3
    shifted = attempt("level shift + damping", shifted, best_dm)
    if shifted.converged:
        final = attempt("DIIS from level-shifted density", fresh(), shifted.make_rdm1())
        if final.converged:
            return final, tried
    raise SCFConvergenceError(
        f"SCF did not converge for {label} ({mol.natm} atoms, conv_tol={settings.conv_tol}): "
        + "; ".join(tried)
    )


class PySCFDFT(Calculator):
    """ASE calculator: PySCF Kohn-Sham energy [eV] and analytic forces [eV/A].

    label: name used in error messages; atoms.info['label'] takes precedence when present.
    Results are cached across runs by wrapping it in cache.CachedCalculator (factory.py does).
    """

    implemented_properties = ("energy", "forces")
    _atom_energy_cache: dict[tuple[str, str], float] = {}

    def __init__(
        self,
        settings: DFTSettings | None = None,
        label: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.settings = settings or DFTSettings()
        if self.settings.use_gpu:
            _check_gpu()
        self.structure_label = label
        self._last_positions: np.ndarray | None = None
        self._last_numbers: np.ndarray | None = None
        self._last_dm = None
        self.last_scf_log: list[str] = []  # one entry per ladder rung tried in the last SCF
        self.last_initial_guess = ""
        self.last_wall_time = 0.0

    def _initial_density(self, atoms: Atoms):
        if (
            self._last_dm is None
            or not np.array_equal(self._last_numbers, atoms.numbers)
            or np.abs(atoms.positions - self._last_positions).max()
            > self.settings.reuse_density_max_shift
        ):
            return None
        return self._last_dm

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        settings = self.settings
        want_forces = "forces" in properties
        label = self.atoms.info.get(
            "label", self.structure_label or self.atoms.get_chemical_formula()
        )
        start = time.perf_counter()
        with lib.with_omp_threads(settings.threads):
            mol = build_molecule(self.atoms, settings)
            dm0 = self._initial_density(self.atoms)
            self.last_initial_guess = "minao" if dm0 is None else "previous density"
            mf, self.last_scf_log = run_scf(mol, settings, dm0, label=label)
            energy = float(mf.e_tot) * Hartree
            forces = None
            if want_forces:
                gradient = _to_numpy(mf.nuc_grad_method().kernel())
                forces = -gradient * Hartree / Bohr
        self.last_wall_time = time.perf_counter() - start
        self._last_dm = mf.make_rdm1()
        self._last_positions = self.atoms.positions.copy()
        self._last_numbers = self.atoms.numbers.copy()
        self.results = {"energy": energy}
        if forces is not None:
            self.results["forces"] = forces

    def provenance(self) -> dict:
        """How the last result was computed (stored with cached labels)."""
        import pyscf

        return {
            "program": f"PySCF {pyscf.__version__}",
            "initial_guess": self.last_initial_guess,
            "scf": self.last_scf_log,
        }

    def isolated_atom_energy(self, symbol: str = "Mg", spin: int = 0) -> float:
        """E(atom) in eV, same settings (closed-shell singlet for Mg); cached per settings."""
        atom_settings = replace(self.settings, spin=spin, charge=0)
        key = (symbol, atom_settings.cache_key())
        if key not in self._atom_energy_cache:
            with lib.with_omp_threads(atom_settings.threads):
                mol = build_molecule(Atoms(symbol), atom_settings)
                mf, _ = run_scf(mol, atom_settings, label=f"isolated {symbol} atom")
            self._atom_energy_cache[key] = float(mf.e_tot) * Hartree
        return self._atom_energy_cache[key]
