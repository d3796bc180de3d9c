import pytest

from paper_artifact.cli import main
from paper_artifact.config import load_profile
from paper_artifact.planning import (
    RELAX_FORCE_CALLS,
    CostModel,
    PowerLaw,
    estimate,
    fit_power_law,
)

CUBIC = CostModel(PowerLaw(1.0, 3.0), PowerLaw(0.5, 3.0), 100.0, (4, 13), "test")


def _by_stage(cfg, model=CUBIC):
    return {e.stage: e for e in estimate(cfg, model)}


def test_power_law_fit_recovers_exponent():
    sizes = [4, 6, 9, 13]
    law = fit_power_law(sizes, [2.5 * n**2.7 for n in sizes])
    assert law.a == pytest.approx(2.5) and law.b == pytest.approx(2.7)
    assert law(10) == pytest.approx(2.5 * 10**2.7)


def test_dft_mini_counts_what_the_stages_do():
    cfg = load_profile("dft-mini")
    stages = _by_stage(cfg)
    assert stages["data"].dft_calls == 154  # 22 candidates for each of Mg4-10
    assert stages["data"].cpu_seconds == pytest.approx(22 * sum(n**3 for n in range(4, 11)))
    sizes = cfg.refine.sizes or cfg.go.sizes
    known = sum((cfg.refine.known_gm_dir.resolve() / f"Mg{n}.extxyz").exists() for n in sizes)
    assert known == 1  # the Gaussian Mg13 GM
    relaxations = len(sizes) * cfg.refine.n_lowest + known
    screened = len(sizes) * cfg.refine.screen_lowest  # single points before the relaxations
    assert stages["refine"].dft_calls == RELAX_FORCE_CALLS * relaxations + screened
    check = cfg.dft_check
    assert stages["dft_check"].cpu_seconds == pytest.approx(check.mg13_count * 100.0)


def test_active_learning_test_count_is_separate_from_refine():
    cfg = load_profile("dft-mini")
    assert (cfg.refine.n_lowest, cfg.al_test_lowest) == (10, 3)
    separate = _by_stage(cfg)
    both = _by_stage(load_profile("dft-mini", {"active_learning": {"test_lowest": 0}}))
    assert separate["refine"].dft_calls == both["refine"].dft_calls
    rounds = cfg.active_learning.max_rounds + 1
    saved = rounds * (10 - 3) * RELAX_FORCE_CALLS
    assert both["active_learning"].dft_calls - separate["active_learning"].dft_calls == saved


def test_estimate_grows_with_the_sizes():
    small = _by_stage(load_profile("dft-mini"))
    larger = _by_stage(
        load_profile("dft-mini", {"data": {"generate_sizes": [4, 5, 6, 7, 8, 9, 10, 11, 12]}})
    )
    assert larger["data"].cpu_seconds > small["data"].cpu_seconds
    assert larger["data"].dft_calls == small["data"].dft_calls + 44


def test_gupta_reference_needs_no_dft_labels():
    stages = _by_stage(load_profile("smoke"))
    for name in ("data", "active_learning", "refine", "dft_check"):
        assert stages[name].dft_calls == 0 and stages[name].cpu_seconds == 0.0


def test_measured_cost_table_loads():
    model = CostModel.load()
    assert 2.0 < model.energy_forces.b < 4.5
    assert model.energy_forces(13) > model.energy(13) > 0.0


@pytest.mark.parametrize("profile", ["paper", "dft-mini"])
def test_plan_prints_cpu_hours_per_stage(profile, capsys):
    assert main(["plan", "--profile", profile]) == 0
    out = capsys.readouterr().out
    for stage in ("data", "active_learning", "refine", "dft_check", "total"):
        assert any(line.split()[0] == stage and "CPU h" in line for line in out.splitlines())
    assert "no DFT (GAP fits)" in out and "assumptions:" in out


def test_plan_of_gupta_profile_prints_no_dft_hours(capsys):
    assert main(["plan", "--profile", "smoke"]) == 0
    total = [line for line in capsys.readouterr().out.splitlines() if "total" in line]
    assert total and total[0].split()[1:] == ["0", "calls", "0.0", "CPU", "h"]


def test_df_memory_warning_names_sizes_beyond_half_of_max_memory():
    from paper_artifact.planning import df_memory_warning

    assert df_memory_warning(load_profile("dft-mini")) is None
    assert "Mg60" in df_memory_warning(load_profile("paper"))
    roomy = load_profile("paper", {"reference": {"dft": {"max_memory_mb": 100000}}})
    assert df_memory_warning(roomy) is None


def test_relaxation_paths_count_every_step_of_every_grown_isomer():
    single = {"reference_relax_steps": 0, "al_sizes": [10], "new_isomers_per_size": 2}
    paths = {**single, "reference_relax_steps": 12}
    one = _by_stage(load_profile("dft-mini", {"active_learning": single}))["active_learning"]
    many = _by_stage(load_profile("dft-mini", {"active_learning": paths}))["active_learning"]
    max_rounds = load_profile("dft-mini").active_learning.max_rounds
    assert many.dft_calls - one.dft_calls == max_rounds * 2 * 12
