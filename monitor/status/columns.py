"""The columns of each status table, shared by the HTML page and the terminal text.

A column names its row field, how a person reads it, and the figure (metric `perpmon_<figure>`)
it shows, so the page can carry the raw value beside the formatted one and a test can hold
both against a /metrics scrape of the same tick.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from monitor import human
from monitor.status import fmt
from monitor.status.model import (
    ABSENT,
    CLEAR,
    NONE,
    NOT_LIQUIDATABLE,
    PAST,
    UNKNOWN,
    UNRATED,
    Num,
    PositionRow,
    as_float,
)

__all__ = [
    "ACCOUNT",
    "ASSET",
    "BAR_CELLS",
    "FEED",
    "MARKET",
    "POSITION",
    "Column",
    "gauge_caption",
    "gauge_text",
    "side_word",
]

BAR_CELLS = 16  # the terminal bar's length in characters


class Column:
    """One column: `field` is the row attribute holding a Num (None for a text column)."""

    def __init__(
        self,
        title: str,
        *,
        field: str | None = None,
        show: Callable[[Num], str] = fmt.ratio,
        figure: str | Callable[[Any], str] = "",
        text: Callable[[Any], str] | None = None,
        wide: bool = False,
        tone: Callable[[Any], str] | None = None,
        key: bool = False,
        priced: bool = False,
        terminal: bool = True,
        gauge: bool = False,
        shown: bool = True,
    ) -> None:
        self.title = title
        self.field = field
        self._show = show
        self._figure = figure
        self._text = text
        self.wide = wide  # shown on the desktop page only (the phone card keeps the essentials)
        self.key = key  # the column the table is sorted by: the page sets it in bold
        self._tone = tone
        self.priced = priced  # a price: written with the decimals of the row's `price_tick`
        self.terminal = terminal  # shown by `perpmon status` (False: the gauge's text already says it)
        self.gauge = gauge  # the distance bar: the page draws it, the terminal writes `gauge_text`
        # False: the page keeps the cell (its figure and exact value, for a check against /metrics)
        # but does not show it, because the gauge's words already say it
        self.shown = shown

    def tone(self, row: Any) -> str:
        """ "good" / "bad" / "": a colour hint for the page (gains, losses, a stale feed)."""
        return self._tone(row) if self._tone is not None else ""

    @property
    def numeric(self) -> bool:
        return self.field is not None

    def value(self, row: Any) -> Num:
        assert self.field is not None, "a text column has no value"
        v: Num = getattr(row, self.field)
        return v

    def show(self, v: Num) -> str:
        """How a person reads the value `v` in this column."""
        return self._show(v)

    def cell(self, row: Any) -> str:
        """What a person reads in this column of `row`."""
        if self._text is not None:
            return self._text(row)
        return self.text_for(self.value(row), self.note(row), self.tick(row))

    def tick(self, row: Any) -> float | None:
        """A price column's tick in `row` (its symbol's); None elsewhere or when not known."""
        tick = float(getattr(row, "price_tick", 0.0)) if self.priced else 0.0
        return tick if tick > 0 else None

    def text_for(self, v: Num, note: str, tick: float | None = None) -> str:
        """`v` as read with its note: "—" without such a figure, "none" for an LP no move reaches,
        a trailing "*" when stale; a price at its `tick`'s decimals when the tick is known."""
        if note == ABSENT:
            return "—"
        if note == NOT_LIQUIDATABLE:
            return "none"
        out = fmt.price(v, tick) if self.priced and tick is not None else self._show(v)
        return f"{out}*" if note == "stale" else out

    def note(self, row: Any) -> str:
        return str(row.notes.get(self.field, "")) if self.field else ""

    def figure(self, row: Any) -> str:
        return self._figure(row) if callable(self._figure) else self._figure


def side_word(row: PositionRow) -> str:
    """Long or short: one-way legs (side BOTH) say it by their sign."""
    if row.side in ("LONG", "SHORT"):
        return row.side.lower()
    q = as_float(row.quantity)
    return "long" if q > 0 else "short" if q < 0 else "flat" if q == 0 else "?"


def gauge_caption(row: PositionRow, *, level: bool = True) -> str:
    """What the bar says in words: `4.92 % · 1.34 σ · critical < 5.00 %`, `unknown: no_mark`,
    `PAST LIQUIDATION`; without `level` the level it is inside is left to the bar's colour."""
    g = row.gauge
    if g.state == PAST:
        return "PAST LIQUIDATION"
    if g.state == UNKNOWN:
        return f"unknown: {row.notes.get('distance_ratio') or 'not_available'}"
    if g.state == NONE:
        return "no liquidation price"
    k = as_float(row.distance_sigma)
    stale = "*" if "distance_ratio" in row.notes else ""  # the only note a finite distance has
    text = f"{fmt.pct(row.distance_ratio)}{stale} · {fmt.sigma(k) if k == k else 'σ n/a'}"
    if level and g.state not in (CLEAR, UNRATED):
        inside = min((t for t in g.levels if t.severity == g.state), key=lambda t: t.value, default=None)
        below = f" < {fmt.pct(inside.value)}" if inside is not None else ""
        text += f" · {g.state}{below}"
    return text


def _bar(row: PositionRow) -> str:
    """`▇▇▇│▁▁▁▁│▁▁▁▁▁▁▁▁`: filled to the distance, `│` at each threshold of the rules.

    Without colour the states that are not a distance draw their own full bar, unmarked: `▓`
    past liquidation, `░` unknown, `═` for a leg no price move liquidates.
    """
    g = row.gauge
    marks = {min(BAR_CELLS, round(t.value / g.scale * BAR_CELLS)) for t in g.levels if g.scale > 0}
    marks.discard(0)
    whole = {PAST: "▓", UNKNOWN: "░", NONE: "═"}.get(g.state)
    if whole is not None:  # as long as a marked bar, so the words line up
        return whole * (BAR_CELLS + len(marks))
    if g.fill >= 1:
        filled = BAR_CELLS
    else:  # floor: a leg inside a level never reaches that level's mark; a live leg shows one cell
        filled = max(1, math.floor(g.fill * BAR_CELLS)) if as_float(row.distance_ratio) > 0 else 0
    out = []
    for i in range(BAR_CELLS):
        if i in marks:
            out.append("│")
        out.append("▇" if i < filled else "▁")
    return "".join(out) + ("│" if BAR_CELLS in marks else "")


def gauge_text(row: PositionRow) -> str:
    """The terminal's bar and its words."""
    return f"{_bar(row)} {gauge_caption(row)}"


def _pct4(v: Num) -> str:
    return fmt.pct(v, 4, signed=True)


def _until(v: Num) -> str:
    return human.until(as_float(v))


def _flow(v: Num) -> str:
    return human.flow(as_float(v))


def _interval(v: Num) -> str:
    x = as_float(v)
    return fmt.NA if x != x else fmt.duration(x)


def _signed_tone(field: str) -> Callable[[Any], str]:
    def tone(row: Any) -> str:
        x = as_float(getattr(row, field))
        return "good" if x > 0 else "bad" if x < 0 else ""

    return tone


def _age(v: Num) -> str:
    x = as_float(v)
    return "never" if x == float("inf") else fmt.NA if x != x else f"{fmt.duration(x)} ago"


POSITION: Sequence[Column] = (
    Column("Account", text=lambda r: f"{r.venue} · {r.account}"),
    Column("Position", text=lambda r: f"{r.symbol} {side_word(r)}"),
    Column("To liquidation", text=gauge_text, gauge=True),
    Column(
        "Distance",
        field="distance_ratio",
        show=fmt.pct,
        figure="liquidation_distance_ratio",
        key=True,
        terminal=False,
        shown=False,
    ),
    Column(
        "σ",
        field="distance_sigma",
        show=fmt.sigma,
        figure="liquidation_distance_sigma",
        terminal=False,
        shown=False,
    ),
    Column("Mark", field="mark_usd", show=fmt.price, figure="mark_price_usd", priced=True),
    Column(
        "Liq. price",
        field="liquidation_price_usd",
        show=fmt.price,
        figure="liquidation_price_usd",
        priced=True,
    ),
    Column(
        "Margin ratio",
        field="margin_ratio",
        show=fmt.pct,
        figure=lambda r: "position_margin_ratio" if r.margin_mode == "isolated" else "margin_ratio",
    ),
    Column("Size", field="quantity", show=fmt.base, figure="position_quantity"),
    Column("Notional", field="notional_usd", show=fmt.usd, figure="position_notional_usd"),
    Column(
        "uPnL",
        field="unrealized_pnl_usd",
        show=lambda v: fmt.usd(v, signed=True),
        figure="position_unrealized_pnl_usd",
        wide=True,
        tone=_signed_tone("unrealized_pnl_usd"),
    ),
    Column("Next funding", field="funding_next_in_s", show=_until),
    Column("Pred. rate", field="funding_rate", show=_pct4, figure="funding_rate_ratio", wide=True),
    Column("Funding", field="funding_payment_usd", show=_flow, tone=_signed_tone("funding_payment_usd")),
)

ACCOUNT: Sequence[Column] = (
    Column("Account", text=lambda r: f"{r.venue} · {r.account}"),
    Column("Margin ratio", field="margin_ratio", show=fmt.pct, figure="margin_ratio", key=True),
    Column("Margin balance", field="margin_balance_usd", show=fmt.usd, figure="margin_balance_usd"),
    Column("Maintenance", field="maintenance_margin_usd", show=fmt.usd, figure="maintenance_margin_usd"),
    Column("Headroom", field="headroom_usd", show=fmt.usd, figure="margin_headroom_usd"),
    Column("Shock top-up", field="topup_for_shock_usd", show=fmt.usd, figure="topup_for_shock_usd"),
)

ASSET: Sequence[Column] = (
    Column("Asset", text=lambda r: r.asset + (" (partial)" if r.partial else "")),
    Column("Net delta", field="net_delta", show=fmt.base, figure="net_delta"),
    Column(
        "Net delta $", field="net_delta_usd", show=lambda v: fmt.usd(v, signed=True), figure="net_delta_usd"
    ),
    Column("Hedge ratio", field="hedge_ratio", show=fmt.pct, figure="hedge_ratio"),
    Column(
        "Carry / day",
        field="funding_carry_usd_per_day",
        show=lambda v: fmt.usd(v, signed=True),
        figure="funding_carry_usd_per_day",
        tone=_signed_tone("funding_carry_usd_per_day"),
    ),
)

MARKET: Sequence[Column] = (
    Column("Market", text=lambda r: f"{r.venue} · {r.symbol}"),
    Column("Mark", field="mark_usd", show=fmt.price, figure="mark_price_usd", priced=True),
    Column("Funding", field="funding_rate", show=_pct4, figure="funding_rate_ratio"),
    Column("Every", field="funding_interval_s", show=_interval, figure="funding_interval_seconds"),
    Column("Next", field="funding_next_in_s", show=_until),
    Column(
        "Annualised",
        field="funding_annualized",
        show=lambda v: fmt.pct(v, 1, signed=True),
        figure="funding_rate_annualized_ratio",
    ),
    Column("Basis", field="basis_bps", show=fmt.bps, figure="basis_bps"),
    Column(
        "Basis $", field="basis_usd", show=lambda v: fmt.usd(v, signed=True), figure="basis_usd", wide=True
    ),
)

FEED: Sequence[Column] = (
    Column("Feed", text=lambda r: f"{r.venue} · {r.stream}"),
    Column(
        "State",
        text=lambda r: (f"STALE: {r.notes['state']}" if "state" in r.notes else "STALE") if r.stale else "ok",
        tone=lambda r: "bad" if r.stale else "",
    ),
    Column("Last message", field="age_s", show=_age, figure="feed_last_message_age_seconds"),
)
