"""Secret: a value that shows itself only through `reveal()`, whatever prints, formats or serialises it."""

from __future__ import annotations

import json
import logging
import pickle

import msgspec
import pytest

from monitor.secret import REDACTED, Secret, redact_text, redact_url, url_problem

TOKEN = "xoxb-1234-s3cr3t-token"


def test_every_way_of_printing_it_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """repr, str, f-strings and format() with a spec, containers and stdlib logging."""
    s = Secret(TOKEN)
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("token %s in %r", s, {"k": s})
    shown = [repr(s), str(s), f"{s}", f"{s:>40}", format(s, "<10"), str([s]), str({"k": s}), caplog.text]
    assert all(TOKEN not in text for text in shown)
    assert REDACTED in str(s) and s.reveal() == TOKEN


def test_it_cannot_be_serialised_by_accident() -> None:
    """JSON, msgpack and pickle refuse it instead of writing the value out."""
    s = Secret(TOKEN)
    with pytest.raises(TypeError):
        json.dumps({"k": s})
    with pytest.raises(TypeError):
        msgspec.json.encode({"k": s})
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_urls_keep_only_scheme_and_host() -> None:
    """A webhook URL's token lives in its path, query or userinfo: all of it goes."""
    url = f"https://user:pw@hooks.slack.com:8443/services/T0/B0/{TOKEN}?token={TOKEN}#x"
    assert redact_url(url) == f"https://hooks.slack.com:8443/{REDACTED}"
    assert redact_url("not a url") == REDACTED
    text = f"POST {url} failed: 404 for /services/T0/B0/{TOKEN}"
    assert TOKEN not in redact_text(text, [Secret(TOKEN)]) and "404" in redact_text(text, [Secret(TOKEN)])
    assert redact_text("nothing here", [Secret("")]) == "nothing here"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://hooks.example:8o80/x/{TOKEN}", f"https://hooks.example:<bad-port>/{REDACTED}"),
        (f"https://hooks.example:70000/x/{TOKEN}", f"https://hooks.example:<bad-port>/{REDACTED}"),
        (f"https://[::1/x/{TOKEN}", REDACTED),
        ("", REDACTED),
    ],
)
def test_redact_url_never_raises(url: str, shown: str) -> None:
    """It runs on the error paths: a bad port must give a redacted text, not a second exception."""
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"https://hooks.example/x/{TOKEN}", ""),
        (f"http://127.0.0.1:8080/x/{TOKEN}", ""),
        (f"https://hooks.example:8o80/x/{TOKEN}", "port is not a number from 0 to 65535"),
        (f"ftp://hooks.example/x/{TOKEN}", "scheme must be http or https"),
        (f"hooks.example/x/{TOKEN}", "scheme must be http or https"),
        (f"https:///x/{TOKEN}", "no host"),
        (f"https://[::1/x/{TOKEN}", "not a URL"),
        (f"https://hooks.example/x/{TOKEN}\n", "contains whitespace or control characters"),
    ],
)
def test_url_problem_says_why_without_the_url(url: str, problem: str) -> None:
    """Each unusable receiver URL gets a reason; no reason quotes the URL or its token."""
    assert url_problem(url) == problem
    assert TOKEN not in url_problem(url)
