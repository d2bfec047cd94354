"""Alertmanager notifier against a local HTTP receiver: v2 body, endsAt at send time, 400 is permanent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from monitor.clock import NS_PER_S, ManualClock
from monitor.errors import PermanentDeliveryError, RetryableDeliveryError
from monitor.notify.alertmanager import AlertmanagerNotifier
from monitor.records import AlertState
from monitor.secret import Secret
from tests.unit.notify.notify_helpers import T0, Receiver, event, notification


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def test_posts_v2_alerts_with_ends_at_from_the_send_time(receiver: Receiver) -> None:
    """Firing: endsAt is the send time + 4 re-send intervals (a late delivery is not born expired)."""
    clock = ManualClock(start_ns=T0)
    clock.advance(600)  # delivered ten minutes after the event, e.g. after an outage
    am = AlertmanagerNotifier("am", Secret(receiver.base + "/"), clock=clock, resend_s=30)
    resolved = event(state=AlertState.RESOLVED, symbol="ETHUSDT", event_ns=T0 + 90 * NS_PER_S)
    await am.notify(notification("am", event(), resolved))
    await am.close()
    [req] = receiver.requests
    assert req["path"] == "/api/v2/alerts"
    firing, gone = req["json"]
    assert firing == {
        "labels": dict(event().labels),
        "annotations": dict(event().annotations),
        "startsAt": "2023-11-14T22:13:20.000Z",
        "endsAt": "2023-11-14T22:25:20.000Z",  # T0 + 600 s + 4 × 30 s
        "generatorURL": "",
    }
    assert (gone["labels"]["symbol"], gone["endsAt"]) == ("ETHUSDT", "2023-11-14T22:14:50.000Z")


@pytest.mark.parametrize(("status", "kind"), [(400, PermanentDeliveryError), (503, RetryableDeliveryError)])
async def test_rejection_is_permanent_outage_is_retried(
    receiver: Receiver, status: int, kind: type[Exception]
) -> None:
    """A 400 (Alertmanager refused the batch) will not fix itself; a 503 will."""
    receiver.responder = lambda _n: web.Response(status=status, text="start time must be before end time")
    am = AlertmanagerNotifier("am", Secret(receiver.base), clock=ManualClock())
    with pytest.raises(kind):
        await am.notify(notification("am"))
    await am.close()
