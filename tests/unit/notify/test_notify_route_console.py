"""Routing by label matchers, the heartbeat's opt-in routing, the console notifier and the builder."""

from __future__ import annotations

import pytest
import structlog

from monitor.clock import ManualClock
from monitor.config import ReceiverConfig
from monitor.errors import ConfigError
from monitor.notify import NOTIFIERS, build_notifiers
from monitor.notify.console import ConsoleNotifier
from monitor.notify.render import body, rfc3339, title
from monitor.notify.route import Router
from monitor.records import AlertState, Figures, Severity
from monitor.rules import HEARTBEAT_ALERTNAME, RuleEngine
from monitor.secret import Secret
from tests.unit.notify.notify_helpers import event, notification

ALL = ReceiverConfig(name="all", type="console")
ETH = ReceiverConfig(name="eth", type="console", match={"symbol": "ETHUSDT"})
DMS = ReceiverConfig(name="dms", type="console", match={"alertname": HEARTBEAT_ALERTNAME})


def test_route_by_equality_matchers() -> None:
    """Empty match takes everything; a matcher takes only equal labels."""
    r = Router((ALL, ETH, DMS))
    assert r.route(event(symbol="BTCUSDT")) == ["all"]
    assert r.route(event(symbol="ETHUSDT")) == ["all", "eth"]


def test_heartbeat_goes_only_to_receivers_that_ask_for_it() -> None:
    """The always-firing watchdog never reaches catch-all receivers (desk chats)."""
    hb = RuleEngine((), heartbeat_s=60).step(Figures(taken_at_ns=0, items={}), 0)[0]
    assert Router((ALL, ETH, DMS)).route(hb) == ["dms"]


async def test_console_logs_firing_and_resolved() -> None:
    """Firing alerts log as `alert firing` at their severity's level, resolved ones at info."""
    n = notification(
        "ops",
        event(),
        event(state=AlertState.RESOLVED, symbol="ETHUSDT"),
        event(severity=Severity.WARNING, symbol="SOLUSDT"),
        event(severity=Severity.INFO, symbol="XRPUSDT"),
        event(severity=Severity.PAGE, symbol="DOGEUSDT"),
    )
    with structlog.testing.capture_logs() as logs:
        await ConsoleNotifier("ops").notify(n)
    assert [(e["event"], e["log_level"], e["symbol"]) for e in logs] == [
        ("alert firing", "error", "BTCUSDT"),
        ("alert resolved", "info", "ETHUSDT"),
        ("alert firing", "warning", "SOLUSDT"),
        ("alert firing", "info", "XRPUSDT"),
        ("alert firing", "critical", "DOGEUSDT"),
    ]
    assert (logs[0]["alertname"], logs[0]["severity"], logs[0]["value"]) == (
        "MarginRatioHigh",
        "critical",
        "0.91",
    )


def test_render_title_and_body() -> None:
    """Titles count firing alerts and name the top severity; bodies list firing first."""
    n = notification("ops", event(state=AlertState.RESOLVED, symbol="ETHUSDT"), event())
    assert title(n) == "[FIRING critical] MarginRatioHigh · binance desk1 BTCUSDT"
    assert body(n).splitlines()[0] == (
        "🔴 FIRING critical MarginRatioHigh [binance desk1]: margin ratio high on BTCUSDT"
    )
    two = notification("ops", event(), event(symbol="ETHUSDT"))
    assert title(two) == "[FIRING:2] MarginRatioHigh (critical)"
    assert rfc3339(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123Z"


def test_build_notifiers_uses_the_one_dict() -> None:
    """Every configured type has a factory; a webhook without its URL is a config error."""
    hook = ReceiverConfig(name="h", type="webhook", url_env="H_URL")
    built = build_notifiers((ALL, hook), {"h": Secret("http://127.0.0.1:1/x")}, clock=ManualClock())
    assert set(built) == {"all", "h"} and {"console", "webhook"} <= set(NOTIFIERS)
    with pytest.raises(ConfigError):
        build_notifiers((hook,), {}, clock=ManualClock())
