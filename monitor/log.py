"""structlog set-up: readable on a terminal, JSON lines for a service manager.

A redaction processor runs last so that no secret value that slipped into an event (an exception
text from a library that echoed a URL, say) reaches the console or the journal. It walks nested
values (a dict of request details, a list of errors, an exception object), because the renderers
print those too, and a config reload adds its secrets to it (`add_secrets`): a receiver URL that
first appears in a reloaded file is as secret as one given at start.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

import structlog

from monitor.records import Severity
from monitor.secret import REDACTED, Secret

__all__ = ["ALERT_LOG_LEVELS", "add_secrets", "alert_log_level", "configure_logging"]

# An alert's log level follows its severity, so a journal filtered at `error` still shows every
# critical alert and a page stands out as `critical`; a resolution is news, not trouble: `info`.
ALERT_LOG_LEVELS = {
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.CRITICAL: "error",
    Severity.PAGE: "critical",
}


def alert_log_level(severity: Severity, firing: bool) -> str:
    """The structlog method name for an alert event (`info` for every resolution)."""
    return ALERT_LOG_LEVELS[severity] if firing else "info"


# a Binance listenKey is issued at run time, so it cannot be on the secrets list; ccxt and websockets
# echo it in URLs (`/ws/<key>`, `?listenKey=<key>`) and error texts, so any such token is removed
_LISTEN_KEY = re.compile(r"(listen_?key[=/\"': ]+|/ws/)[A-Za-z0-9]{20,}", re.IGNORECASE)


_PLAIN = (int, float, bool, type(None))
_MAX_DEPTH = 8  # deeper than any event perpmon logs; a cycle or a pathological value stops here


class _Redactor:
    def __init__(self, secrets: Sequence[Secret]) -> None:
        self._values: list[str] = []
        self.add(secrets)

    def add(self, secrets: Sequence[Secret]) -> None:
        """Redact these too, from the next event on; longest first, so a URL goes before its token."""
        values = set(self._values) | {s.reveal() for s in secrets if s.reveal()}
        self._values = sorted(values, key=len, reverse=True)

    def _text(self, v: str) -> str:
        for secret in self._values:
            if secret in v:
                v = v.replace(secret, REDACTED)
        return _LISTEN_KEY.sub(rf"\1{REDACTED}", v)

    def _walk(self, v: Any, depth: int) -> Any:
        if isinstance(v, str):
            return self._text(v)
        if isinstance(v, _PLAIN):
            return v
        if depth >= _MAX_DEPTH:
            return self._text(repr(v))
        if isinstance(v, dict):
            return {
                self._text(k) if isinstance(k, str) else k: self._walk(x, depth + 1) for k, x in v.items()
            }
        if isinstance(v, list | tuple | set | frozenset):
            out = [self._walk(x, depth + 1) for x in v]
            return tuple(out) if isinstance(v, tuple) else out
        # anything else (an exception, a URL object) is printed by the renderer with its repr:
        # check that text, and keep the object itself only when nothing in it is secret
        text = repr(v)
        clean = self._text(text)
        if isinstance(v, BaseException):  # repr escapes quotes and backslashes: check the message too
            msg = str(v)
            if clean != text or self._text(msg) != msg:
                return f"{type(v).__name__}: {self._text(msg)}"
            return v
        return v if clean == text else clean

    def __call__(self, _logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        for k, v in event.items():
            event[k] = self._walk(v, 0)
        return event


class _StderrLogger:
    """Writes to whatever `sys.stderr` is at the moment of the call, not at configure time.

    A logger bound to the stream object seen at start-up keeps writing to it after it was replaced
    and closed (a test harness capturing output, a daemon re-pointing stderr), and then every log
    call raises instead of logging.
    """

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg


def _stderr_logger(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


def add_secrets(secrets: Sequence[Secret]) -> None:
    """Extend the running redactor (a reload read new secrets); the old ones stay redacted too.

    Old values stay on the list: a request started before the reload may still fail and log them.
    """
    for p in structlog.get_config()["processors"]:
        if isinstance(p, _Redactor):
            p.add(secrets)


def configure_logging(level: str = "info", fmt: str = "auto", secrets: Sequence[Secret] = ()) -> None:
    """Configure structlog once for the process; `fmt` auto picks console on a TTY, else JSON."""
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if use_console
        else structlog.processors.JSONRenderer()
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        _Redactor(secrets),
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
