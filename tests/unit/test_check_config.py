"""`perpmon check-config` refuses what the daemon would refuse at start, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main

RULE = 'figure = "margin_ratio"\nop = ">"\n'
WARN = 'levels = [{ severity = "warning", threshold = 0.5 }]\n'
CASES = {
    "levels not rising": (
        f'[[rules]]\nname = "A"\n{RULE}levels = [{{ severity = "critical", threshold = 0.5 }},'
        ' { severity = "warning", threshold = 0.8 }]\n',
        "rules[0].levels[1].severity",
    ),
    "duplicate name": (
        f'[[rules]]\nname = "A"\n{RULE}levels = [{{ severity = "warning", threshold = 0.5 }}]\n' * 2,
        "rules[1].name",
    ),
    "reserved name": (
        f'[[rules]]\nname = "PerpmonWatchdog"\n{RULE}{WARN}',
        "rules[0].name",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_only_start_would_catch_is_refused(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rule-compiler errors exit 2 with the key path, as `perpmon run` would (ExecStartPre relies on it)."""
    text, key = CASES[case]
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert main(["check-config", "--config", str(path)]) == 2
    assert f"config error: {key}:" in capsys.readouterr().err


def test_a_sound_file_still_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One valid rule and a console receiver: exit 0."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[[rules]]\nname = "A"\n{RULE}levels = [{{ severity = "warning", threshold = 0.5 }}]\n'
        '[[receivers]]\nname = "c"\ntype = "console"\n'
    )
    assert main(["check-config", "--config", str(path)]) == 0
    assert "is valid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://hooks.example:8o80/hooks/T0KEN-s3cr3t", "port is not a number"),
        ("https://hooks.example:99999/hooks/T0KEN-s3cr3t", "port is not a number"),
        ("ftp://hooks.example/hooks/T0KEN-s3cr3t", "scheme must be http or https"),
        ("https:///hooks/T0KEN-s3cr3t", "no host"),
    ],
)
def test_an_unusable_receiver_url_is_refused_without_echoing_it(
    url: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A webhook URL that can never be posted to exits 2 naming the variable's key, not the URL."""
    monkeypatch.setenv("DESK_URL", url)
    path = tmp_path / "config.toml"
    path.write_text('[[receivers]]\nname = "desk"\ntype = "webhook"\nurl_env = "DESK_URL"\n')
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "config error: receivers[0].url_env:" in err and reason in err and "DESK_URL" in err
    assert "T0KEN-s3cr3t" not in err and "8o80" not in err


def test_a_missing_mqtt_tls_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check-config` reads the broker's CA file as `perpmon run` would, and names the key when it cannot."""
    path = tmp_path / "config.toml"
    path.write_text(f'[mqtt]\nenabled = true\ntls = true\nca_file = "{tmp_path / "gone.pem"}"\n')
    assert main(["check-config", "--config", str(path)]) == 2
    assert "config error: mqtt.ca_file: cannot read" in capsys.readouterr().err
