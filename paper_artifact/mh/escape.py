"""The escape trial of minima hopping: counted energy+force calls, softened initial velocities,
and the MD that leaves the current minimum.

Why the MD is written out here instead of using ase.md.VelocityVerlet: minima hopping needs an
integrator that stops on the count of potential-energy minima along the trajectory, adapts its
time step to the measured energy conservation, turns escaping fragments back, and restarts
itself with a smaller step when it blows up. ASE's Verlet gives the three-line position/velocity
update only and adds a per-step overhead larger than a Gupta or Lennard-Jones call; the update
itself is the standard velocity Verlet scheme.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist, pdist, squareform


class CountedPotential:
    """Energy (eV) and forces (eV/A) of one free cluster from an ASE calculator; every call
    is a new geometry and is counted."""

    def __init__(self, atoms: Atoms, calc: Calculator, n_calls: int = 0):
        self.atoms = Atoms(atoms.numbers, positions=atoms.positions, pbc=False)
        self.calc = calc
        self.n_calls = n_calls

    def __call__(self, positions: np.ndarray) -> tuple[float, np.ndarray]:
        self.atoms.positions = positions.reshape(-1, 3)
        self.calc.calculate(self.atoms, ["energy", "forces"], all_changes)
        self.n_calls += 1
        energy = float(self.calc.results["energy"])
        forces = np.array(self.calc.results["forces"], dtype=float).reshape(-1, 3)
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            raise FloatingPointError(
                f"{type(self.calc).__name__} returned a non-finite energy or force for "
                f"{self.atoms.get_chemical_formula()}"
            )
        return energy, forces


def fragment_labels(positions: np.ndarray, cutoff: float) -> tuple[int, np.ndarray]:
    """Connected components of the graph of atoms closer than cutoff: (count, label per atom)."""
    if len(positions) < 2:
        return 1, np.zeros(len(positions), dtype=int)
    adjacency = squareform(pdist(positions) < cutoff)
    return connected_components(adjacency, directed=False)


def n_fragments(positions: np.ndarray, cutoff: float) -> int:
    return fragment_labels(positions, cutoff)[0]


def _distances_to_others(positions: np.ndarray) -> np.ndarray:
    """Pairwise distance matrix with inf on the diagonal."""
    dist = squareform(pdist(positions))
    np.fill_diagonal(dist, np.inf)
    return dist


def median_nearest_neighbour(positions: np.ndarray) -> float:
    return float(np.median(_distances_to_others(positions).min(axis=1)))


def rigid_motion_basis(positions: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning rigid translations and rotations of a cluster (3N x <=6)."""
    centred = positions - positions.mean(axis=0)
    basis = []
    for k in range(3):
        translation = np.zeros_like(positions)
        translation[:, k] = 1.0
        basis.append(translation.ravel())
        axis = np.zeros(3)
        axis[k] = 1.0
        basis.append(np.cross(axis, centred).ravel())
    q, r = np.linalg.qr(np.array(basis).T)
    return q[:, np.abs(np.diag(r)) > 1e-8]


def project_out(vector: np.ndarray, basis: np.ndarray) -> np.ndarray:
    flat = vector.ravel()
    return (flat - basis @ (basis.T @ flat)).reshape(vector.shape)


def thermal_velocities(
    masses: np.ndarray, temperature: float, rng: np.random.Generator
) -> np.ndarray:
    """Maxwell-Boltzmann velocities (A per ASE time unit) without net momentum."""
    sigma = np.sqrt(units.kB * temperature / masses)[:, None]
    velocities = rng.normal(size=(len(masses), 3)) * sigma
    momentum = (masses[:, None] * velocities).sum(axis=0)
    return velocities - momentum / masses.sum()


def soften(
    potential: CountedPotential,
    x0: np.ndarray,
    f0: np.ndarray,
    direction: np.ndarray,
    n_steps: int,
    displacement: float,
) -> tuple[np.ndarray, float]:
    """Turn a direction towards low curvature of the surface at the minimum x0.

    Gradient descent of the Rayleigh quotient d.H.d / d.d over directions orthogonal to rigid
    motions, with H.d from one force call at x0 + displacement * d (Schoenborn et al., J. Chem.
    Phys. 130, 144108 (2009)). Stops early when the residual |H d - c d| falls below half the
    curvature. Returns the unit direction and its last curvature estimate (eV/A^2).
    """
    basis = rigid_motion_basis(x0)
    d = project_out(direction, basis)
    d /= np.linalg.norm(d)
    step, previous, curvature = None, np.inf, np.inf
    for _ in range(n_steps):
        _, forces = potential(x0 + displacement * d)
        hessian_d = -(forces - f0) / displacement
        curvature = float(np.vdot(d, hessian_d))
        residual = project_out(hessian_d - curvature * d, basis)
        if np.linalg.norm(residual) < 0.5 * abs(curvature):
            break
        if step is None:
            step = 0.5 / max(abs(curvature), 1e-12)
        elif curvature > previous:
            step *= 0.5
        previous = curvature
        d = project_out(d - step * residual, basis)
        d /= np.linalg.norm(d)
    return d, curvature


def lowest_curvature_mode(
    potential: CountedPotential, x: np.ndarray, step: float = 1e-3
) -> tuple[float, np.ndarray]:
    """Lowest Hessian eigenvalue (eV/A^2) at x outside rigid motions, and its mode (N x 3).

    Central finite differences of the forces (6N calls; error ~ step^2, so a curvature of
    -1e-3 eV/A^2 is resolved), symmetrised, rigid translations and rotations projected out.
    """
    n = x.size
    hessian = np.empty((n, n))
    for i in range(n):
        displaced = x.ravel().copy()
        displaced[i] += step
        plus = potential(displaced.reshape(x.shape))[1]
        displaced[i] -= 2.0 * step
        minus = potential(displaced.reshape(x.shape))[1]
        hessian[i] = -(plus - minus).ravel() / (2.0 * step)
    hessian = 0.5 * (hessian + hessian.T)
    rigid = rigid_motion_basis(x)
    internal = np.eye(n) - rigid @ rigid.T
    values, vectors = np.linalg.eigh(internal @ hessian @ internal)
    keep = np.linalg.norm(rigid.T @ vectors, axis=0) < 0.5  # drop the projected-out modes
    return float(values[keep][0]), vectors[:, keep][:, 0].reshape(x.shape)


@dataclass(frozen=True)
class MDOutcome:
    positions: np.ndarray  # at the last counted potential-energy minimum
    home: bool  # that minimum of E_pot was still inside the start basin
    energy_drift: float  # (max - min of E_tot) / (max - min of E_pot) along the run
    n_restarts: int  # MD restarted with a halved time step after the energy blew up
    n_fragment_fixes: int  # fragments turned back
    dt: float  # time step actually used (ASE time units)


def escape_md(
    potential: CountedPotential,
    x0: np.ndarray,
    e0: float,
    f0: np.ndarray,
    velocities: np.ndarray,
    masses: np.ndarray,
    dt: float,
    mdmin: int,
    max_steps: int,
    fragment_cutoff: float,
    home_radius: float = 0.0,
) -> MDOutcome:
    """Velocity Verlet from the minimum x0 until `mdmin` minima of E_pot have been passed.

    A minimum of E_pot is where dE_pot/dt = -F.v turns from negative to positive. When no atom
    of the last one is further than home_radius from x0 the run reports home=True: the
    trajectory came back into the start basin, the escape failed. (At earlier minima of E_pot a
    trajectory near x0 may still leave: on LJ13, 47 of 249 escapes were within 0.3 x NN of x0
    at their first minimum; none were at their second.) When the total energy
    departs from its start by more than the initial kinetic energy, the run restarts from x0
    with half the time step. An atom group that separates from the largest fragment (graph
    cutoff fragment_cutoff) and moves away has the outward part of its velocity reversed (an
    elastic wall, as in Goedecker-group codes), so escapes do not evaporate atoms.
    """
    inv_m = 1.0 / masses[:, None]
    ekin0 = 0.5 * float(np.sum(masses[:, None] * velocities**2))
    restarts = 0
    while True:
        x, v, e, f = x0.copy(), velocities.copy(), e0, f0
        etot0 = e + ekin0
        etot_range = [etot0, etot0]
        epot_range = [e, e]
        sign_before = -1.0  # leaving a minimum: E_pot rises first
        n_minima, n_fixes, best_x, home = 0, 0, x0, False
        blew_up = False
        for _ in range(max_steps):
            x_previous, e_previous = x, e
            x = x + dt * v + 0.5 * dt * dt * f * inv_m
            e, f_new = potential(x)
            v = v + 0.5 * dt * (f + f_new) * inv_m
            f = f_new
            count, labels = fragment_labels(x, fragment_cutoff)
            if count > 1:
                v, fixed = _turn_back_fragments(x, v, masses, labels)
                n_fixes += fixed
            ekin = 0.5 * float(np.sum(masses[:, None] * v**2))
            etot = e + ekin
            if not np.isfinite(etot) or abs(etot - etot0) > max(ekin0, 1e-12):
                blew_up = True
                break
            etot_range = [min(etot_range[0], etot), max(etot_range[1], etot)]
            epot_range = [min(epot_range[0], e), max(epot_range[1], e)]
            sign = float(np.sign(np.vdot(f, v)))  # dE_pot/dt = -F.v
            if sign_before > 0.0 and sign <= 0.0:
                n_minima += 1
                best_x = x_previous if e_previous < e else x
                if n_minima >= mdmin:
                    home = np.sqrt(((best_x - x0) ** 2).sum(axis=1)).max() < home_radius
                    break
            if sign != 0.0:
                sign_before = sign
        if not blew_up:
            drift = (etot_range[1] - etot_range[0]) / max(epot_range[1] - epot_range[0], 1e-12)
            final = best_x if n_minima else x
            return MDOutcome(final, home, drift, restarts, n_fixes, dt)
        restarts += 1
        dt *= 0.5
        if restarts > 20:
            raise RuntimeError("escape MD: energy not conserved even with a 1e-6 smaller time step")


def _turn_back_fragments(
    x: np.ndarray, v: np.ndarray, masses: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, int]:
    main = np.bincount(labels).argmax()
    centre = np.average(x[labels == main], axis=0, weights=masses[labels == main])
    v = v.copy()
    fixed = 0
    for label in set(labels.tolist()) - {main}:
        members = labels == label
        com = np.average(x[members], axis=0, weights=masses[members])
        com_v = np.average(v[members], axis=0, weights=masses[members])
        outward = com - centre
        outward /= np.linalg.norm(outward)
        radial = float(com_v @ outward)
        if radial > 0.0:
            v[members] -= 2.0 * radial * outward
            fixed += 1
    momentum = (masses[:, None] * v).sum(axis=0)
    return v - momentum / masses.sum(), fixed


def relocation_move(
    positions: np.ndarray, nn: float, rng: np.random.Generator, n_directions: int = 64
) -> np.ndarray | None:
    """Move the least-coordinated atom to the most-coordinated free surface site, or None if no
    site has more neighbours than the atom has now.

    Sites: along n_directions random rays from the centre of the other atoms, the outermost point
    at distance nn from all of them (so a vacancy is found where a ray enters it). Neighbours:
    atoms within 1.3 nn.
    """
    cutoff = 1.3 * nn
    coordination = (_distances_to_others(positions) < cutoff).sum(axis=1)
    lowest = np.flatnonzero(coordination == coordination.min())
    atom = int(rng.choice(lowest))
    others = np.delete(positions, atom, axis=0)
    centre = others.mean(axis=0)
    directions = rng.normal(size=(n_directions, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    radius = np.linalg.norm(others - centre, axis=1).max() + nn
    steps = np.linspace(radius, 0.0, int(np.ceil(radius / (0.05 * nn))) + 1)
    best, best_score = None, coordination[atom]
    for u in directions:
        points = centre + steps[:, None] * u
        closest = cdist(points, others).min(axis=1)
        inside = np.flatnonzero(closest < nn)
        if not len(inside) or inside[0] == 0:
            continue
        site = points[inside[0] - 1]
        score = int((np.linalg.norm(others - site, axis=1) < cutoff).sum())
        if score > best_score:
            best, best_score = site, score
    if best is None:
        return None
    moved = positions.copy()
    moved[atom] = best
    return moved
