"""Local stand-ins for the chat APIs that refuse a malformed request the way the real service does.

A recording receiver proves only that we sent what the test expects; these check what the
service itself checks (its documented limits and required fields) and answer 400 otherwise, so a
payload one character over Discord's limit, a Telegram message without `chat_id`, or an ntfy
priority out of range fails delivery here as it would in production.

- Slack incoming webhook (api.slack.com/messaging/webhooks): JSON; `text` required (`no_text`),
  ≤ 40 000 chars; attachments ≤ 100 with a hex or named `color`, `mrkdwn_in` ⊆ pretext/text/fields;
  Block Kit (api.slack.com/reference/block-kit): ≤ 50 blocks, a header's plain text ≤ 150, a
  section's text ≤ 3000 and ≤ 10 fields of ≤ 2000, a button's url ≤ 3000; 200 `ok`, 400
  `invalid_payload` / `invalid_blocks`.
- Discord execute webhook (discord.com/developers/docs/resources/webhook): JSON; some content
  (50006 "Cannot send an empty message"); `content` ≤ 2000 (50035); `allowed_mentions.parse` ⊆
  roles/users/everyone; ≤ 10 embeds, title ≤ 256, description ≤ 4096, ≤ 25 fields of name ≤ 256
  and value ≤ 1024, footer ≤ 2048, ≤ 6000 characters across the embeds, `color` an integer; 204.
- Telegram sendMessage (core.telegram.org/bots/api#sendmessage): `/bot<token>/sendMessage`, JSON,
  `chat_id` int or string, `text` 1–4096 chars after entity parsing, `parse_mode` one of
  HTML/Markdown/MarkdownV2 if given; with HTML, only the documented tags, balanced ("can't parse
  entities"), and `&`, `<`, `>` escaped elsewhere; `{"ok": true, "result": {...}}`, else
  `{"ok": false, "error_code": 400, "description": ...}`.
- ntfy publish (docs.ntfy.sh/publish): POST `/<topic>`, topic `[-_A-Za-z0-9]{1,64}`; message in the
  body (≤ 4096 bytes, larger becomes an attachment); `Priority` 1–5 or min/low/default/high/max/urgent
  (40007 "invalid priority"); header values ASCII; 200 with the message as JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["ChatApis"]

SLACK_PATH = "/services/T0000/B0000/slacksecretXYZ"
DISCORD_PATH = "/api/webhooks/1234567890/discordsecretXYZ"
TELEGRAM_TOKEN = "123456:telegramsecretXYZ"
NTFY_TOPIC = "perpmon_desk-phone"

_COLOUR = re.compile(r"^(#[0-9a-fA-F]{6}|good|warning|danger)$")
_PRIORITIES = {"1", "2", "3", "4", "5", "min", "low", "default", "high", "max", "urgent"}


def _slack(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "invalid_payload"
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return "no_text"
    if len(text) > 40_000:
        return "invalid_payload"
    atts = body.get("attachments", [])
    if not isinstance(atts, list) or len(atts) > 100:
        return "invalid_attachments"
    for a in atts:
        if not isinstance(a, dict) or not _COLOUR.match(str(a.get("color", "good"))):
            return "invalid_attachments"
        if not set(a.get("mrkdwn_in", [])) <= {"pretext", "text", "fields"}:
            return "invalid_attachments"
        if not isinstance(a.get("text", ""), str):
            return "invalid_attachments"
        if _slack_blocks(a.get("blocks", [])) is not None:
            return "invalid_blocks"
    return _slack_blocks(body.get("blocks", []))


def _slack_blocks(blocks: Any) -> str | None:
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for b in blocks:
        kind = b.get("type")
        if kind == "header" and (b["text"]["type"] != "plain_text" or len(b["text"]["text"]) > 150):
            return "invalid_blocks"
        if kind == "section":
            if len(b.get("text", {}).get("text", "")) > 3000:
                return "invalid_blocks"
            fields = b.get("fields", [])
            if len(fields) > 10 or any(len(f["text"]) > 2000 for f in fields):
                return "invalid_blocks"
        if kind == "actions" and any(len(e.get("url", "")) > 3000 for e in b["elements"]):
            return "invalid_blocks"
        if kind not in ("header", "section", "context", "actions", "divider"):
            return "invalid_blocks"
    return None


def _discord(body: Any) -> tuple[int, str] | None:
    if not isinstance(body, dict) or not (body.get("content") or body.get("embeds")):
        return 50006, "Cannot send an empty message"
    content = body.get("content", "")
    if not isinstance(content, str) or len(content) > 2000:
        return 50035, "Invalid Form Body: content must be 2000 or fewer in length"
    parse = body.get("allowed_mentions", {}).get("parse", [])
    if not set(parse) <= {"roles", "users", "everyone"}:
        return 50035, "Invalid Form Body: allowed_mentions.parse"
    embeds = body.get("embeds", [])
    if len(embeds) > 10:
        return 50035, "Invalid Form Body: embeds must be 10 or fewer"
    total = 0
    for e in embeds:
        fields = e.get("fields", [])
        parts = [
            (e.get("title", ""), 256),
            (e.get("description", ""), 4096),
            (e.get("footer", {}).get("text", ""), 2048),
        ]
        parts += [(f["name"], 256) for f in fields] + [(f["value"], 1024) for f in fields]
        if len(fields) > 25 or any(len(t) > n for t, n in parts) or not isinstance(e.get("color", 0), int):
            return 50035, "Invalid Form Body: embed field too long"
        total += sum(len(t) for t, _ in parts)
    if total > 6000:
        return 50035, "Invalid Form Body: embeds exceed 6000 characters"
    return None


_TG_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "tg-spoiler",
    "blockquote",
}
_TG_TAG = re.compile(r"<(/?)([a-z-]+)(?:\s[^<>]*)?>")


def _telegram_html(text: str) -> str | None:
    """The text after entity parsing, or None when Telegram would answer "can't parse entities"."""
    stack: list[str] = []
    for m in _TG_TAG.finditer(text):
        close, name = m.group(1), m.group(2)
        if name not in _TG_TAGS:
            return None
        if close:
            if not stack or stack.pop() != name:
                return None
        else:
            stack.append(name)
    bare = _TG_TAG.sub("", text)
    if stack or "<" in bare or ">" in bare or re.search(r"&(?!amp;|lt;|gt;|quot;)", bare):
        return None
    return bare.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _telegram(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Bad Request: invalid JSON"
    chat = body.get("chat_id")
    if not (isinstance(chat, int) or (isinstance(chat, str) and re.fullmatch(r"-?\d+|@\w{5,}", chat))):
        return "Bad Request: chat_id is empty"
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return "Bad Request: message text is empty"
    if body.get("parse_mode") not in (None, "HTML", "Markdown", "MarkdownV2"):
        return "Bad Request: unsupported parse_mode"
    if body.get("parse_mode") == "HTML":
        parsed = _telegram_html(text)
        if parsed is None:
            return "Bad Request: can't parse entities"
        text = parsed
    if len(text) > 4096:
        return "Bad Request: message is too long"
    return None


def _ntfy(request: web.Request, raw: bytes) -> tuple[int, str] | None:
    for name, value in request.headers.items():
        if not value.isascii():
            return 40000, f"header {name} is not ASCII"
    prio = request.headers.get("Priority", "default")
    if prio not in _PRIORITIES:
        return 40007, "invalid priority"
    if not raw.strip():
        return 40000, "empty message"
    if len(raw) > 4096:
        return 41301, "message too large for the test server (would become an attachment)"
    return None


@dataclass
class ChatApis:
    """One local server answering as Slack, Discord, Telegram and ntfy; `accepted`/`refused` per API."""

    accepted: dict[str, list[Any]] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)
    runner: web.AppRunner | None = None
    base: str = ""

    def urls(self) -> dict[str, str]:
        return {
            "slack": self.base + SLACK_PATH,
            "discord": self.base + DISCORD_PATH,
            "telegram": f"{self.base}/bot{TELEGRAM_TOKEN}",
            "ntfy": f"{self.base}/{NTFY_TOPIC}",
        }

    def _ok(self, api: str, what: Any) -> None:
        self.accepted.setdefault(api, []).append(what)

    def _no(self, api: str, why: str) -> None:
        self.refused.setdefault(api, []).append(why)

    @staticmethod
    def _json(request: web.Request, raw: bytes) -> Any:
        if request.content_type != "application/json":
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    async def slack(self, request: web.Request) -> web.Response:
        raw = await request.read()
        err = _slack(self._json(request, raw))
        if err:
            self._no("slack", err)
            return web.Response(status=400, text=err)
        self._ok("slack", json.loads(raw))
        return web.Response(status=200, text="ok")

    async def discord(self, request: web.Request) -> web.Response:
        raw = await request.read()
        err = _discord(self._json(request, raw))
        if err:
            self._no("discord", err[1])
            return web.json_response({"code": err[0], "message": err[1]}, status=400)
        self._ok("discord", json.loads(raw))
        return web.Response(status=204)

    async def telegram(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if request.match_info["token"] != TELEGRAM_TOKEN:
            self._no("telegram", "Unauthorized")
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        err = _telegram(self._json(request, raw))
        if err:
            self._no("telegram", err)
            return web.json_response({"ok": False, "error_code": 400, "description": err}, status=400)
        body = json.loads(raw)
        self._ok("telegram", body)
        return web.json_response({"ok": True, "result": {"message_id": len(self.accepted["telegram"])}})

    async def ntfy(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if not re.fullmatch(r"[-_A-Za-z0-9]{1,64}", request.match_info["topic"]):
            self._no("ntfy", "invalid topic")
            return web.json_response({"code": 40009, "http": 400, "error": "invalid topic"}, status=400)
        err = _ntfy(request, raw)
        if err:
            self._no("ntfy", err[1])
            return web.json_response({"code": err[0], "http": 400, "error": err[1]}, status=400)
        msg = {"headers": dict(request.headers), "message": raw.decode("utf-8")}
        self._ok("ntfy", msg)
        return web.json_response({"id": "x", "event": "message", "topic": request.match_info["topic"]})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(SLACK_PATH, self.slack)
        app.router.add_post(DISCORD_PATH, self.discord)
        app.router.add_post(r"/bot{token}/sendMessage", self.telegram)
        app.router.add_post("/{topic}", self.ntfy)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
