"""The configuration loader: the example file is valid, and bad files name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ENV_CONFIG, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "writein.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_with_every_section() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.relay.languages == ("en", "ru", "uk")
    assert [q.id for q in config.intake.questions] == ["relation", "topic"]
    assert config.data_dir == ROOT / "data"
    assert config.store_url == str(ROOT / "data" / "writein.db")


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.telegram.mode == "polling"
    assert config.data_dir == tmp_path / "data"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"relay\.delete_ingestd: unknown key"):
        load_config(write(tmp_path, "[relay]\ndelete_ingestd = false\n"))


def test_bad_value_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"relay\.max_attachment_mb"):
        load_config(write(tmp_path, "[relay]\nmax_attachment_mb = 50\n"))


def test_unknown_language_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"relay\.languages\.1"):
        load_config(write(tmp_path, '[relay]\nlanguages = ["en", "de"]\n'))


def test_choice_question_without_choices(tmp_path: Path) -> None:
    text = '[[intake.questions]]\nid = "x"\nkind = "choice"\nprompt = { en = "?" }\n'
    with pytest.raises(ConfigError, match=r"intake\.questions\.0.*needs choices"):
        load_config(write(tmp_path, text))


def test_webhook_mode_needs_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"webhook\.url is required"):
        load_config(write(tmp_path, '[telegram]\nmode = "webhook"\n'))


def test_base_dir_cannot_be_injected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="base_dir: unknown key"):
        load_config(write(tmp_path, 'base_dir = "/etc"\n'))


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[relay\n"))


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config FILE"):
        load_config(tmp_path / "nope.toml")


def test_environment_variable_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[relay]\nallow_voice = true\n")
    monkeypatch.setenv(ENV_CONFIG, str(path))
    assert load_config().relay.allow_voice is True


def test_default_name_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "[console]\nlock_after_minutes = 3\n")
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_config().console.lock_after_minutes == 3


@pytest.mark.parametrize("value", ['"no"', '"false"', "0", "1"])
def test_booleans_are_strict(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"relay\.allow_voice: Input should be a valid boolean"):
        load_config(write(tmp_path, f"[relay]\nallow_voice = {value}\n"))
    question = "[[intake.questions]]\nid = 'x'\nkind = 'text'\nprompt = { en = '?' }\n"
    text = f"{question}optional = {value}\n"
    with pytest.raises(ConfigError, match=r"intake\.questions\.0\.optional: Input should be"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o664, 0o620])
def test_a_configuration_others_may_change_is_refused(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path, "")
    path.chmod(mode)
    with pytest.raises(ConfigError, match=rf"mode {mode:04o}.*chmod go-w") as refused:
        load_config(path)
    assert refused.value.exit_code == 2
    path.chmod(0o644)  # others may read it: it holds no secret
    assert load_config(path).relay.allow_voice is False


def test_a_folder_is_not_a_configuration(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the configuration: is a directory"):
        load_config(tmp_path)


def test_start_attempts_default_and_bounds(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).telegram.start_attempts == 10
    with pytest.raises(ConfigError, match=r"telegram\.start_attempts"):
        load_config(write(tmp_path, "[telegram]\nstart_attempts = 0\n"))
