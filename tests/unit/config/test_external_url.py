"""`[http] external_url`: where alerts point a person; checked at start, named by its key."""

from __future__ import annotations

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("perpmon.desk.example", "http:// or https://"),
        ("ftp://perpmon.desk.example", "http:// or https://"),
        ("https://desk:hunter2@perpmon.desk.example", "must not carry a login"),
        ("https://perpmon.desk.example/?token=x", "query"),
    ],
)
def test_a_bad_external_url_fails_fast_with_its_key(url: str, why: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"http": {"external_url": url}}, {})
    assert str(err.value).startswith("http.external_url: ") and why in str(err.value)
    assert "hunter2" not in str(err.value)


def test_a_good_one_is_kept() -> None:
    cfg, _ = parse_config({"http": {"external_url": "https://perpmon.desk.example:8443/desk"}}, {})
    assert cfg.http.external_url == "https://perpmon.desk.example:8443/desk"
