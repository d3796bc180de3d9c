"""Training-data stage: ingest, candidate generation, labelling, paper filters and the size split.

Key names shared by every stage (and written to extxyz files):
- atoms.info[REF_ENERGY_KEY]: reference total energy, eV;
- atoms.arrays[REF_FORCES_KEY]: reference forces, eV/Angstrom (absent when the source had none);
- atoms.info[REF_METHOD_KEY]: the level of theory / calculator the labels come from.
"""

REF_ENERGY_KEY = "ref_energy"
REF_FORCES_KEY = "ref_forces"
REF_METHOD_KEY = "ref_method"


class DataError(ValueError):
    """Bad input structure or file; the message names the file/structure and the reason."""
