"""The log output itself: secrets given at start and listenKeys issued at run time never reach it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from monitor.log import add_secrets, configure_logging
from monitor.secret import Secret

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"  # Binance's doc example
LISTEN_KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"


@pytest.fixture
def json_log(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """JSON logs to stderr as `perpmon run` configures them (configured inside the test phase, where
    capsys owns sys.stderr), then structlog's defaults again."""
    try:
        yield capsys
    finally:
        structlog.reset_defaults()


def start() -> None:
    configure_logging("info", "json", [Secret(KEY), Secret("hunter2-secret")])


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.strip()]


def test_configured_secrets_are_redacted_in_fields_and_tracebacks(
    json_log: pytest.CaptureFixture[str],
) -> None:
    """A key in a field and a secret in an exception's text: both replaced, the rest kept."""
    start()
    log = structlog.get_logger("t")
    log.warning("request failed", error=f"GET /api?apiKey={KEY} 401")
    try:
        raise RuntimeError("signature for hunter2-secret rejected")
    except RuntimeError:
        log.exception("task crashed", task="binance.account.desk")
    text = json_log.readouterr().err
    assert KEY not in text and "hunter2-secret" not in text
    first, second = (json.loads(x) for x in text.splitlines())
    assert first["error"] == "GET /api?apiKey=<redacted> 401"
    assert "RuntimeError: signature for <redacted> rejected" in str(second["exception"])


@pytest.mark.parametrize(
    "leak",
    [
        f"wss://fstream.binance.com/private/ws?listenKey={LISTEN_KEY}",
        f"wss://fstream.binance.com/ws/{LISTEN_KEY}",
        f'{{"listenKey":"{LISTEN_KEY}"}}',
        f"binanceusdm PUT https://fapi.binance.com/fapi/v1/listenKey listenKey={LISTEN_KEY}",
    ],
)
def test_a_listen_key_issued_at_run_time_is_redacted(json_log: pytest.CaptureFixture[str], leak: str) -> None:
    """Not on any list: recognised by where ccxt and websockets put it (URL path, query, JSON body)."""
    start()
    structlog.get_logger("t").warning("user data stream failed", error=leak)
    (line,) = lines(json_log)
    assert LISTEN_KEY not in json.dumps(line) and "<redacted>" in str(line["error"])


def test_ordinary_text_is_left_alone(json_log: pytest.CaptureFixture[str]) -> None:
    """Stream names and long symbols are not mistaken for keys."""
    start()
    msg = "wss://fstream.binance.com/market/stream btcusdt@markPrice@1s 1000SHIBUSDT"
    structlog.get_logger("t").info("connected", url=msg)
    assert lines(json_log)[0]["url"] == msg


def test_a_secret_nested_in_a_field_is_redacted(json_log: pytest.CaptureFixture[str]) -> None:
    """Dicts, lists, tuples and exception objects are walked; their other values are kept as they were."""
    start()
    structlog.get_logger("t").warning(
        "request failed",
        request={"url": f"https://h/x?apiKey={KEY}", "attempt": 2, "headers": [("X-MBX-APIKEY", KEY)]},
        errors=[ValueError(f"bad key {KEY}"), {"deep": {"deeper": (f"hunter2-secret {KEY}",)}}],
        plain=ValueError("nothing secret"),
    )
    (line,) = lines(json_log)
    text = json.dumps(line)
    assert KEY not in text and "hunter2-secret" not in text
    assert line["request"] == {
        "url": "https://h/x?apiKey=<redacted>",
        "attempt": 2,
        "headers": [["X-MBX-APIKEY", "<redacted>"]],
    }
    assert line["errors"] == [
        "ValueError: bad key <redacted>",
        {"deep": {"deeper": ["<redacted> <redacted>"]}},
    ]
    assert line["plain"] == "ValueError('nothing secret')"  # untouched: rendered as before


def test_secrets_added_later_are_redacted_and_earlier_ones_stay(json_log: pytest.CaptureFixture[str]) -> None:
    """What a config reload does: a receiver URL first seen in the new file is redacted from then on."""
    start()
    url = "https://hooks.example/services/T0/B0/n3w-s3cr3t-t0ken"
    log = structlog.get_logger("t")
    add_secrets([Secret(url), Secret("n3w-s3cr3t-t0ken")])
    log.warning("post failed", error=f"POST {url}: 500", detail={"path": "/services/T0/B0/n3w-s3cr3t-t0ken"})
    log.warning("still secret", error=f"apiKey={KEY}")
    first, second = lines(json_log)
    assert first["error"] == "POST <redacted>: 500"
    assert first["detail"] == {"path": "/services/T0/B0/<redacted>"}
    assert second["error"] == "apiKey=<redacted>"
