"""Inhibition: while a feed is stale, the alerts computed from it are muted (Alertmanager inhibit rules).

A dead mark stream makes every alert on that symbol either frozen (the engine holds state on
stale figures) or wrong; paging on each of them buries the one alert that says what happened —
the feed. So, like an Alertmanager inhibit rule, a *firing* source alert mutes the target alerts
that share its labels, and the source is notified as usual:

    source: any rule on figure `feed_stale`, labels {venue=V, stream=S}, state firing
    target: same venue (Alertmanager's `equal: [venue]`), and by the stream's kind, an alert whose
      label matches *and whose figure is computed from that stream* (`feeds`, below):
      mark:<SYM>        symbol=SYM; every figure of the symbol (mark, index and funding feed
                        them all) except those read from the account stream alone
                        (`ACCOUNT_STREAM_ONLY`: the position's presence and size, the venue's own
                        LP, the wallet)
      account:<NAME>    account=NAME; every figure of the account (positions, balances, margin)
      book:spot:<SYM>   symbol=SYM on figures read from the spot book (spot_*, basis_*)
      anything else     nothing (we do not know what it feeds; noise beats a silent mute)

The exception matters most for `position_disappeared`: during a crash marks lag, and the notice
"your position is gone" (a leg missing from an account snapshot) must not wait for the mark feed.
A figure computed from both streams (margin ratio, LP, distance) is muted by either.

An alert of a source rule is never muted (Alertmanager: an alert matching both sides cannot
inhibit itself or its kind), so two stale feeds are both told.

Muting happens at notification time, Alertmanager's way: the rule engine keeps every alert's
state (pending, `for`, hysteresis, repeat timer) exactly as without inhibition; only the events
are held back. When the last source muting an alert resolves, the receivers are told the alert's
*latest* state if it differs from what they last heard — a firing alert that started or changed
severity during the mute is sent then; one that fired and resolved entirely inside the mute is
never sent (nobody heard it fire); a resolution of an alert they heard firing is sent. Repeats
that fell inside the mute are dropped; the engine's repeat timer carries on. So a stale feed
delays state changes of the alerts it feeds until it recovers, and loses none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from monitor.records import AlertEvent, AlertState, Severity

__all__ = ["ACCOUNT_STREAM_ONLY", "SOURCE_FIGURE", "Inhibitor", "feeds", "target_of"]

SOURCE_FIGURE = "feed_stale"

# Figures with a symbol label that are read from the account stream alone: no mark goes into them,
# so a stale mark stream neither freezes nor falsifies them.
ACCOUNT_STREAM_ONLY = frozenset(
    {
        "position_disappeared",  # a leg missing from a complete account snapshot
        "position_quantity",  # the venue's size
        "venue_liquidation_price_usd",  # the venue's own LP
        "wallet_balance_usd",  # the venue's balance (account-level today; listed for the mapping)
    }
)
# stream kind → figures with the matching label that it does *not* feed
_NOT_FED: dict[str, frozenset[str]] = {"mark": ACCOUNT_STREAM_ONLY}

# stream kind → (label that must equal the stream's argument, figure-name prefixes it feeds or None: all)
_TARGETS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "mark": ("symbol", None),
    "account": ("account", None),
    "book:spot": ("symbol", ("spot_", "basis_")),
}

Source = tuple[str, str]  # (venue, stream) of a firing stale-feed alert


def target_of(stream: str) -> tuple[str, str, tuple[str, ...] | None] | None:
    """(label, value, figure prefixes) a stream's staleness mutes, or None for an unknown kind."""
    kind, _, arg = stream.rpartition(":")
    rule = _TARGETS.get(kind)
    if rule is None or not arg:
        return None
    return rule[0], arg, rule[1]


def feeds(stream: str, figure: str) -> bool:
    """Whether `figure` is computed from `stream` (by the stream's kind; unknown kinds feed nothing)."""
    target = target_of(stream)
    if target is None:
        return False
    prefixes = target[2]
    if prefixes is not None and not figure.startswith(prefixes):
        return False
    return figure not in _NOT_FED.get(stream.rpartition(":")[0], frozenset())


def _mutes(source: Source, labels: dict[str, str], figure: str) -> bool:
    venue, stream = source
    target = target_of(stream)
    if target is None or labels.get("venue") != venue or labels.get(target[0]) != target[1]:
        return False
    return feeds(stream, figure)


class Inhibitor:
    """Holds back events of muted alerts and releases the latest state when the mute lifts.

    `source_rules` are the alert names whose alerts are sources (rules on `feed_stale`).
    """

    def __init__(self, source_rules: Iterable[str]) -> None:
        self._source_rules = frozenset(source_rules)
        self._told: dict[str, AlertEvent] = {}  # fingerprint → the firing event receivers last heard
        self._held: dict[str, AlertEvent] = {}  # fingerprint → latest event not told (muted)
        self._muted_by: dict[str, Source] = {}

    @property
    def active(self) -> bool:
        """False when no rule can be a source; the engine then skips this stage entirely."""
        return bool(self._source_rules) or bool(self._held)

    def muted(self) -> dict[str, Source]:
        """Fingerprint → (venue, stream) of the stale feed muting it, as of the last `apply`."""
        return dict(self._muted_by)

    def told(self, fingerprint: str) -> AlertEvent | None:
        """The firing event receivers last heard for this alert, or None if they think it is not firing."""
        return self._told.get(fingerprint)

    def apply(self, events: Sequence[AlertEvent], sources: set[Source]) -> list[AlertEvent]:
        """Filter one tick's events given the stale feeds whose alerts fire after the same tick."""
        out: list[AlertEvent] = []
        self._muted_by = {}
        for ev in events:
            fp = ev.fingerprint
            source = self._source_of(ev, sources)
            if source is not None:
                self._held[fp] = ev
                self._muted_by[fp] = source
                continue
            held = self._held.pop(fp, None)
            if held is not None and ev.state is AlertState.RESOLVED and fp not in self._told:
                continue  # fired and resolved while muted: nobody heard it fire
            out.append(self._tell(ev))
        for fp in [fp for fp in self._held if fp not in self._muted_by]:
            ev = self._held[fp]
            source = self._source_of(ev, sources)
            if source is not None:
                self._muted_by[fp] = source
                continue
            del self._held[fp]
            if self._heard(self._told.get(fp)) != self._heard(ev):
                out.append(self._tell(ev))
        return out

    def _source_of(self, ev: AlertEvent, sources: set[Source]) -> Source | None:
        if not sources or ev.labels.get("alertname") in self._source_rules:
            return None
        figure = ev.annotations.get("figure", "")
        for source in sorted(sources):  # sorted: the same source is named on every run
            if _mutes(source, ev.labels, figure):
                return source
        return None

    @staticmethod
    def _heard(ev: AlertEvent | None) -> Severity | None:
        return ev.severity if ev is not None and ev.state is AlertState.FIRING else None

    def _tell(self, ev: AlertEvent) -> AlertEvent:
        if ev.state is AlertState.FIRING:
            self._told[ev.fingerprint] = ev
        else:
            self._told.pop(ev.fingerprint, None)
        return ev
