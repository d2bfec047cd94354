"""structlog set-up: readable on a terminal, JSON lines for a service manager.

A redaction processor runs last so that no secret value that slipped into an event (an exception
text from a library that echoed a URL, say) reaches the console or the journal.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

import structlog

from monitor.secret import REDACTED, Secret

__all__ = ["configure_logging"]


# a Binance listenKey is issued at run time, so it cannot be on the secrets list; ccxt and websockets
# echo it in URLs (`/ws/<key>`, `?listenKey=<key>`) and error texts, so any such token is removed
_LISTEN_KEY = re.compile(r"(listen_?key[=/\"': ]+|/ws/)[A-Za-z0-9]{20,}", re.IGNORECASE)


class _Redactor:
    def __init__(self, secrets: Sequence[Secret]) -> None:
        self._values = [s.reveal() for s in secrets if s.reveal()]

    def __call__(self, _logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        for k, v in event.items():
            if isinstance(v, str):
                for secret in self._values:
                    if secret in v:
                        v = v.replace(secret, REDACTED)
                event[k] = _LISTEN_KEY.sub(rf"\1{REDACTED}", v)
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
