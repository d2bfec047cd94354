"""Text and JSON renderings of figures and of the stress table, for `what-if` and `stress`.

Why long format (one line per figure, grouped by what it describes) and not a wide table: the
evaluator grows new figures, and each must show up here without this module changing. A figure
that is not available prints `n/a` with its reason, never a number. In JSON a NaN is `null` and
an infinite value is the string "inf" / "-inf" (a margin ratio is infinite once the margin
balance is ≤ 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from monitor import human
from monitor.evaluation.stress import StressRow, StressTable
from monitor.records import Figure, FigureKey, Figures

__all__ = ["figures_json", "figures_text", "json_number", "stress_json", "stress_text"]

HIDDEN_PREFIXES = ("feed_", "stress_")  # feeds are trivially fresh; stress has its own table


def json_number(x: float) -> float | str | None:
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.2f}"
    return f"{x:.6g}"


def _group(key: FigureKey) -> tuple[int, str]:
    lab = key.labels()
    if "side" in lab:
        return 2, f"position {lab['venue']}/{lab['account']} {lab['symbol']} {lab['side']}"
    if "account" in lab:
        return 1, f"account {lab['venue']}/{lab['account']}"
    if "symbol" in lab:
        return 0, f"market {lab['venue']} {lab['symbol']}"
    if "asset" in lab:
        return 3, f"book {lab['asset']}"
    rest = " ".join(f"{k}={v}" for k, v in lab.items())
    return 4, f"other {rest}".rstrip()


_TITLE_LABELS = {  # labels a group's title already names, by group order
    0: ("venue", "symbol"),
    1: ("venue", "account"),
    2: ("venue", "account", "symbol", "side"),
    3: ("asset",),
}


def _name(key: FigureKey) -> str:
    """The figure's name, with the labels its group title does not name (a book figure's venue)."""
    titled = _TITLE_LABELS.get(_group(key)[0])
    if titled is None:
        return key.name
    extra = [f"{k}={v}" for k, v in key.labels().items() if k not in titled]
    return f"{key.name}{{{','.join(extra)}}}" if extra else key.name


def _shown(figs: Figures) -> list[tuple[FigureKey, Figure]]:
    return sorted(
        ((k, f) for k, f in figs.items.items() if not k.name.startswith(HIDDEN_PREFIXES)),
        key=lambda kf: (*_group(kf[0]), _name(kf[0])),
    )


_CARRIES_UNIT = frozenset({"ratio", "usd", "seconds", "sigma", "bps", "base", "flag", "count"})


def _value_text(key: FigureKey, fig: Figure, ticks: Mapping[tuple[str, str], float]) -> str:
    """A figure's value as `monitor/human.py` writes it for the alert context and the status page:
    a price at its symbol's tick (else six significant digits), a time as UTC, a size in its asset."""
    x, lab = fig.value, key.labels()
    if math.isfinite(x) and key.name.endswith("_timestamp_seconds"):
        return datetime.fromtimestamp(x, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if key.name.endswith("_price_usd"):
        return human.price(x, ticks.get((lab.get("venue", ""), lab.get("symbol", ""))))
    asset = human.base_asset(lab["symbol"]) if "symbol" in lab else lab.get("asset", "")
    text = human.by_unit(x, fig.unit, asset=asset)
    return text if fig.unit in _CARRIES_UNIT or text == "n/a" else f"{text} {fig.unit}"


def figures_text(figs: Figures, ticks: Mapping[tuple[str, str], float] | None = None) -> str:
    """The figures in human formats, prices at `ticks[(venue, symbol)]` (where known)."""
    lines: list[str] = []
    current = None
    for key, fig in _shown(figs):
        group = _group(key)
        if group != current:
            current = group
            lines.append(f"\n{group[1]}")
        note = f"  ({fig.reason})" if fig.reason else ""
        lines.append(f"  {_name(key):44s} {_value_text(key, fig, ticks or {}):>20s}{note}")
    return "\n".join(lines).lstrip("\n")


def figures_json(figs: Figures) -> list[dict[str, Any]]:
    return [
        {
            "name": k.name,
            "labels": k.labels(),
            "value": json_number(f.value),
            "unit": f.unit,
            "available": f.available,
            "reason": f.reason,
        }
        for k, f in _shown(figs)
    ]


def _who(r: StressRow) -> str:
    return f"{r.venue}/{r.account}" if r.account else r.venue


_HEAD = (
    f"{'scenario':40s} {'account':18s} {'spot_pnl':>14s} {'perp_pnl':>14s} {'funding_pnl':>12s} "
    f"{'equity_after':>15s} {'margin_ratio':>12s} {'liquidated':>10s} {'topup':>13s}"
)


def _money(x: float) -> str:
    return _fmt(x) if not math.isfinite(x) else f"{x:,.0f}"


def _row_text(r: StressRow, first: bool) -> str:
    ratio = "" if r.venue in ("custody", "total") else human.pct(r.margin_ratio_after)
    liq = "" if r.venue == "custody" else _fmt(r.liquidated)
    topup = "" if r.venue == "custody" else _money(r.topup)
    frozen = "  FROZEN" if r.frozen and r.venue != "total" else ("  (usable)" if r.frozen else "")
    name = r.scenario if first else ""
    return (
        f"{name:40s} {_who(r):18s} {_money(r.spot_pnl):>14s} {_money(r.perp_pnl):>14s} "
        f"{_money(r.funding_pnl):>12s} {_money(r.equity_after):>15s} {ratio:>12s} {liq:>10s} "
        f"{topup:>13s}{frozen}"
    )


def stress_text(table: StressTable) -> str:
    """One block per scenario: each account, custody, then the total (usable equity when frozen)."""
    lines = [_HEAD, "-" * len(_HEAD)]
    last = None
    for r in table.rows:
        lines.append(_row_text(r, r.scenario != last))
        last = r.scenario
    if table.notes:
        lines += ["", "not available:", *(f"  {n}" for n in table.notes)]
    lines += [
        "",
        "USD. FROZEN: the venue is out (its top-up cannot be made); total equity then counts only "
        "usable venues. margin_ratio: cross account, 100 % liquidates; ∞: no margin balance left.",
    ]
    return "\n".join(lines)


def _row_json(r: StressRow) -> dict[str, Any]:
    return {
        "venue": r.venue,
        "account": r.account,
        "spot_pnl_usd": json_number(r.spot_pnl),
        "perp_pnl_usd": json_number(r.perp_pnl),
        "funding_pnl_usd": json_number(r.funding_pnl),
        "equity_after_usd": json_number(r.equity_after),
        "margin_ratio_after": json_number(r.margin_ratio_after),
        "liquidated_positions": json_number(r.liquidated),
        "topup_usd": json_number(r.topup),
        "frozen": r.frozen,
    }


def stress_json(table: StressTable) -> dict[str, Any]:
    by: dict[str, list[dict[str, Any]]] = {s: [] for s in table.scenarios}
    for r in table.rows:
        by[r.scenario].append(_row_json(r))
    return {
        "scenarios": [{"name": s, "rows": rows} for s, rows in by.items()],
        "notes": list(table.notes),
    }
