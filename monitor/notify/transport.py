"""One HTTP POST path for every HTTP integration: session, timeout, redaction, transport errors.

Integrations differ in payload and in how a response body signals failure; they should not
differ in how a token is kept out of error texts, so that lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import aiohttp
import structlog

from monitor.errors import PermanentDeliveryError, RetryableDeliveryError
from monitor.notify.base import url_secret_parts
from monitor.secret import Secret, redact_text, redact_url, url_problem

__all__ = ["HttpResponse", "HttpTransport", "SessionFactory"]

log = structlog.get_logger(__name__)

SessionFactory = Callable[[], aiohttp.ClientSession]


class HttpResponse:
    """The parts of a response integrations classify; read fully before the connection is released."""

    __slots__ = ("headers", "status", "text")

    def __init__(self, status: int, headers: Mapping[str, str], text: str) -> None:
        self.status = status
        self.headers = headers
        self.text = text


class HttpTransport:
    """Posts to a secret URL; raises redacted Retryable/Permanent errors for transport failures.

    Sessions from a caller's `session_factory` belong to the caller; a session made here (the
    default) is closed by `close()`.
    """

    def __init__(
        self, url: Secret, *, timeout_s: float, session_factory: SessionFactory | None = None
    ) -> None:
        self.url = url
        self._parts = url_secret_parts(url)
        self._factory = session_factory
        self._owned = session_factory is None
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def redact(self, text: str) -> str:
        raw = self.url.reveal()
        return redact_text(text.replace(raw, redact_url(raw)), self._parts)

    def redacted_url(self) -> str:
        return redact_url(self.url.reveal())

    async def close(self) -> None:
        if self._session is not None and self._owned:
            await self._session.close()
        self._session = None

    async def post(
        self, *, data: bytes, headers: Mapping[str, str], suffix: str = "", json_content: bool = True
    ) -> HttpResponse:
        """POST to the URL (plus `suffix`, e.g. `/sendMessage`); never follows redirects.

        A URL that cannot work (bad port, not http) is a permanent failure: retrying it would hold
        every notification queued behind it for good.
        """
        problem = url_problem(self.url.reveal() + suffix)
        if problem:
            raise PermanentDeliveryError(f"invalid_url: {problem}: {self.redacted_url()}")
        if self._session is None or self._session.closed:
            self._session = self._factory() if self._factory is not None else aiohttp.ClientSession()
        hdrs = dict(headers)
        if json_content:
            hdrs.setdefault("Content-Type", "application/json")
        try:
            async with self._session.post(
                self.url.reveal() + suffix,
                data=data,
                headers=hdrs,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                text = await resp.text(errors="replace")
                return HttpResponse(resp.status, dict(resp.headers), text)
        except TimeoutError:
            raise RetryableDeliveryError("timeout") from None
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
            raise PermanentDeliveryError("invalid_url: " + self.redacted_url()) from None
        except (aiohttp.ClientError, OSError) as exc:
            detail = self.redact(f"{type(exc).__name__}: {exc}")
            raise RetryableDeliveryError(f"connection_error: {detail}") from None

    def rejected(self, receiver: str, resp: HttpResponse) -> None:
        """Log a rejected response's body (redacted, truncated) for the operator."""
        log.debug(
            "receiver rejected notification",
            receiver=receiver,
            status=resp.status,
            body=self.redact(resp.text[:300]),
        )
