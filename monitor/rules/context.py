"""Alert context: each event annotated, in words a desk reads, from the same tick's Figures.

Why a step of its own between the engine and the outbox: the engine decides *whether* to tell
someone; a person woken by it needs *what it takes* — which book and leg, how far (4.92 %, 1.3 σ),
mark and liquidation price, the margin ratio and the top-up that survives the configured shock, the
funding per interval and a year, how long a feed has been silent. Those are other figures of the
same tick, so they are read here, by key, with `figures.get` (no scan of the tick), and written as
annotations: every channel renders the same facts, and the webhook's JSON carries them too.

Pure: events and Figures in, new events out; an event whose figures are missing keeps what it
has (a resolved "figure gone" alert has no mark to show). The numbers are formatted by
`monitor/human.py`, the summary line by `summary.py`; the machine-readable `value` and
`threshold` annotations are left as they were.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from monitor import human
from monitor.clock import NS_PER_S
from monitor.figures import CATALOG
from monitor.records import AlertEvent, AlertState, FigureKey, Figures
from monitor.rules.model import UNAVAILABLE_ALERTNAME, Rule
from monitor.rules.summary import OP_WORDS, summary, unavailable

__all__ = ["CONTEXT_FIELDS", "annotate"]

# annotation key → label, in the order a person reads them (render.py shows them in this order)
CONTEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("position", "Position"),
    ("mark", "Mark"),
    ("liquidation_price", "Liquidation price"),
    ("distance", "Distance to liquidation"),
    ("margin_ratio", "Margin ratio"),
    ("margin", "Margin"),
    ("topup", "Top-up"),
    ("funding", "Funding"),
    ("next_funding", "Next funding"),
    ("carry", "Book carry"),
    ("hedge", "Hedge"),
    ("silent_for", "Silent for"),
    ("var_model", "VaR model"),
    ("limit", "Alert level"),
    ("lasted", "Lasted"),
)
_P = ("venue", "account", "symbol", "side")
_A = ("venue", "account")
_M = ("venue", "symbol")
_FUNDING = frozenset(
    {
        "funding_rate_ratio",
        "funding_rate_annualized_ratio",
        "funding_interval_seconds",
        "funding_next_timestamp_seconds",
        "funding_settled_rate_ratio",
        "funding_spread_annualized_ratio",
    }
)
_BOOK_FUNDING = frozenset({"funding_carry_usd_per_day", "venue_funding_carry_usd_per_day"})
_VAR = frozenset({"var_usd", "es_usd"})
_METHOD_WORDS = {"filtered_historical": "filtered historical", "monte_carlo": "Monte Carlo"}
# the reason of var_usd{method="preferred"} (monitor/evaluation/var_check.py `preferred_figures`)
_CHOSEN = re.compile(r"\bpreferred: ([a-z_]+)")
_LARGEST = re.compile(r"\bfallback_max: ([a-z_]+); ([a-z_]+)")
_NO_CHOICE = {
    "warming_up": "its backtest is still warming up",
    "no_method_holds": "no model holds its backtest",
    "preferred_unavailable": "the preferred model has no value now",
    "no_self_check": "no backtest runs",
}


def annotate(
    events: Sequence[AlertEvent],
    figures: Figures | None,
    rules: Iterable[Rule] = (),
    *,
    shock: float | None = None,
    ticks: Mapping[tuple[str, str], float] | None = None,
    link: str = "",
) -> list[AlertEvent]:
    # `figures` None (no tick yet) leaves the events as the engine wrote them
    """Each event with its human value, threshold, summary and context (see the module docstring).

    `rules` re-render their summaries with human values (`{value}` → `4.92 %`; a format spec such
    as `{value:.3f}` still gets the number); `shock` names the move the top-up survives; `ticks`
    gives a price's tick per (venue, symbol) where known; `link` (a page to look closer) becomes the
    `url` annotation, which chat channels turn into a button or a click target.
    """
    if not events or figures is None:
        return list(events)
    by_name = {r.name: r for r in rules}
    ctx = _Context(figures, shock, ticks or {})
    return [ctx.event(ev, by_name.get(ev.labels.get("alertname", "")), link) for ev in events]


class _Context:
    """One tick's context, each row's built once: a burst tells many alerts on the same accounts,
    legs and markets (565 FigureUnavailable at once made a 46 ms tick), and each part below is a
    pure function of the tick's Figures and the row's labels, so the first event of a row builds
    it and the others reuse it. Only rows with events are built; nothing outlives the call."""

    def __init__(self, figures: Figures, shock: float | None, ticks: Mapping[tuple[str, str], float]) -> None:
        self.figures = figures
        self.columns = figures.columns
        self.shock = shock
        self.ticks = ticks
        self._built: dict[tuple[str, ...], dict[str, str]] = {}  # (part, *row labels) → its notes

    def value(self, name: str, labels: Mapping[str, str], keys: tuple[str, ...]) -> float:
        return self.at(FigureKey(name=name, **{k: labels.get(k, "") for k in keys}))

    def at(self, key: FigureKey) -> float:
        """The value of `key` read from its column: no Figure is built for a number."""
        col = self.columns.get(key.name)
        row = None if col is None else col.shape.index.get(key)
        return math.nan if row is None or col is None else float(col.values.item(row))

    def _reader(self, labels: Mapping[str, str], keys: tuple[str, ...]) -> Callable[[str], float]:
        """Values of one row's figures by name: the row's labels picked once, not per figure."""
        where = {k: labels.get(k, "") for k in keys}
        at = self.at
        return lambda name: at(FigureKey(name=name, **where))

    def _once(self, part: tuple[str, ...], build: Callable[[], dict[str, str]]) -> dict[str, str]:
        """`build()` for this row the first time; callers copy, never change, what comes back."""
        hit = self._built.get(part)
        if hit is None:
            hit = self._built[part] = build()
        return hit

    def price(self, x: float, labels: Mapping[str, str]) -> str:
        return human.price(x, self.ticks.get((labels.get("venue", ""), labels.get("symbol", ""))))

    # ------------------------------------------------------------ one event

    def event(self, ev: AlertEvent, rule: Rule | None, link: str) -> AlertEvent:
        figure = ev.labels.get("figure") or ev.annotations.get("figure", "")
        spec = CATALOG.get(figure)
        unit = spec.unit if spec is not None else ""
        labels = ev.labels
        asset = (
            human.base_asset(labels.get("symbol", "")) if labels.get("symbol") else labels.get("asset", "")
        )
        notes: dict[str, str] = {}
        value_text = self._shown(ev.value, unit, figure, labels, asset)
        if figure and not math.isnan(ev.value):
            notes["value_text"] = value_text
        threshold = _float(ev.annotations.get("threshold"))
        if threshold is not None:
            notes["threshold_text"] = self._shown(threshold, unit, figure, labels, asset)
            op = OP_WORDS.get(ev.annotations.get("op", ""))
            if op and unit != "flag":
                notes["limit"] = f"{ev.severity.label} {op} {notes['threshold_text']}"
        if figure in _VAR:
            notes["var_model"] = self.var_model(figure, labels)
        if rule is not None and figure == rule.figure:
            extra = {"model": notes["var_model"]} if "var_model" in notes else {}
            notes["summary"] = summary(
                rule, ev, value_text, notes.get("threshold_text", ""), threshold, extra
            )
        elif labels.get("alertname") == UNAVAILABLE_ALERTNAME and figure:
            notes["summary"] = unavailable(ev, figure, value_text)
        if spec is not None:
            notes.update(self.context(figure, spec.labels, labels, asset))
        if ev.state is AlertState.RESOLVED and ev.ends_at_ns is not None and ev.ends_at_ns > ev.starts_at_ns:
            notes["lasted"] = human.duration((ev.ends_at_ns - ev.starts_at_ns) / NS_PER_S)
        if link:
            notes["url"] = link
        return AlertEvent(
            fingerprint=ev.fingerprint,
            labels=ev.labels,
            annotations={**ev.annotations, **notes},
            state=ev.state,
            severity=ev.severity,
            starts_at_ns=ev.starts_at_ns,
            ends_at_ns=ev.ends_at_ns,
            value=ev.value,
            event_ns=ev.event_ns,
        )

    def _shown(self, x: float, unit: str, figure: str, labels: Mapping[str, str], asset: str) -> str:
        if unit == "usd" and figure.endswith("_price_usd"):
            return self.price(x, labels)
        if figure == "position_quantity":
            return f"{'long' if x > 0 else 'short' if x < 0 else 'flat'} {human.quantity(x, asset)}"
        return human.by_unit(x, unit, asset=asset)

    def context(
        self, figure: str, keys: tuple[str, ...], labels: Mapping[str, str], asset: str
    ) -> dict[str, str]:
        venue = labels.get("venue", "")
        if keys == _P:
            row = (venue, labels.get("account", ""), labels.get("symbol", ""), labels.get("side", ""))
            return self._once(
                ("position", *row, asset),
                lambda: {**self.position(labels, asset), **self.account(labels, brief=True)},
            )
        if keys == _A:
            return self.account(labels, brief=False)
        if figure in _FUNDING and keys == _M:
            symbol = labels.get("symbol", "")
            return self._once(("funding", venue, symbol, asset), lambda: self.funding(labels, asset))
        if figure in _BOOK_FUNDING or figure in ("hedge_ratio", "net_delta", "net_delta_usd"):
            return self._once(("book", labels.get("asset", ""), asset), lambda: self.book(labels, asset))
        if keys == ("venue", "stream"):
            age = self.value("feed_last_message_age_seconds", labels, keys)
            return {} if math.isnan(age) else {"silent_for": human.duration(age)}
        return {}

    def var_model(self, figure: str, labels: Mapping[str, str]) -> str:
        """The model behind a VaR/ES figure in words; for "preferred", the one its reason names now."""
        method = labels.get("method", "")
        fig = self.figures.get(FigureKey(name=figure, method=method, confidence=labels.get("confidence", "")))
        reason = fig.reason if fig is not None and not math.isnan(fig.value) else ""
        if method != "preferred" or not reason:
            return "preferred by the backtest" if method == "preferred" else _method(method)
        if chosen := _CHOSEN.search(reason):
            return f"{_method(chosen[1])}, preferred by the backtest"
        if largest := _LARGEST.search(reason):
            return f"{_method(largest[2])}, the largest: {_NO_CHOICE.get(largest[1], largest[1])}"
        return "preferred by the backtest"

    def mark(self, labels: Mapping[str, str]) -> dict[str, str]:
        """Per (venue, symbol): the legs of a market share its mark."""

        def build() -> dict[str, str]:
            mark = self._reader(labels, _M)("mark_price_usd")
            return {} if math.isnan(mark) else {"mark": self.price(mark, labels)}

        return self._once(("mark", labels.get("venue", ""), labels.get("symbol", "")), build)

    def position(self, labels: Mapping[str, str], asset: str) -> dict[str, str]:
        out: dict[str, str] = {}
        leg = self._reader(labels, _P)
        qty = leg("position_quantity")
        if not math.isnan(qty) and qty != 0:
            notional = leg("position_notional_usd")
            side = "long" if qty > 0 else "short"
            size = f"{side} {human.quantity(qty, asset)}"
            out["position"] = size if math.isnan(notional) else f"{size} ({human.usd(notional)})"
        out.update(self.mark(labels))
        lp = leg("liquidation_price_usd")
        venue_lp = leg("venue_liquidation_price_usd")
        if not math.isnan(lp):
            out["liquidation_price"] = self.price(lp, labels)
            # the venue's own LP beside perpmon's when they differ by more than a basis point
            if not math.isnan(venue_lp) and abs(venue_lp - lp) > 1e-4 * abs(lp):
                out["liquidation_price"] += f" (venue {self.price(venue_lp, labels)})"
        elif not math.isnan(venue_lp):
            out["liquidation_price"] = f"{self.price(venue_lp, labels)} (venue)"
        dist = leg("liquidation_distance_ratio")
        dsig = leg("liquidation_distance_sigma")
        parts = [t for x, t in ((dist, human.pct(dist)), (dsig, human.sigma(dsig))) if not math.isnan(x)]
        if parts:
            out["distance"] = " · ".join(parts)
        iso = leg("position_margin_ratio")
        if not math.isnan(iso):
            out["margin_ratio"] = f"{human.pct(iso)} (isolated)"
        topup = leg("position_topup_for_shock_usd")
        if not math.isnan(topup):
            out["topup"] = self._topup(topup)
        return out

    def account(self, labels: Mapping[str, str], *, brief: bool) -> dict[str, str]:
        """Per (venue, account): every leg's event of an account shares it."""
        where = (labels.get("venue", ""), labels.get("account", ""))
        return self._once(
            ("account", *where, "brief" if brief else "full"), lambda: self._account(labels, brief)
        )

    def _account(self, labels: Mapping[str, str], brief: bool) -> dict[str, str]:
        out: dict[str, str] = {}
        acct = self._reader(labels, _A)
        ratio = acct("margin_ratio")
        if not math.isnan(ratio):
            out["margin_ratio"] = f"{human.pct(ratio)} (cross; 100 % liquidates)"
        if not brief:
            balance = acct("margin_balance_usd")
            maint = acct("maintenance_margin_usd")
            headroom = acct("margin_headroom_usd")
            said = [(balance, "balance"), (maint, "maintenance"), (headroom, "headroom")]
            parts = [f"{word} {human.usd(x)}" for x, word in said if not math.isnan(x)]
            if parts:
                out["margin"] = ", ".join(parts)
        topup = acct("topup_for_shock_usd")
        if not math.isnan(topup):
            out.setdefault("topup", self._topup(topup))
        return out

    def _topup(self, x: float) -> str:
        move = f"a {human.pct(self.shock)} adverse move" if self.shock is not None else "the configured shock"
        if x <= 0:
            return f"none needed: survives {move}"
        return f"{human.usd(x)} survives {move}"

    def funding(self, labels: Mapping[str, str], asset: str) -> dict[str, str]:
        out: dict[str, str] = {}
        market = self._reader(labels, _M)
        rate = market("funding_rate_ratio")
        yearly = market("funding_rate_annualized_ratio")
        interval = market("funding_interval_seconds")
        parts = []
        if not math.isnan(rate):
            every = f" per {human.duration(interval)}" if not math.isnan(interval) else " per interval"
            parts.append(f"{human.pct(rate)}{every}")
        if not math.isnan(yearly):
            parts.append(f"{human.pct(yearly)} a year")
        if parts:
            out["funding"] = " · ".join(parts)
        nxt = market("funding_next_timestamp_seconds")
        if not math.isnan(nxt) and nxt > 0:
            out["next_funding"] = "in " + human.duration(max(0.0, nxt - self.figures.taken_at_ns / NS_PER_S))
        out.update(self.book({"asset": asset}, asset))
        return out

    def book(self, labels: Mapping[str, str], asset: str) -> dict[str, str]:
        out: dict[str, str] = {}
        carry = self.value("funding_carry_usd_per_day", labels, ("asset",))
        if not math.isnan(carry):
            verb = "receives" if carry >= 0 else "pays"
            out["carry"] = f"the {asset} book {verb} {human.usd(abs(carry))} a day"
        ratio = self.value("hedge_ratio", labels, ("asset",))
        delta = self.value("net_delta", labels, ("asset",))
        parts = []
        if not math.isnan(ratio):
            parts.append(f"ratio {human.pct(ratio)}")
        if not math.isnan(delta):
            parts.append(f"net delta {human.number(delta)} {asset}".rstrip())
        if parts:
            out["hedge"] = ", ".join(parts)
        return out


def _method(method: str) -> str:
    return _METHOD_WORDS.get(method, method.replace("_", " "))


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None
