"""Slack, Discord, Telegram and ntfy against a local HTTP receiver: format, pacing, no secret leaks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import structlog
from aiohttp import web

from monitor.clock import ManualClock
from monitor.config import ReceiverConfig
from monitor.errors import PermanentDeliveryError, RetryableDeliveryError
from monitor.notify import Dispatcher, Notifier, Outbox, build_notifiers
from monitor.notify.discord import DiscordNotifier
from monitor.notify.ntfy import NtfyNotifier
from monitor.notify.slack import SlackNotifier
from monitor.notify.telegram import TelegramNotifier
from monitor.records import AlertState, Severity
from monitor.secret import Secret
from tests.unit.notify.notify_helpers import T0, TOKEN, Receiver, event, notification

Make = Callable[[str, ManualClock], Notifier]

MAKERS: dict[str, Make] = {
    "slack": lambda url, c: SlackNotifier("s", Secret(url), clock=c),
    "discord": lambda url, c: DiscordNotifier("d", Secret(url), clock=c),
    "telegram": lambda url, c: TelegramNotifier("t", Secret(url), chat_id="-100123", clock=c),
    "ntfy": lambda url, c: NtfyNotifier("n", Secret(url), clock=c),
}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def _send(kind: str, receiver: Receiver, *alerts: object) -> dict[str, object]:
    notifier = MAKERS[kind](receiver.url(), ManualClock())
    await notifier.notify(notification("r", *alerts))  # type: ignore[arg-type]
    await notifier.close()  # type: ignore[attr-defined]
    return receiver.requests[-1]


async def test_slack_format_escapes_and_colours(receiver: Receiver) -> None:
    """Slack gets a title, a severity-coloured attachment, and labels escaped so `<` cannot make links."""
    ev = event()
    ev = type(ev)(
        **{**{f: getattr(ev, f) for f in ev.__struct_fields__}, "annotations": {"summary": "a <b> & c"}}
    )
    req = await _send("slack", receiver, ev)
    body = req["json"]
    assert isinstance(body, dict)
    assert body["text"] == "CRITICAL: a &lt;b&gt; &amp; c"
    [att] = body["attachments"]
    shown = json.dumps(att["blocks"], ensure_ascii=False)
    assert att["color"] == "#d00000" and "a &lt;b&gt; &amp; c" in shown and "a <b>" not in shown


async def test_discord_disables_mentions_and_bolds_title(receiver: Receiver) -> None:
    """Discord content is the bold title, the alert an embed, and no mention is allowed."""
    req = await _send("discord", receiver, event())
    body = req["json"]
    assert isinstance(body, dict)
    assert body["content"] == "**CRITICAL: margin ratio high on BTCUSDT**"
    assert [e["title"] for e in body["embeds"]] == ["🔴 margin ratio high on BTCUSDT"]
    assert body["allowed_mentions"] == {"parse": []}


async def test_telegram_posts_send_message_to_chat(receiver: Receiver) -> None:
    """Telegram calls <base>/sendMessage with the chat id and HTML (every value escaped)."""
    req = await _send("telegram", receiver, event())
    assert req["path"] == f"/hooks/{TOKEN}/sendMessage"
    body = req["json"]
    assert isinstance(body, dict)
    assert body["chat_id"] == "-100123" and body["parse_mode"] == "HTML"
    assert body["text"].startswith("🔴 <b>CRITICAL: margin ratio high on BTCUSDT</b>\n")


async def test_ntfy_maps_severity_to_priority(receiver: Receiver) -> None:
    """A page rings as ntfy priority 5; a resolved-only message is low priority."""
    req = await _send("ntfy", receiver, event(severity=Severity.PAGE))
    headers = req["headers"]
    assert isinstance(headers, dict)
    assert (headers["Title"], headers["Priority"]) == ("PAGE: margin ratio high on BTCUSDT", "5")
    assert str(req["text"]).startswith("🚨 FIRING page MarginRatioHigh")
    req = await _send("ntfy", receiver, event(state=AlertState.RESOLVED))
    assert req["headers"]["Priority"] == "2"  # type: ignore[index]


@pytest.mark.parametrize("kind", sorted(MAKERS))
async def test_failing_endpoint_leaks_no_secret(kind: str, receiver: Receiver) -> None:
    """A 500 echoing the token, then a dead endpoint: the token is in no exception or log line."""
    receiver.responder = lambda _n: web.Response(status=500, text=f"error for /hooks/{TOKEN}/sendMessage")
    notifier = MAKERS[kind](receiver.url(), ManualClock())
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(RetryableDeliveryError) as first:
            await notifier.notify(notification())
        await receiver.stop()
        with pytest.raises(RetryableDeliveryError) as second:
            await notifier.notify(notification())
    await notifier.close()  # type: ignore[attr-defined]
    text = f"{first.value!r} {second.value!r} {second.value.reason} {notifier!r} {logs!r}"
    assert second.value.reason.startswith("connection_error") and TOKEN not in text


@pytest.mark.parametrize(
    ("kind", "reply", "wait"),
    [
        ("telegram", '{"ok":false,"error_code":429,"parameters":{"retry_after":35}}', 35.0),
        ("discord", '{"message":"You are being rate limited.","retry_after":1.5,"global":false}', 1.5),
    ],
)
async def test_retry_after_from_json_body(kind: str, reply: str, wait: float, receiver: Receiver) -> None:
    """Telegram and Discord put the wait in the JSON body; it becomes retry_after_s."""
    receiver.responder = lambda _n: web.Response(status=429, text=reply, content_type="application/json")
    notifier = MAKERS[kind](receiver.url(), ManualClock())
    with pytest.raises(RetryableDeliveryError) as info:
        await notifier.notify(notification())
    await notifier.close()  # type: ignore[attr-defined]
    assert info.value.retry_after_s == wait


async def test_telegram_unknown_chat_is_permanent(receiver: Receiver) -> None:
    """`chat not found` (400) will not fix itself: permanent, not retried forever."""
    receiver.responder = lambda _n: web.Response(
        status=400, text='{"ok":false,"description":"chat not found"}'
    )
    notifier = MAKERS["telegram"](receiver.url(), ManualClock())
    with pytest.raises(PermanentDeliveryError):
        await notifier.notify(notification())
    await notifier.close()  # type: ignore[attr-defined]


async def test_telegram_burst_is_paced_and_overflow_merged(tmp_path: Path, receiver: Receiver) -> None:
    """Once the chat's bucket is empty, the backlog waits for a token and goes out as one merged message."""
    clock = ManualClock()
    cfg = ReceiverConfig(
        name="tg",
        type="telegram",
        url_env="TG_URL",
        chat_id="-1",
        messages_per_minute=20,
        group_by=("symbol",),
    )
    url = Secret(receiver.url())
    d = Dispatcher(
        (cfg,), build_notifiers((cfg,), {"tg": url}, clock=clock), Outbox(tmp_path / "o.db"), clock
    )
    task = asyncio.create_task(d.run())
    start = clock.monotonic_ns()
    for i in range(5):  # the burst allowance: 20/min → 5 at once
        await d.submit([event(symbol=f"B{i}USDT", event_ns=T0 + i)], T0 + i)
        assert await d.flush(5)
    assert clock.monotonic_ns() - start < 10**6  # the burst went out at once
    await d.submit([event(symbol=f"S{i:02d}USDT", event_ns=T0 + 10) for i in range(20)], T0 + 10)
    assert await d.flush(5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await d.close()
    texts = [r["json"]["text"] for r in receiver.requests]
    assert len(texts) == 6 and d.sent_total == {"tg": 25} and d.merged_total == {"tg": 20}
    assert texts[-1].startswith("<b>[FIRING:20] MarginRatioHigh (critical)</b>")
    assert all(f"S{i:02d}USDT" in texts[-1] for i in range(20))
    # the sixth send is due one interval (3 s at 20/min) after the burst began, not before
    assert clock.monotonic_ns() - start >= 3 * 10**9


@pytest.mark.parametrize("kind", ["webhook", "ntfy", "alertmanager"])
async def test_messages_per_minute_paces_any_http_receiver(kind: str, receiver: Receiver) -> None:
    """Unpaced by default; `messages_per_minute` paces every HTTP integration, not only the chats."""
    clock = ManualClock()
    free = ReceiverConfig(name="free", type=kind, url_env="U")  # type: ignore[arg-type]
    paced = ReceiverConfig(name="paced", type=kind, url_env="U", messages_per_minute=4)  # type: ignore[arg-type]
    url = Secret(receiver.url())
    built = build_notifiers((free, paced), {"free": url, "paced": url}, clock=clock)
    for _ in range(10):
        await built["free"].notify(notification())
    await built["paced"].notify(notification())  # the bucket holds one message at 4/min
    with pytest.raises(RetryableDeliveryError) as info:
        await built["paced"].notify(notification())
    assert (info.value.reason, info.value.retry_after_s) == ("rate_limited", pytest.approx(15.0))
    clock.advance(15.0)
    await built["paced"].notify(notification())
    for n in built.values():
        await n.close()  # type: ignore[attr-defined]
    assert len(receiver.requests) == 12
