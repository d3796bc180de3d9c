from ase.io import read

from paper_artifact.configtree import PROJECT_ROOT
from paper_artifact.data.gaussian_mg13 import lowest_distinct_minima

MINIMA = PROJECT_ROOT / "data" / "reference" / "mg13_bp86_631gd_minima.extxyz"


def test_lowest_distinct_minima_takes_lowest_frame_of_each_rank():
    frames = read(MINIMA, ":")
    chosen = lowest_distinct_minima(frames, 3)
    assert [int(a.info["unique_minimum_rank"]) for a in chosen] == [0, 1, 2]
    for atoms in chosen:
        rank = atoms.info["unique_minimum_rank"]
        same = [f.info["energy_hartree"] for f in frames if f.info["unique_minimum_rank"] == rank]
        assert atoms.info["energy_hartree"] == min(same)
    # the global minimum of SOURCES.md
    assert chosen[0].info["energy_hartree"] == -2601.163726
