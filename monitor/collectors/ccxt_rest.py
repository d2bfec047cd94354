"""Signed REST through ccxt, behind the venue's cool-down, with every failure classified once.

ccxt raises `DDoSProtection` for HTTP 418/429 (and `RateLimitExceeded` for venue code -1003)
before it reads the body; the `Retry-After` header is on `exchange.last_response_headers`. The
venue-wide `Cooldown` then holds *every* request (limits are per IP) until it has passed, with a
hard default when the header is missing. Network trouble and 5xx are retryable; a rejected key is
not. Error texts are redacted before they are logged: ccxt puts keys and listenKeys in them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
import structlog

from monitor.collectors.base import CollectorStats
from monitor.collectors.pacing import Cooldown, retry_after_s
from monitor.errors import FatalFeedError, RetryableFeedError
from monitor.secret import Secret, redact_text

__all__ = ["RestCaller"]

log = structlog.get_logger(__name__)
T = TypeVar("T")
_STATUS = re.compile(r"\b(418|429)\b")
_LISTEN_KEY = re.compile(r"(listenKey[=/\"': ]+)[A-Za-z0-9]{20,}")


class RestCaller:
    """One per venue: the cool-down and the redaction list every REST call of that venue shares."""

    def __init__(self, cooldown: Cooldown, stats: CollectorStats, secrets: list[Secret]) -> None:
        self.cooldown = cooldown
        self.stats = stats
        self.secrets = secrets

    def redact(self, text: str) -> str:
        return _LISTEN_KEY.sub(r"\1<redacted>", redact_text(text, self.secrets))

    async def call(self, exchange: Any, fn: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        """Await `fn(*args, **kw)` once the venue allows it; raise perpmon's feed errors."""
        await self.cooldown.wait()
        try:
            return await fn(*args, **kw)
        except (ccxt_async.DDoSProtection, ccxt_async.RateLimitExceeded) as exc:
            m = _STATUS.search(str(exc))
            status = int(m.group(1)) if m else 429
            wait = retry_after_s(getattr(exchange, "last_response_headers", None), status)
            self.cooldown.hold(wait, status)
            self.stats.events["rate_limited"] += 1
            log.warning(
                "venue rate limit: holding requests", venue=self.stats.venue, status=status, wait_s=wait
            )
            raise RetryableFeedError(f"rate limited (HTTP {status}), waiting {wait:g}s", wait) from None
        except ccxt_async.AuthenticationError as exc:
            raise FatalFeedError(self.redact(f"{type(exc).__name__}: {exc}")[:300]) from None
        except (ccxt_async.NetworkError, ccxt_async.ExchangeError) as exc:
            raise RetryableFeedError(self.redact(f"{type(exc).__name__}: {exc}")[:300]) from None
