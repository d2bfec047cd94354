"""One exception tree for perpmon.

PerpmonError
├── ConfigError                 bad config: fail fast at start with key path and reason (exit 2)
├── ParseError                  a malformed or out-of-range venue frame: counted and dropped
├── FeedError
│   ├── RetryableFeedError      network trouble, 5xx, 429/418: reconnect with backoff
│   └── FatalFeedError          bad keys, unknown symbol: stop the collector and alert
└── DeliveryError
    ├── RetryableDeliveryError  receiver down, 5xx, 429: keep in the outbox, retry later
    └── PermanentDeliveryError  4xx: report and stop retrying that notification
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeliveryError",
    "FatalFeedError",
    "FeedError",
    "ParseError",
    "PermanentDeliveryError",
    "PerpmonError",
    "RetryableDeliveryError",
    "RetryableFeedError",
]


class PerpmonError(Exception):
    """Base of every error perpmon raises on purpose."""


class ConfigError(PerpmonError):
    """The config cannot be used; `path` names the key (e.g. `venues[0].symbols`)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class ParseError(PerpmonError):
    """A frame that cannot become a record; `reason` is a short metric label value."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class FeedError(PerpmonError):
    """A venue connection or request failed."""


class RetryableFeedError(FeedError):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class FatalFeedError(FeedError):
    """Retrying will not help (rejected key, unknown symbol): needs a human."""


class DeliveryError(PerpmonError):
    """A notification could not be delivered."""


class RetryableDeliveryError(DeliveryError):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class PermanentDeliveryError(DeliveryError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
