"""The status page's data: one typed record per tick, built from Figures, rendered elsewhere.

The same record is the JSON of `/status.json`, the HTML of `/status` and the text of
`perpmon status`, so the three can never disagree. Numbers stay raw here (formatting is the
renderers' job), and a number JSON cannot carry — NaN, ±inf — travels as Prometheus spells it
("NaN", "+Inf", "-Inf"): `null` would read as "nothing to see", and NaN is a state that alerts.
"""

from __future__ import annotations

import math

import msgspec

__all__ = [
    "ABSENT",
    "CLEAR",
    "NONE",
    "NOT_LIQUIDATABLE",
    "PAST",
    "UNKNOWN",
    "UNRATED",
    "AccountRow",
    "AlertRow",
    "AssetRow",
    "FeedRow",
    "Gauge",
    "MarketRow",
    "Num",
    "PositionRow",
    "StatusPage",
    "Threshold",
    "as_float",
    "num",
]

Num = float | str  # a float, or "NaN" / "+Inf" / "-Inf"
ABSENT = "no figure"  # a note: the row has no such figure (headroom of an account without cross legs)
NOT_LIQUIDATABLE = "not_liquidatable"  # an LP at or below zero: no price move liquidates the leg (safe NaN)
_NONFINITE = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}


def num(x: float) -> Num:
    """`x` in a form JSON keeps: itself when finite, else its Prometheus spelling."""
    if math.isfinite(x):
        return x
    return "NaN" if x != x else ("+Inf" if x > 0 else "-Inf")


def as_float(v: Num) -> float:
    """The float a `Num` stands for (an unknown spelling reads NaN: unknown, never zero)."""
    return _NONFINITE.get(v, math.nan) if isinstance(v, str) else float(v)


class _Row(msgspec.Struct, frozen=True, kw_only=True):
    severity: str = ""  # the most severe alert firing on this row's labels ("" when none)
    notes: dict[str, str] = {}  # field → why it is NaN (the figure's reason) or "stale"; absent when fine


class Threshold(msgspec.Struct, frozen=True, kw_only=True):
    """One level of a rule the daemon runs on `liquidation_distance_ratio`, as a mark on the bar."""

    rule: str
    severity: str
    op: str  # "<" or "<=": the rule's comparison
    value: float  # the level's threshold (a distance ratio: 0.05 is 5 %)

    def inside(self, distance: float) -> bool:
        """The distance crosses this level (NaN crosses none)."""
        return distance < self.value if self.op == "<" else distance <= self.value


# Gauge states: where a leg stands against the rules' levels, or why the bar says nothing about it
PAST = "past_liquidation"  # distance ≤ 0, or its margin ratio at 100 % or more: red, full length
UNKNOWN = "unknown"  # NaN distance: grey and striped, never a short bar that reads as safe
NONE = NOT_LIQUIDATABLE  # no price move liquidates the leg
CLEAR = "clear"  # beyond every threshold of the rules covering the leg
UNRATED = "unrated"  # no distance rule covers the leg, or the page was not given the rules


class Gauge(msgspec.Struct, frozen=True, kw_only=True):
    """The distance-to-liquidation bar of one leg, decided once so the page and the terminal agree.

    `state` is PAST / UNKNOWN / NONE / CLEAR / UNRATED, or the severity label of the most severe
    level the distance is inside. `fill` is the bar's length as a fraction of `scale` (the
    distance drawn at full length, one per page so bars compare across rows); PAST, UNKNOWN and
    NONE draw full length in their own colour. The default is what an older daemon's JSON reads
    as: unknown, never an empty bar.
    """

    state: str = UNKNOWN
    fill: float = 1.0
    scale: float = 1.0
    levels: tuple[Threshold, ...] = ()  # least to most severe


class PositionRow(_Row, frozen=True, kw_only=True):
    """One leg, with what decides how close it is to liquidation."""

    venue: str
    account: str
    symbol: str
    side: str
    margin_mode: str  # "isolated" when the leg has its own margin ratio, else "cross"
    quantity: Num
    notional_usd: Num
    mark_usd: Num
    liquidation_price_usd: Num
    distance_ratio: Num
    distance_sigma: Num
    margin_ratio: Num  # the isolated leg's own, or its cross account's
    unrealized_pnl_usd: Num
    price_tick: float = 0.0  # the symbol's price tick (venue metadata); 0: not known (JSON has no null here)
    gauge: Gauge = Gauge()
    # the leg's market's next settlement: the venue's predicted rate per interval, the seconds from
    # the tick to the settlement, and what the leg receives then at the mark (< 0: it pays)
    funding_rate: Num = "NaN"
    funding_next_in_s: Num = "NaN"
    funding_payment_usd: Num = "NaN"


class AccountRow(_Row, frozen=True, kw_only=True):
    """One (cross) account's margin."""

    venue: str
    account: str
    margin_ratio: Num
    margin_balance_usd: Num
    maintenance_margin_usd: Num
    headroom_usd: Num
    topup_for_shock_usd: Num


class AssetRow(_Row, frozen=True, kw_only=True):
    """The book of one asset across venues and custody."""

    asset: str
    net_delta: Num
    net_delta_usd: Num
    hedge_ratio: Num
    funding_carry_usd_per_day: Num
    partial: bool  # a venue feeding it is stale


class MarketRow(_Row, frozen=True, kw_only=True):
    """Funding and basis of one perpetual on one venue."""

    venue: str
    symbol: str
    held: bool  # some watched position is on it (those come first)
    mark_usd: Num
    funding_rate: Num  # per interval
    funding_interval_s: Num
    funding_annualized: Num
    funding_next_s: Num  # Unix seconds
    funding_next_in_s: Num = "NaN"  # from the tick to the next settlement
    basis_usd: Num
    basis_bps: Num
    price_tick: float = 0.0  # the symbol's price tick (venue metadata); 0: not known (JSON has no null here)


class FeedRow(_Row, frozen=True, kw_only=True):
    venue: str
    stream: str
    age_s: Num
    stale: bool  # stale, down, never heard, or its staleness unknown


class AlertRow(msgspec.Struct, frozen=True, kw_only=True):
    """An alert firing now, or one transition from the recent ring."""

    alertname: str
    severity: str
    state: str  # firing | resolved
    labels: dict[str, str]  # without alertname and severity
    summary: str
    value: Num
    starts_at_ns: int
    event_ns: int
    note: str = ""  # figure_state or resolved_reason, when the engine gave one


class StatusPage(msgspec.Struct, frozen=True, kw_only=True):
    """The book at a glance as of one tick; each list is the worst `limit`, `*_total` counts all."""

    taken_at_ns: int  # the tick the figures are from
    served_at_ns: int  # when the page was built (the tick's age shows a stalled loop)
    limit: int
    positions: tuple[PositionRow, ...]
    positions_total: int
    positions_unknown: int  # legs whose distance to liquidation is NaN: not known to be safe
    rules_known: bool = False  # the builder was given the daemon's rules (the bars' thresholds)
    accounts: tuple[AccountRow, ...]
    accounts_total: int
    assets: tuple[AssetRow, ...]
    assets_total: int
    markets: tuple[MarketRow, ...]
    markets_total: int
    feeds: tuple[FeedRow, ...]
    feeds_total: int
    feeds_stale: int
    firing: tuple[AlertRow, ...]
    firing_total: int
    firing_counts: dict[str, int]  # severity label → alerts firing at it
    recent: tuple[AlertRow, ...]
