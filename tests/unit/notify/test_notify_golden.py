"""Golden renderings: what each channel sends for a liquidation, a margin, a funding and a stale-feed
alert, firing and resolved, after the context step; and 50 grouped alerts within every channel's limits.

The golden files are the review surface: read them to see what a desk gets on a phone. Regenerate
after an intended change with `PERPMON_UPDATE_GOLDEN=1 pytest tests/unit/notify/test_notify_golden.py`
and read the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog

from monitor.notify.console import ConsoleNotifier
from monitor.notify.discord import DiscordNotifier
from monitor.notify.model import Notification
from monitor.notify.ntfy import MAX_BODY, NtfyNotifier
from monitor.notify.slack import SlackNotifier
from monitor.notify.telegram import TelegramNotifier
from monitor.notify.webhook import alertmanager_payload
from monitor.records import AlertState
from tests.unit.notify import chat_apis
from tests.unit.notify.alert_scenarios import CASES, annotated, grouped, notification

GOLDEN = Path(__file__).resolve().parents[2] / "testdata" / "golden" / "alerts"
STATES = (AlertState.FIRING, AlertState.RESOLVED)


async def _console(n: Notification) -> Any:
    with structlog.testing.capture_logs() as logs:
        await ConsoleNotifier("desk").notify(n)
    return logs


def _ntfy(n: Notification) -> Any:
    return {"headers": NtfyNotifier.headers(n), "body": NtfyNotifier.message(n)}


RENDER: dict[str, Callable[[Notification], Any]] = {
    "slack": SlackNotifier.payload,
    "discord": DiscordNotifier.payload,
    "telegram": lambda n: TelegramNotifier.payload(n, "-1001234567890"),
    "ntfy": _ntfy,
    "webhook": alertmanager_payload,
}


def _text(rendered: Any) -> str:
    return json.dumps(rendered, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PERPMON_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} changed: regenerate and read the diff"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("state", STATES, ids=lambda s: s.value)
@pytest.mark.parametrize("channel", [*RENDER, "console"])
async def test_rendering_matches_golden(channel: str, case: str, state: AlertState) -> None:
    """Each channel's message for each alert, firing and resolved, is the reviewed golden text."""
    n = notification(annotated(case, state))
    rendered = await _console(n) if channel == "console" else RENDER[channel](n)
    _check(f"{channel}-{case}-{state.value}.json", _text(rendered))


def test_liquidation_alert_reads_like_a_desk_wrote_it() -> None:
    """Human values, not floats: the lock-screen title names book, leg, distance, and the context follows."""
    n = notification(annotated("liquidation", AlertState.FIRING))
    headers = NtfyNotifier.headers(n)
    assert headers["Priority"] == "4" and headers["Click"] == "https://perpmon.example/status"
    body = NtfyNotifier.message(n)
    for text in (
        "degen BTCUSDT is 4.92 % from liquidation (critical below 5.00 %)",
        "Position: long 2 BTC ($208,503)",
        "Mark: 104,251.4",  # at BTCUSDT's 0.1 tick: six significant digits would read 104,251
        "Liquidation price: 99,122.6",
        "Distance to liquidation: 4.92 % · 1.34 σ",
        "Margin ratio: 61.2 % (cross; 100 % liquidates)",
        "Top-up: $11,843 survives a 20.0 % adverse move",
    ):
        assert text in body
    assert not re.search(r"\d\.\d{7,}", json.dumps(RENDER["slack"](n))), "no raw float reaches a person"


def test_funding_and_stale_alerts_carry_their_context() -> None:
    """Funding shows the rate per interval and a year, the interval and the carry; a stale feed how long."""
    funding = NtfyNotifier.message(notification(annotated("funding", AlertState.FIRING)))
    assert "binance BTCUSDT funding runs at 328.5 % a year: longs pay" in funding
    assert "Funding: 0.300 % per 8 h · 328.5 % a year" in funding
    assert "Next funding: in 2 h 13 min" in funding
    assert "Book carry: the BTC book pays $1,234 a day" in funding
    stale = NtfyNotifier.message(notification(annotated("stale", AlertState.FIRING)))
    assert "Silent for: 2 min 5 s" in stale
    resolved = NtfyNotifier.message(notification(annotated("stale", AlertState.RESOLVED)))
    assert "Lasted: 12 min 34 s" in resolved


def _limits(channel: str, rendered: Any) -> str | None:
    """What the service would refuse (tests/unit/notify/chat_apis.py), or None."""
    if channel == "slack":
        return chat_apis._slack(rendered)
    if channel == "discord":
        bad = chat_apis._discord(rendered)
        return None if bad is None else bad[1]
    if channel == "telegram":
        return chat_apis._telegram(rendered)
    if channel == "ntfy":
        if len(rendered["body"].encode()) > MAX_BODY or not all(
            v.isascii() for v in rendered["headers"].values()
        ):
            return "ntfy: body over 4096 bytes or a header not ASCII"
        return None
    return None


@pytest.mark.parametrize("channel", ["slack", "discord", "telegram", "ntfy"])
def test_fifty_grouped_alerts_stay_within_the_channel_limits(channel: str) -> None:
    """50 alerts grouped: the service accepts it, the most severe shows, and what is cut is counted."""
    n = grouped(50)
    rendered = RENDER[channel](n)
    assert _limits(channel, rendered) is None
    text = json.dumps(rendered, ensure_ascii=False)
    assert "desk-00" in text, "the most severe alert (a critical liquidation) comes first"
    shown = len({int(a or b) for a, b in re.findall(r"desk-(\d{2})|C(\d{3})USDT", text)})
    cut = re.search(r"… (\d+) more alerts", text)
    assert shown == 50 or (cut is not None and shown + int(cut.group(1)) >= 50), (
        "every alert shown or counted"
    )


@pytest.mark.parametrize("channel", ["slack", "discord", "telegram", "ntfy"])
def test_a_few_alerts_get_the_full_form_within_limits(channel: str) -> None:
    """Up to a handful of alerts each keep their context (fields, embeds, lines) and still fit."""
    n = notification(*(annotated(c, AlertState.FIRING) for c in CASES))
    rendered = RENDER[channel](n)
    assert _limits(channel, rendered) is None
    text = json.dumps(rendered, ensure_ascii=False)
    assert "99,122.6" in text and "Silent for" in text and "328.5 % a year" in text
