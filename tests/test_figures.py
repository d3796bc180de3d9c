import numpy as np
import pandas as pd
import pytest
from ase.cluster import Icosahedron

from paper_artifact.figures import (
    fig3_accuracy,
    fig4_refinement,
    fig5_com_profiles,
    fig6_binding_energy,
    fig7_lattice_motifs,
)
from paper_artifact.figures.common import write, write_table
from paper_artifact.figures.structure_pictures import render_all
from paper_artifact.structures import random_cluster
from paper_artifact.tables import table1_refined_gm, table2_go_gm
from paper_artifact.units import E_MG1_PAPER_EV, KCAL_MOL_EV


def mackay(shells):
    return Icosahedron("Mg", shells, latticeconstant=3.2 * np.sqrt(2.0))


def with_binding_energy(atoms, e_bond_total_kcal):
    atoms = atoms.copy()
    atoms.info["energy_ev"] = len(atoms) * E_MG1_PAPER_EV + e_bond_total_kcal * KCAL_MOL_EV
    return atoms


def assert_labelled(fig):
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert visible
    for ax in visible:
        assert ax.get_xlabel() and ax.get_ylabel()
    assert any(ax.get_legend() is not None for ax in visible)


def structures_table(rng):
    rows = []
    for n, split in [(28, "train"), (41, "test"), (48, "train"), (54, "test")]:
        ref = rng.uniform(-19.0, -17.0, size=30)
        rows += [
            {
                "n_atoms": n,
                "split": split,
                "e_bond_ref_kcal": r,
                "e_bond_gap_kcal": r + rng.normal(scale=0.1),
            }
            for r in ref
        ]
    return pd.DataFrame(rows)


def test_fig3_metrics_by_hand_and_plot(tmp_path):
    structures = pd.DataFrame(
        {
            "n_atoms": [30, 30, 30],
            "split": ["train"] * 3,
            "e_bond_ref_kcal": [1.0, 2.0, 3.0],
            "e_bond_gap_kcal": [1.1, 2.1, 2.9],
        }
    )
    metrics = fig3_accuracy.metrics_from_structures(structures)
    assert metrics.loc[0, "rmse_kcal_mol_atom"] == pytest.approx(0.1)
    # x = 1, 2, 3; y = 1.1, 2.1, 2.9: r = cov / (sx sy) = 0.9 / sqrt(2 * 1.64 / 4 * 2 / ...).
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.1, 2.1, 2.9])
    r = np.sum((x - x.mean()) * (y - y.mean())) / np.sqrt(
        np.sum((x - x.mean()) ** 2) * np.sum((y - y.mean()) ** 2)
    )
    assert metrics.loc[0, "pearson_r"] == pytest.approx(r)

    per_structure = structures_table(np.random.default_rng(0))
    df = fig3_accuracy.compute(fig3_accuracy.metrics_from_structures(per_structure), per_structure)
    assert set(df["kind"]) == {"metric", "regression"}
    fig = fig3_accuracy.plot(df)
    assert_labelled(fig)
    paths = write(df, fig, tmp_path, "fig3")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig3.csv", "fig3.pdf", "fig3.png"]


def test_fig4(tmp_path):
    rng = np.random.default_rng(1)
    refinement = pd.DataFrame(
        [
            {
                "n_atoms": n,
                "isomer_rank_gap": k,
                "e_bond_gap_kcal": -19 + 0.02 * k,
                "e_bond_ref_kcal": -19 + rng.normal(scale=0.05),
                "rank_ref": k,
            }
            for n in (42, 44, 46, 52)
            for k in range(10)
        ]
    )
    metastable = pd.DataFrame(
        [
            {"n_atoms": n, "start": s, "n_minima": int(rng.integers(400, 600))}
            for n in (42, 44, 46, 52)
            for s in range(5)
        ]
    )
    known = pd.DataFrame(
        {
            "n_atoms": [42, 44],
            "source": ["ref29", "ref28"],
            "e_bond_kcal": [-793.16 / 42, -844.37 / 44],
        }
    )
    df = fig4_refinement.compute(refinement, metastable, known)
    assert df.loc[df["kind"] == "isomer", "in_comparison"].sum() == 30
    fig = fig4_refinement.plot(df)
    assert_labelled(fig)
    write(df, fig, tmp_path, "fig4")
    with pytest.raises(ValueError, match="refinement"):
        fig4_refinement.compute(refinement.drop(columns="rank_ref"), metastable)


def test_fig5_core_line(tmp_path):
    df = fig5_com_profiles.compute({13: mackay(2), 55: mackay(3)})
    assert df.groupby("n_atoms")["core_size"].first().to_dict() == {13: 1, 55: 13}
    assert df.groupby("n_atoms")["rank"].max().to_dict() == {13: 13, 55: 55}
    fig = fig5_com_profiles.plot(df)
    assert_labelled(fig)
    write(df, fig, tmp_path, "fig5")


def test_fig6_minima_and_second_difference(tmp_path):
    sizes = list(range(39, 49))
    per_atom = {n: -18.0 - 0.04 * n + (-0.1 if n in (40, 44, 47) else 0.0) for n in sizes}
    rows = [
        {"n_atoms": n, "source": "reference", "kind": "gm", "e_bond_kcal": e}
        for n, e in per_atom.items()
    ]
    rows += [
        {"n_atoms": n, "source": "gap", "kind": "gm", "e_bond_kcal": e + 0.05}
        for n, e in per_atom.items()
    ]
    rows += [
        {"n_atoms": n, "source": "reference", "kind": "isomer", "e_bond_kcal": e + 0.1}
        for n, e in per_atom.items()
    ]
    df = fig6_binding_energy.compute(pd.DataFrame(rows))
    ref = df[(df["source"] == "reference") & (df["kind"] == "gm")].set_index("n_atoms")
    assert sorted(ref.index[ref["local_minimum"]]) == [40, 44, 47]
    # Hand value at n = 44: totals E(n) = n e(n); D2 = E(45) + E(43) - 2 E(44).
    expected = 45 * per_atom[45] + 43 * per_atom[43] - 2 * 44 * per_atom[44]
    assert ref.loc[44, "second_difference_kcal"] == pytest.approx(expected)
    assert np.isnan(ref.loc[39, "second_difference_kcal"])
    fig = fig6_binding_energy.plot(df)
    assert_labelled(fig)
    write(df, fig, tmp_path, "fig6")


def test_fig7_threshold_recorded(tmp_path):
    gms = {13: mackay(2), 20: random_cluster(20, np.random.default_rng(2))}
    df = fig7_lattice_motifs.compute(gms)
    assert len(df) == 2 * 4 * 3
    assert df["separation_threshold"].nunique() == 1
    assert df["fraction_equal"].between(0.0, 1.0).all()
    assert (df["fraction_similar"] >= df["fraction_equal"]).all()
    fig = fig7_lattice_motifs.plot(df)
    assert_labelled(fig)
    write(df, fig, tmp_path, "fig7")


def test_table1_reproduces_paper_deltas(tmp_path):
    rng = np.random.default_rng(3)
    refined = {
        42: with_binding_energy(random_cluster(42, rng), -783.7),
        49: with_binding_energy(random_cluster(49, rng), -954.05),
    }
    known = pd.DataFrame(
        {
            "n_atoms": [42, 42, 49],
            "source": ["Mueller", "Goedecker-Kanhere", "Mueller"],
            "e_bond_total_kcal": [-790.78, -793.16, -955.16],
            "point_group": ["C1", "C1", "C1"],
        }
    )
    table = table1_refined_gm.compute(refined, known).set_index("n_atoms")
    assert table.loc[42, "e_bond_total_kcal"] == pytest.approx(-783.7)
    # Paper text: 0.225 (Mg42) and 0.023 (Mg49) kcal/(mol atom).
    assert table.loc[42, "delta_e_per_atom_kcal"] == pytest.approx(0.225, abs=5e-4)
    assert table.loc[49, "delta_e_per_atom_kcal"] == pytest.approx(0.023, abs=5e-4)
    assert table.loc[42, "best_known_source"] == "Goedecker-Kanhere"
    assert np.isnan(table.loc[49, "Goedecker-Kanhere e_bond_total_kcal"])
    assert (table["point_group"] == "C1").all()
    paths = write_table(table.reset_index(), tmp_path, "table1")
    assert "n_atoms" in paths["md"].read_text().splitlines()[0]


def test_table2_and_pictures(tmp_path):
    gms = {55: with_binding_energy(mackay(3), -1100.0)}
    table = table2_go_gm.compute(gms)
    assert table.loc[0, "point_group"] == "Ih"
    assert table.loc[0, "core_size"] == 13
    assert table.loc[0, "e_bond_per_atom_kcal"] == pytest.approx(-20.0)
    written = render_all(gms, tmp_path)
    assert written[55]["cluster"].stat().st_size > 0 and written[55]["core"].exists()


def test_size_axes_have_integer_ticks_and_fig7_keeps_its_threshold_under_the_profile_title():
    from paper_artifact.config import load_profile
    from paper_artifact.stages.figures import titled

    gms = {12: random_cluster(12, np.random.default_rng(4)), 13: mackay(2)}
    df = fig7_lattice_motifs.compute(gms)
    fig = titled(fig7_lattice_motifs.plot(df), load_profile("smoke"))
    fig.canvas.draw()
    ticks = [
        t for ax in fig.axes for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]
    ]
    assert ticks and all(float(t).is_integer() for t in ticks)  # no 12.25 atoms
    title = fig.get_suptitle()
    assert title.startswith("smoke profile; reference: Gupta")
    assert f"{df['separation_threshold'].iloc[0]:.4f}" in title


def test_figure_gms_take_a_lower_known_gm_and_gap_gms_of_unrefined_sizes():
    from paper_artifact.stages.figures import binding_energies, lowest_gms

    rng = np.random.default_rng(6)
    ours = {n: with_binding_energy(random_cluster(n, rng), -20.0 * n) for n in (40, 41)}
    known = {
        40: with_binding_energy(random_cluster(40, rng), -20.1 * 40),  # lower: the GM
        41: with_binding_energy(random_cluster(41, rng), -20.0 * 41),  # a tie: ours stays
    }
    gap = {n: with_binding_energy(random_cluster(n, rng), -19.0 * n) for n in (40, 41, 57)}
    gms, sources = lowest_gms(ours, known, gap)
    assert gms[40] is known[40] and gms[41] is ours[41] and gms[57] is gap[57]
    assert sources == {
        40: "known GM, reference-relaxed",
        41: "ours, reference-relaxed",
        57: "GAP GM, not refined",
    }
    refined = pd.DataFrame({"n_atoms": [40, 40, 41], "e_bond_ref_kcal": [-20.0, -19.9, -20.0]})
    known_e = pd.DataFrame({"n_atoms": [40, 41], "e_bond_kcal": [-20.1, -20.0]})
    rows = binding_energies(refined, gap, E_MG1_PAPER_EV, known_e)
    reference = rows[rows.source == "reference"]
    gm = reference[reference.kind == "gm"].set_index("n_atoms").e_bond_kcal
    assert gm.to_dict() == pytest.approx({40: -20.1, 41: -20.0})
    assert sorted(reference.kind) == ["gm", "gm", "isomer", "isomer", "known_gm"]
    assert rows[rows.source == "gap"].e_bond_kcal.tolist() == pytest.approx([-19.0] * 3)
