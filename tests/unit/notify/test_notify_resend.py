"""Re-sends to Alertmanager receivers: the firing set on a cadence, resolutions for 5 min, severity swaps."""

from __future__ import annotations

from pathlib import Path

from monitor.clock import NS_PER_S
from monitor.config import LevelConfig, ReceiverConfig, RuleConfig
from monitor.notify import Dispatcher, Outbox
from monitor.notify.model import Notification
from monitor.notify.resend import RESEND_GROUP, Resender
from monitor.records import AlertState, Figure, FigureKey, Figures
from monitor.rules import HEARTBEAT_ALERTNAME, RuleEngine
from tests.acceptance.alert_timeline import KEY
from tests.acceptance.test_alert_timeline import margin_rule
from tests.unit.notify.notify_helpers import T0, event

AM = ReceiverConfig(name="am", type="alertmanager", url_env="AM_URL")
HOOK = ReceiverConfig(name="hook", type="webhook", url_env="HOOK_URL")
FEED = FigureKey(name="feed_stale", venue="binance", stream="account:desk1")
STALE = RuleConfig(
    name="StaleFeed", figure="feed_stale", op=">", levels=(LevelConfig(severity="warning", threshold=0.5),)
)


class Recorder:
    """A notifier that never runs here (no workers); `resend_s` is what makes the dispatcher re-send."""

    def __init__(self, name: str, resend_s: float = 0.0) -> None:
        self.name = name
        self.resend_s = resend_s

    async def notify(self, n: Notification) -> None:  # pragma: no cover - workers are not started
        raise AssertionError("not used")


async def drive(
    tmp_path: Path,
    rules: tuple[RuleConfig, ...],
    script: dict[FigureKey, list[tuple[int, float]]],
    until: int,
) -> tuple[Dispatcher, RuleEngine, list[Notification]]:
    """Tick once a second; submit every tick with `firing=engine.announced`; return what was enqueued."""
    outbox = RecordingOutbox(tmp_path / "o.db")
    d = Dispatcher((AM, HOOK), {"am": Recorder("am", 10.0), "hook": Recorder("hook")}, outbox, _Clock())
    engine = RuleEngine(rules, heartbeat_s=0.0)
    for t in range(until + 1):
        now = T0 + t * NS_PER_S
        items = {}
        for key, points in script.items():
            value = [v for at, v in points if at <= t][-1]
            items[key] = Figure(value=value, unit="ratio", ts_ns=now)
        await d.submit(engine.step(Figures(taken_at_ns=now, items=items), now), now, firing=engine.announced)
    notes = [n for n in outbox.enqueued if n.receiver == "am"]
    assert [n.group_key for n in outbox.enqueued if n.receiver == "hook"].count(RESEND_GROUP) == 0
    return d, engine, notes


class RecordingOutbox(Outbox):
    """Keeps every notification handed to it (the outbox itself collapses superseded repeats)."""

    enqueued: list[Notification]

    def enqueue(self, notifications: list[Notification]) -> int:
        self.__dict__.setdefault("enqueued", []).extend(notifications)
        return super().enqueue(notifications)


class _Clock:
    def now_ns(self) -> int:
        return T0

    def monotonic_ns(self) -> int:
        return 0

    async def sleep(self, seconds: float) -> None:  # pragma: no cover
        pass


def summary(notes: list[Notification]) -> list[tuple[int, str, list[tuple[str, str]]]]:
    return [
        (
            (n.created_ns - T0) // NS_PER_S,
            "resend" if n.group_key == RESEND_GROUP else n.reason.value,
            [(a.state.value, a.severity.label) for a in n.alerts],
        )
        for n in notes
    ]


async def test_firing_set_is_resent_every_interval_and_resolution_for_five_minutes(tmp_path: Path) -> None:
    """Fire at 0, re-sent every 10 s while firing; resolved at 25, re-sent until 5 minutes after that."""
    _, _, notes = await drive(tmp_path, (margin_rule(for_s=0),), {KEY: [(0, 0.85), (25, 0.5)]}, 340)
    got = summary(notes)
    assert got[:4] == [
        (0, "first", [("firing", "warning")]),
        (10, "resend", [("firing", "warning")]),
        (20, "resend", [("firing", "warning")]),
        (25, "new_resolved", [("resolved", "warning")]),
    ]
    resends = [t for t, kind, alerts in got[4:] if kind == "resend" and alerts == [("resolved", "warning")]]
    assert resends == list(range(30, 321, 10)) and len(got) == 4 + len(resends)
    assert len({n.idempotency_key for n in notes}) == len(notes), "each re-send is a new event, never refused"
    assert notes[1].alerts[0].event_ns == T0 + 10 * NS_PER_S


async def test_severity_change_resolves_the_old_severity_at_once(tmp_path: Path) -> None:
    """Alertmanager keys alerts by all labels: escalating to critical resolves the warning in that tick."""
    _, _, notes = await drive(tmp_path, (margin_rule(for_s=0),), {KEY: [(0, 0.85), (3, 0.92)]}, 5)
    assert summary(notes) == [
        (0, "first", [("firing", "warning")]),  # the first tick's re-send skips what it just told
        (3, "new_alerts", [("firing", "critical")]),
        (3, "resend", [("resolved", "warning")]),
    ]
    assert notes[-1].alerts[0].labels["severity"] == "warning"


async def test_muted_alert_is_resent_as_last_told_and_new_state_follows_the_mute(tmp_path: Path) -> None:
    """During a stale-feed mute re-sends repeat the told warning; the escalation follows the feed's return."""
    script = {KEY: [(0, 0.85), (12, 0.92)], FEED: [(0, 0.0), (5, 1.0), (35, 0.0)]}
    _, _, notes = await drive(tmp_path, (STALE, margin_rule(for_s=0)), script, 40)
    margin = [
        ((n.created_ns - T0) // NS_PER_S, kind, [(a.state.value, a.severity.label) for a in mine])
        for (_, kind, _), n in zip(summary(notes), notes, strict=True)
        if (mine := [a for a in n.alerts if a.labels["alertname"] == "MarginRatioHigh"])
    ]
    during = [alerts for t, kind, alerts in margin if 5 <= t < 35]
    assert during and all(a == [("firing", "warning")] for a in during), margin
    assert (35, "new_alerts", [("firing", "critical")]) in margin


def test_resender_skips_the_started_notice_and_resends_what_was_told_without_an_engine() -> None:
    """Without a firing view the told set is re-sent; the one-shot restart notice is left to expire."""
    rs = Resender(every_s=60)
    started = RuleEngine(()).started(T0)[0]
    firing = event(event_ns=T0)
    assert rs.observe([started, firing], T0) == []
    assert rs.due(T0)
    [again] = rs.resend(T0 + 1, None)
    assert (again.fingerprint, again.event_ns) == (firing.fingerprint, T0 + 1)
    assert not rs.due(T0 + 59 * NS_PER_S) and rs.due(T0 + 61 * NS_PER_S)


def test_heartbeat_is_announced_for_resends_and_routed_to_alertmanager() -> None:
    """The Watchdog stays alive in Alertmanager between heartbeats; chat receivers still do not get it."""
    engine = RuleEngine((), heartbeat_s=120)
    assert engine.announced() == []
    engine.step(Figures(taken_at_ns=T0, items={}), T0)
    [hb] = engine.announced()
    assert hb.labels["alertname"] == HEARTBEAT_ALERTNAME and hb.state is AlertState.FIRING
    d = Dispatcher(
        (AM, HOOK), {"am": Recorder("am", 10.0), "hook": Recorder("hook")}, Outbox(":memory:"), _Clock()
    )
    assert [n.receiver for n in d.build([hb], T0)] == ["am"]


class RefusingOnceOutbox(RecordingOutbox):
    """Refuses the write at `refuse_at` (a full disk for one tick), then stores as usual."""

    refuse_at: int = -1

    def enqueue(self, notifications: list[Notification]) -> int:
        if notifications and notifications[0].created_ns == self.refuse_at:
            self.refuse_at = -1
            raise OSError("disk full")
        return super().enqueue(notifications)


async def test_a_refused_escalation_is_stored_next_tick_with_the_old_severitys_resolution(
    tmp_path: Path,
) -> None:
    """The escalation tick's write fails; submitted again, it still carries the warning's resolution.

    The resolution is built from the re-send bookkeeping, which moved on while the refused batch was
    built; without putting it back, the retry found the critical already "sent" and Alertmanager kept
    the warning firing until its endsAt.
    """
    outbox = RefusingOnceOutbox(tmp_path / "o.db")
    outbox.refuse_at = T0 + 3 * NS_PER_S
    d = Dispatcher((AM, HOOK), {"am": Recorder("am", 10.0), "hook": Recorder("hook")}, outbox, _Clock())
    engine = RuleEngine((margin_rule(for_s=0),), heartbeat_s=0.0)
    held: list = []
    for t, value in enumerate((0.85, 0.85, 0.85, 0.92, 0.92)):
        now = T0 + t * NS_PER_S
        events = engine.step(
            Figures(taken_at_ns=now, items={KEY: Figure(value=value, unit="ratio", ts_ns=now)}), now
        )
        batch = [*held, *events]  # what Daemon.submit does with a refused batch
        try:
            await d.submit(batch, now, firing=engine.announced)
            held = []
        except OSError:
            held = batch
    got = summary([n for n in outbox.enqueued if n.receiver == "am"])
    assert got == [
        (0, "first", [("firing", "warning")]),
        (4, "new_alerts", [("firing", "critical")]),
        (4, "resend", [("resolved", "warning")]),
    ]
