"""Slack, Discord, Telegram and ntfy requests pass the checks the real services make (chat_apis.py)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import pytest

from monitor.clock import LiveClock
from monitor.config import ReceiverConfig
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.records import AlertEvent, AlertState, Severity
from monitor.secret import Secret
from tests.unit.notify.chat_apis import NTFY_TOPIC, ChatApis
from tests.unit.notify.notify_helpers import T0, event

KINDS = ("slack", "discord", "telegram", "ntfy")


@pytest.fixture
async def apis() -> AsyncIterator[ChatApis]:
    a = ChatApis()
    await a.start()
    yield a
    await a.stop()


def awkward(
    symbol: str, state: AlertState = AlertState.FIRING, severity: Severity = Severity.CRITICAL
) -> AlertEvent:
    """Labels and text a chat API could choke on: mentions, markup, non-ASCII, a long summary."""
    ev = event(state=state, severity=severity, symbol=symbol, event_ns=T0 + 3)
    summary = "margin <@everyone> <!channel> & **bold** `code` désk 💥 " + "x" * 200
    labels = {**ev.labels, "account": "désk-ü"}
    return msgspec.structs.replace(ev, labels=labels, annotations={**ev.annotations, "summary": summary})


@pytest.mark.parametrize("kind", KINDS)
async def test_every_message_is_accepted_by_the_service_checks(
    kind: str, apis: ChatApis, tmp_path: Path
) -> None:
    """A page, a 300-alert burst (over every size limit until truncated) and a resolution all get a 2xx."""
    cfg = ReceiverConfig(
        name="chat",
        type=kind,  # type: ignore[arg-type]
        url_env="CHAT_URL",
        chat_id="-1001234567890" if kind == "telegram" else None,
        messages_per_minute=600,
    )
    clock = LiveClock()
    notifiers = build_notifiers((cfg,), {"chat": Secret(apis.urls()[kind])}, clock=clock)
    d = Dispatcher(
        (cfg,), notifiers, Outbox(tmp_path / "o.db"), clock, backoff_initial_s=0.01, backoff_max_s=0.02
    )
    ticks = [
        [awkward("BTCUSDT", severity=Severity.PAGE)],
        [awkward(f"C{i:03d}USDT") for i in range(300)],
        [awkward("BTCUSDT", state=AlertState.RESOLVED, severity=Severity.PAGE)],
    ]
    worker = asyncio.create_task(d.run())
    try:
        for i, evs in enumerate(ticks):  # one at a time: a backlog would merge into one message
            await d.submit(evs, T0 + i)
            assert await d.flush(10)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await d.close()
    assert apis.refused == {}, "the service would have refused these"
    assert d.given_up_total == {"chat": 0} and d.failed_total == {}
    assert len(apis.accepted[kind]) == 3 and d.sent_total == {"chat": 3}
    burst = json.dumps(apis.accepted[kind][1], ensure_ascii=False)
    assert "C000USDT" in burst and re.search(r"… \d+ more alerts", burst), "cut to the limit, and says so"


async def test_the_stand_ins_refuse_what_the_services_refuse(apis: ChatApis) -> None:
    """Each stand-in answers 400 to a request its service rejects, so the test above can fail."""
    urls = apis.urls()
    bad: list[tuple[str, str, dict[str, object] | bytes, dict[str, str]]] = [
        ("slack", urls["slack"], {"attachments": [{"text": "no top-level text"}]}, {}),
        ("slack", urls["slack"], {"text": "x", "attachments": [{"color": "red"}]}, {}),
        ("discord", urls["discord"], {"content": "x" * 2001}, {}),
        ("discord", urls["discord"], {"content": ""}, {}),
        ("telegram", urls["telegram"] + "/sendMessage", {"text": "no chat"}, {}),
        ("telegram", urls["telegram"] + "/sendMessage", {"chat_id": "-1", "text": "x" * 4097}, {}),
        ("ntfy", urls["ntfy"], b"hello", {"Priority": "9"}),
        ("ntfy", f"{apis.base}/{NTFY_TOPIC}", b"x" * 5000, {}),
    ]
    async with aiohttp.ClientSession() as s:
        for _api, url, body, headers in bad:
            if isinstance(body, bytes):
                resp = await s.post(url, data=body, headers=headers)
            else:
                resp = await s.post(url, json=body, headers=headers)
            assert resp.status == 400, (url, body if isinstance(body, dict) else body[:20])
        ok = await s.post(urls["telegram"] + "/sendMessage", json={"chat_id": -1, "text": "fine"})
        assert ok.status == 200 and (await ok.json())["ok"] is True
    assert {api: len(why) for api, why in apis.refused.items()} == {
        "slack": 2,
        "discord": 2,
        "telegram": 2,
        "ntfy": 2,
    }
