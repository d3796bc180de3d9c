import textwrap

import pytest

from paper_artifact.config import Config, load_config, load_profile
from paper_artifact.configtree import ConfigError
from paper_artifact.paths import CONFIG_DIR

PROFILES = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("profile", PROFILES)
def test_every_shipped_profile_loads(profile):
    cfg = load_profile(profile)
    assert isinstance(cfg, Config)
    assert cfg.profile == profile


def test_required_profiles_exist():
    assert {"smoke", "default", "dft-mini", "paper"} <= set(PROFILES)


def test_config_is_frozen(tmp_path):
    cfg = load_config(write(tmp_path, "seed: 3\n"))
    with pytest.raises(AttributeError):
        cfg.seed = 4


def test_unknown_key_names_file_and_key(tmp_path):
    path = write(tmp_path, "seed: 1\ndata:\n  trian_sizes: [13]\n")
    with pytest.raises(ConfigError, match=r"p\.yaml: unknown key 'data\.trian_sizes'"):
        load_config(path)


def test_wrong_type_names_key(tmp_path):
    path = write(tmp_path, "seed: one\n")
    with pytest.raises(ConfigError, match=r"'seed' must be an integer"):
        load_config(path)
    path = write(tmp_path, "seed: 1\ndata:\n  train_sizes: [13, x]\n")
    with pytest.raises(ConfigError, match=r"'data\.train_sizes\[1\]' must be an integer"):
        load_config(path)


def test_bool_is_not_an_integer(tmp_path):
    with pytest.raises(ConfigError, match="'seed' must be an integer"):
        load_config(write(tmp_path, "seed: true\n"))


def test_literal_choices(tmp_path):
    path = write(tmp_path, "seed: 1\nreference:\n  calculator: vasp\n")
    with pytest.raises(ConfigError, match=r"'reference\.calculator' must be one of 'gupta', 'dft'"):
        load_config(path)


def test_missing_input_file_names_key(tmp_path):
    path = write(tmp_path, "seed: 1\ndata:\n  datasets: [nowhere/missing.extxyz]\n")
    with pytest.raises(ConfigError, match=r"'data\.datasets\[0\]' points to a missing file"):
        load_config(path)


def test_missing_required_key(tmp_path):
    with pytest.raises(ConfigError, match="missing key 'seed'"):
        load_config(write(tmp_path, "description: x\n"))


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "seed: [1\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_extends_merges_parent(tmp_path):
    write(tmp_path, "seed: 5\ndata:\n  train_sizes: [13]\n  test_sizes: [14]\n", "base.yaml")
    cfg = load_config(write(tmp_path, "extends: base\ndata:\n  test_sizes: [15]\n", "child.yaml"))
    assert cfg.seed == 5
    assert cfg.data.train_sizes == (13,)
    assert cfg.data.test_sizes == (15,)


def test_train_test_overlap_rejected(tmp_path):
    path = write(tmp_path, "seed: 1\ndata:\n  train_sizes: [13, 14]\n  test_sizes: [14]\n")
    with pytest.raises(ConfigError, match="share sizes"):
        load_config(path)


def test_hash_depends_on_values_not_source(tmp_path):
    a = load_config(write(tmp_path, "seed: 1\n", "a.yaml"))
    b = load_config(write(tmp_path, "seed: 1\nprofile: a\n", "b.yaml"))
    c = load_config(write(tmp_path, "seed: 2\nprofile: a\n", "c.yaml"))
    assert a.hash() == b.hash()
    assert a.hash() != c.hash()
