"""Notifiers and the delivery pipeline; `NOTIFIERS` is the one place receiver types are listed.

Adding an integration is one file plus one line here (Alertmanager's
`BuildReceiverIntegrations`): a factory taking the receiver's config, its URL secret (or None)
and the shared context (clock, HTTP session factory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.clock import Clock, LiveClock
from monitor.config import ReceiverConfig
from monitor.errors import ConfigError
from monitor.notify.base import Notifier, classify_http
from monitor.notify.console import ConsoleNotifier
from monitor.notify.model import Notification, NotifyReason
from monitor.notify.outbox import Outbox
from monitor.notify.pipeline import Dispatcher
from monitor.notify.route import Router
from monitor.notify.webhook import SessionFactory, WebhookNotifier
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
    """What factories share: one clock and, for HTTP integrations, how to make a session."""

    clock: Clock
    session_factory: SessionFactory | None = None


Factory = Callable[[ReceiverConfig, Secret | None, BuildContext], Notifier]


def _need_url(cfg: ReceiverConfig, url: Secret | None) -> Secret:
    if url is None or not url:
        raise ConfigError(f"receivers.{cfg.name}.url_env", f"a {cfg.type} receiver needs its URL")
    return url


def _console(cfg: ReceiverConfig, _url: Secret | None, _ctx: BuildContext) -> Notifier:
    return ConsoleNotifier(cfg.name)


def _webhook(cfg: ReceiverConfig, url: Secret | None, ctx: BuildContext) -> Notifier:
    return WebhookNotifier(
        cfg.name,
        _need_url(cfg, url),
        clock=ctx.clock,
        session_factory=ctx.session_factory,
        timeout_s=cfg.timeout_s,
    )


NOTIFIERS: dict[str, Factory] = {
    "console": _console,
    "webhook": _webhook,
}


def build_notifiers(
    receivers: tuple[ReceiverConfig, ...],
    urls: dict[str, Secret],
    *,
    clock: Clock | None = None,
    session_factory: SessionFactory | None = None,
) -> dict[str, Notifier]:
    """One notifier per receiver name; `urls` is `Secrets.receiver_urls` from `load_config`."""
    ctx = BuildContext(clock=clock or LiveClock(), session_factory=session_factory)
    out: dict[str, Notifier] = {}
    for r in receivers:
        factory = NOTIFIERS.get(r.type)
        if factory is None:
            raise ConfigError(f"receivers.{r.name}.type", f"unknown receiver type {r.type!r}")
        out[r.name] = factory(r, urls.get(r.name), ctx)
    return out
