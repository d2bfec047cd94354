"""Notifiers and the delivery pipeline; `NOTIFIERS` is the one place receiver types are listed.

Adding an integration is one file plus one line here (Alertmanager's
`BuildReceiverIntegrations`): a factory taking the receiver's config, its URL secret (or None)
and the shared context (clock, HTTP session factory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from monitor.clock import Clock, LiveClock
from monitor.config import ReceiverConfig
from monitor.errors import ConfigError
from monitor.notify.alertmanager import AlertmanagerNotifier
from monitor.notify.base import Notifier, classify_http
from monitor.notify.console import ConsoleNotifier
from monitor.notify.discord import DiscordNotifier
from monitor.notify.http_notifier import HttpNotifier, HttpOptions
from monitor.notify.model import Notification, NotifyReason
from monitor.notify.mqtt import MqttNotifier
from monitor.notify.ntfy import NtfyNotifier
from monitor.notify.outbox import Outbox
from monitor.notify.pipeline import Dispatcher
from monitor.notify.route import Router
from monitor.notify.slack import SlackNotifier
from monitor.notify.telegram import TelegramNotifier
from monitor.notify.transport import SessionFactory
from monitor.notify.webhook import WebhookNotifier
from monitor.secret import Secret

__all__ = [
    "NOTIFIERS",
    "BuildContext",
    "Dispatcher",
    "Notification",
    "Notifier",
    "NotifyReason",
    "Outbox",
    "Router",
    "build_notifiers",
    "classify_http",
]


@dataclass(frozen=True, kw_only=True)
class BuildContext:
    """What factories share: one clock, for HTTP integrations how to make a session, and logins."""

    clock: Clock
    session_factory: SessionFactory | None = None
    credentials: Mapping[str, tuple[Secret, Secret]] = field(default_factory=dict)  # receiver → login


Factory = Callable[[ReceiverConfig, Secret | None, BuildContext], Notifier]


def _need_url(cfg: ReceiverConfig, url: Secret | None) -> Secret:
    if url is None or not url:
        raise ConfigError(f"receivers.{cfg.name}.url_env", f"a {cfg.type} receiver needs its URL")
    return url


def _console(cfg: ReceiverConfig, _url: Secret | None, _ctx: BuildContext) -> Notifier:
    return ConsoleNotifier(cfg.name)


def _options(cfg: ReceiverConfig, ctx: BuildContext) -> HttpOptions:
    return HttpOptions(
        clock=ctx.clock,
        session_factory=ctx.session_factory,
        timeout_s=cfg.timeout_s,
        per_minute=cfg.messages_per_minute,  # None: the integration's default pace
    )


def _http(kind: type[HttpNotifier], cfg: ReceiverConfig, url: Secret | None, ctx: BuildContext) -> Notifier:
    return kind(cfg.name, _need_url(cfg, url), **_options(cfg, ctx))


def _telegram(cfg: ReceiverConfig, url: Secret | None, ctx: BuildContext) -> Notifier:
    if not cfg.chat_id:
        raise ConfigError(f"receivers.{cfg.name}.chat_id", "a telegram receiver needs the chat to post to")
    return TelegramNotifier(cfg.name, _need_url(cfg, url), chat_id=cfg.chat_id, **_options(cfg, ctx))


def _mqtt(cfg: ReceiverConfig, _url: Secret | None, ctx: BuildContext) -> Notifier:
    if not cfg.host:
        raise ConfigError(f"receivers.{cfg.name}.host", "an mqtt receiver needs the broker's host")
    return MqttNotifier(
        cfg.name,
        host=cfg.host,
        port=cfg.port if cfg.port is not None else 1883,
        topic_prefix=cfg.topic_prefix or "perpmon",
        credentials=ctx.credentials.get(cfg.name),
        client_id=cfg.client_id,
        clock=ctx.clock,
        timeout_s=cfg.timeout_s,
    )


def _alertmanager(cfg: ReceiverConfig, url: Secret | None, ctx: BuildContext) -> Notifier:
    resend_s = cfg.resend_s if cfg.resend_s is not None else 60.0
    return AlertmanagerNotifier(cfg.name, _need_url(cfg, url), resend_s=resend_s, **_options(cfg, ctx))


NOTIFIERS: dict[str, Factory] = {
    "console": _console,
    "webhook": partial(_http, WebhookNotifier),
    "slack": partial(_http, SlackNotifier),
    "discord": partial(_http, DiscordNotifier),
    "telegram": _telegram,
    "ntfy": partial(_http, NtfyNotifier),
    "mqtt": _mqtt,
    "alertmanager": _alertmanager,
}


def build_notifiers(
    receivers: tuple[ReceiverConfig, ...],
    urls: dict[str, Secret],
    *,
    clock: Clock | None = None,
    session_factory: SessionFactory | None = None,
    credentials: Mapping[str, tuple[Secret, Secret]] | None = None,
) -> dict[str, Notifier]:
    """One notifier per receiver name; `urls` and `credentials` are `Secrets.receiver_urls` and
    `Secrets.receiver_credentials` from `load_config`."""
    ctx = BuildContext(
        clock=clock or LiveClock(), session_factory=session_factory, credentials=credentials or {}
    )
    out: dict[str, Notifier] = {}
    for r in receivers:
        factory = NOTIFIERS.get(r.type)
        if factory is None:
            raise ConfigError(f"receivers.{r.name}.type", f"unknown receiver type {r.type!r}")
        out[r.name] = factory(r, urls.get(r.name), ctx)
    return out
