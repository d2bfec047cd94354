"""An alert's one-line summary: the rule's own template filled with human values, or a default.

Split from `context.py` (the context annotations read from the tick's other figures) because the
summary needs only the event and its rule: `{value}` in a rule's summary prints the human text
(`4.92 %`) while `{value:.3f}` still formats the number, an unknown `{field}` stays as written,
and a rule without a summary gets one a desk can read (`margin ratio of binance degen is 87 %`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from monitor.records import AlertEvent
from monitor.rules.model import Rule

__all__ = ["KEY_LABELS", "OP_WORDS", "summary", "unavailable"]

OP_WORDS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}
KEY_LABELS = ("venue", "account", "symbol", "side", "asset", "stream", "scenario", "method", "confidence")


class _Shown(float):
    """A float whose plain `{value}` prints the human text and `{value:.2f}` still formats the number."""

    text: str

    def __new__(cls, x: float, text: str) -> _Shown:
        out = super().__new__(cls, x)
        out.text = text
        return out

    def __format__(self, spec: str) -> str:
        return self.text if not spec else format(float(self), spec)

    def __str__(self) -> str:
        return self.text


class _Fields(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def unavailable(ev: AlertEvent, figure: str, value_text: str) -> str:
    """`liquidation distance ratio of binance degen BTCUSDT cannot be computed (missing_tier); blind: …`."""
    where = " ".join(v for k, v in ev.labels.items() if k in KEY_LABELS and v and v != "BOTH")
    what = "cannot be computed" if math.isnan(ev.value) else f"is {value_text} but stale"
    reason = ev.annotations.get("reason", "")
    blind = ev.annotations.get("rules", "")
    name = figure.removesuffix("_usd").replace("_", " ")
    text = f"{name} of {where} {what}" + (f" ({reason})" if reason else "")
    return text + (f"; blind: {blind}" if blind else "")


def summary(
    rule: Rule,
    ev: AlertEvent,
    value_text: str,
    threshold_text: str,
    threshold: float | None,
    extra: Mapping[str, str],
) -> str:
    """The rule's summary with human values, or a default a desk can read when the rule gives none.

    `extra`: fields beyond the labels a summary may name (`{model}`, the VaR model in words).
    """
    if not rule.summary:
        name = rule.figure.removesuffix("_usd").replace("_", " ")
        where = " ".join(v for k, v in ev.labels.items() if k in KEY_LABELS and v and v != "BOTH")
        op = OP_WORDS.get(rule.op, rule.op)
        limit = f" ({ev.severity.label} {op} {threshold_text})" if threshold_text else ""
        return f"{name}{f' of {where}' if where else ''} is {value_text}{limit}"
    fields = _Fields({k: ev.labels[k] for k in ev.labels if k in (*KEY_LABELS, "alertname")})
    fields.update(
        value=_Shown(ev.value, value_text),
        threshold=_Shown(math.nan if threshold is None else threshold, threshold_text),
        severity=ev.severity.label,
        figure=rule.figure,
        **extra,
    )
    try:
        return rule.summary.format_map(fields)
    except (ValueError, TypeError, IndexError, AttributeError, KeyError):
        return ev.annotations.get("summary", rule.summary)
