"""The config file: where it is, what it holds, a bad file named by file and key."""

from __future__ import annotations

import tomllib

import pytest

from calls.config import Config, ConfigError, UiConfig, config_path, load_config, save_setting


def test_the_file_lives_in_the_user_config_folder_or_where_the_variable_says(tmp_path,
                                                                            monkeypatch):
    # conftest gives every test its own XDG_CONFIG_HOME.
    assert config_path().name == "config.toml"
    assert config_path().parent.name == "carecall"
    monkeypatch.setenv("CARECALL_CONFIG", str(tmp_path / "mine.toml"))
    assert config_path() == tmp_path / "mine.toml"


def test_a_missing_file_is_the_defaults(tmp_path):
    config = load_config(tmp_path / "none.toml")
    assert config.keymap == {} and config.ui == UiConfig(theme=None)
    assert config == Config(path=tmp_path / "none.toml")


def test_keymap_and_theme_are_read(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[keymap]\ncall-no-answer = "N"\n"call-notes" = "ctrl+t,f2"\n\n'
                    '[ui]\ntheme = "gruvbox"\n')
    config = load_config(path)
    assert config.keymap == {"call-no-answer": "N", "call-notes": "ctrl+t,f2"}
    assert config.ui.theme == "gruvbox"
    assert config.path == path


@pytest.mark.parametrize(("text", "message"), [
    ("[ui]\ntheme = 3\n", "[ui] theme must be text in quotes, not 3"),
    ("[ui]\ncolour = \"red\"\n", "[ui] colour: unknown setting (known: theme)"),
    ("[colours]\na = 1\n", "unknown section [colours]"),
    ("[keymap]\ncall-skip = true\n", "[keymap] call-skip must be text in quotes, not True"),
    ("[keymap]\ncall.skip = \"S\"\n", "[keymap] call: a nested table; write the key in quotes"),
    ("ui = \"dark\"\n", "ui must be a table ([ui])"),
    ("[ui\ntheme = 1\n", "not valid TOML"),
])
def test_a_bad_file_is_one_line_naming_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"config file {path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_folder_or_unreadable_bytes_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe[ui]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_saving_a_setting_keeps_the_rest_of_the_file(tmp_path):
    path = tmp_path / "config.toml"
    original = ('# my keys\n[keymap]\ncall-skip = "S"  # skip is shift+s\n\n'
                '[ui]\n# the look\ntheme = "nord"\n\n# more to come\n')
    path.write_text(original)
    save_setting("ui", "theme", "gruvbox", path)
    text = path.read_text()
    assert text == original.replace('theme = "nord"', 'theme = "gruvbox"')
    assert load_config(path).ui.theme == "gruvbox"


def test_saving_adds_the_setting_or_the_section(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    save_setting("ui", "theme", 'odd "name"', path)   # the folder and file are created
    assert tomllib.loads(path.read_text()) == {"ui": {"theme": 'odd "name"'}}
    path.write_text('[keymap]\ncall-skip = "S"\n\n[ui]\n\n[other]\n')
    save_setting("ui", "theme", "nord", path)
    assert path.read_text() == '[keymap]\ncall-skip = "S"\n\n[ui]\ntheme = "nord"\n\n[other]\n'
    path.write_text('[keymap]\ncall-skip = "S"\n')
    save_setting("ui", "theme", "nord", path)
    assert tomllib.loads(path.read_text()) == {"keymap": {"call-skip": "S"},
                                               "ui": {"theme": "nord"}}


def test_saving_never_spoils_a_file_it_cannot_parse(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[ui\n")
    with pytest.raises(ConfigError, match="cannot write"):
        save_setting("ui", "theme", "nord", path)
    assert path.read_text() == "[ui\n"
