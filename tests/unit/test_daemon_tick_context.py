"""Daemon.tick annotates what it hands over: the events of its tick and the firing set re-sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from monitor.app import Daemon
from monitor.clock import ManualClock
from monitor.config import parse_config
from monitor.records import AlertEvent, Figures
from tests.unit.notify.alert_scenarios import tick_figures

CONFIG: dict[str, Any] = {
    "http": {"port": 0},
    "evaluation": {"heartbeat_s": 0.0, "shock": 0.2},
    "receivers": [{"name": "desk", "type": "console"}],
    "rules": [
        {
            "name": "LiquidationDistance",
            "figure": "liquidation_distance_ratio",
            "op": "<",
            "levels": [{"severity": "critical", "threshold": 0.05}],
            "summary": "{account} {symbol} is {value} from liquidation",
        }
    ],
}


class _Capture:
    def __init__(self) -> None:
        self.batches: list[list[AlertEvent]] = []
        self.firing: list[Sequence[AlertEvent]] = []

    async def submit(
        self, batch: list[AlertEvent], now: int, firing: Callable[[], Sequence[AlertEvent]] | None = None
    ) -> None:
        self.batches.append(list(batch))
        if firing is not None:
            self.firing.append(firing())


async def test_tick_hands_over_annotated_events(tmp_path: Path) -> None:
    """The tick's event and Alertmanager's re-sent firing set read the same human words."""
    cfg, secrets = parse_config({**CONFIG, "state_dir": str(tmp_path)}, {})
    d = Daemon(cfg, secrets, clock=ManualClock())
    capture = _Capture()
    d.dispatcher = capture  # type: ignore[assignment]

    def evaluate(snapshot: object, now: int, models: object) -> Figures:
        figs = tick_figures(False)
        return Figures(taken_at_ns=now, items=figs.items)

    d.evaluator.evaluate = evaluate  # type: ignore[method-assign]
    await d.tick()
    [[ev]] = capture.batches
    [[again]] = capture.firing
    for e in (ev, again):
        assert e.annotations["summary"] == "degen BTCUSDT is 4.92 % from liquidation"
        assert e.annotations["topup"] == "$11,843 survives a 20.0 % adverse move"


async def test_alerts_link_to_the_status_page_where_the_config_says_a_person_reaches_it(
    tmp_path: Path,
) -> None:
    """`[http] external_url` becomes each alert's `url` (the chat button, ntfy's click target); without
    it there is no link, never one to a loopback address a phone cannot open."""
    for external, want in (
        ("https://perpmon.desk.example/", "https://perpmon.desk.example/status"),
        (None, None),
    ):
        http = {"port": 0, **({"external_url": external} if external else {})}
        cfg, secrets = parse_config({**CONFIG, "http": http, "state_dir": str(tmp_path)}, {})
        d = Daemon(cfg, secrets, clock=ManualClock())
        capture = _Capture()
        d.dispatcher = capture  # type: ignore[assignment]
        d.evaluator.evaluate = lambda snap, now, models: Figures(  # type: ignore[method-assign]
            taken_at_ns=now, items=tick_figures(False).items
        )
        await d.tick()
        [[ev]] = capture.batches
        [[again]] = capture.firing
        assert ev.annotations.get("url") == again.annotations.get("url") == want
