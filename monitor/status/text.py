"""The status page as plain text, for `perpmon status` in an ssh session.

The same sections, columns and formats as the HTML page (monitor/status/columns.py); a value
that is NaN reads "n/a" and its reason follows in the row's last column, so nothing unknown
passes for fine. No colour: the text may be piped, mailed or pasted into a chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.status import fmt
from monitor.status.columns import ACCOUNT, ASSET, FEED, MARKET, POSITION, Column
from monitor.status.model import ABSENT, NOT_LIQUIDATABLE, AlertRow, StatusPage

__all__ = ["render_text"]

_NOTE_WIDTH = 60


def _labels(a: AlertRow) -> str:
    return " ".join(a.labels.values())


def _notes(row: Any, cols: Sequence[Column]) -> str:
    titles = {c.field: c.title for c in cols if c.field}
    parts = [
        f"{titles[k]}: {why}"
        for k, why in row.notes.items()
        if k in titles and why not in (ABSENT, NOT_LIQUIDATABLE)
    ]
    text = "; ".join(parts)
    return text if len(text) <= _NOTE_WIDTH else text[: _NOTE_WIDTH - 1] + "…"


def _table(rows: Sequence[Any], every: Sequence[Column]) -> list[str]:
    """Columns padded to their widest cell; numbers right-aligned, names left. The notes say why
    for every column, the ones the gauge's words stand in for included (σ's no_volatility)."""
    cols = [c for c in every if c.terminal]
    head = [c.title for c in cols] + ["Note"]
    body = [[c.cell(r) for c in cols] + [_notes(r, every)] for r in rows]
    if not any(line[-1] for line in body):
        head, body = head[:-1], [line[:-1] for line in body]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    numeric = [c.numeric for c in cols] + [False]

    def line(cells: list[str]) -> str:
        out = [
            cell.rjust(w) if num else cell.ljust(w)
            for cell, w, num in zip(cells, widths, numeric, strict=False)
        ]
        return "  " + "  ".join(out).rstrip()

    return [line(head), *(line(cells) for cells in body)]


def _more(shown: int, total: int) -> list[str]:
    return [f"  … and {total - shown:,} more"] if total > shown else []


def _section(
    title: str, rows: Sequence[Any], total: int, cols: Sequence[Column], empty: str, intro: str = ""
) -> list[str]:
    if not rows:
        return [title, f"  {empty}", ""]
    shown = f" (worst {len(rows):,} of {total:,})" if total > len(rows) else ""
    head = [title + shown, *([f"  {intro}"] if intro else [])]
    return [*head, *_table(rows, cols), *_more(len(rows), total), ""]


def _alerts(title: str, alerts: Sequence[AlertRow], now_ns: int, *, recent: bool) -> list[str]:
    out = [title]
    for a in alerts:
        when = f"{fmt.utc_time(a.event_ns)} ({fmt.ago(a.event_ns, now_ns)})"
        state = f"{a.state.upper():8} " if recent else ""
        since = "" if recent else f"  since {fmt.duration((now_ns - a.starts_at_ns) / 1e9)}"
        head = f"  {state}{a.severity.upper():8} {a.alertname}  {_labels(a)}"
        out.append(f"{head}  {when if recent else since.strip()}")
        if a.summary:
            out.append(f"      {a.summary}" + (f"  [{a.note}]" if a.note else ""))
    return [*out, ""]


def _thresholds(page: StatusPage) -> str:
    """What the bars' `│` marks are: the distance rules' levels, or why there are none."""
    if not page.rules_known:
        return "No thresholds on the bars: this page was not given the daemon's rules."
    by_rule: dict[str, dict[str, None]] = {}
    for p in page.positions:
        for t in p.gauge.levels:
            by_rule.setdefault(t.rule, {})[f"{t.severity} {t.op} {fmt.pct(t.value)}"] = None
    if not by_rule:
        return "No rule watches the distance: the bars have no marks."
    return "│ marks " + "; ".join(f"{rule}: {', '.join(levels)}" for rule, levels in by_rule.items())


def render_text(page: StatusPage) -> str:
    """The whole page; the first line says how old the figures are, the second what fires."""
    now = page.served_at_ns
    if page.taken_at_ns == 0:
        head = "perpmon status: no evaluation yet (the daemon is starting, or its loop has not ticked)"
    else:
        age = fmt.duration((now - page.taken_at_ns) / 1e9)
        head = f"perpmon status · figures of {fmt.utc_time(page.taken_at_ns, date=True)} ({age} old)"
    counts = ", ".join(f"{n} {sev}" for sev, n in sorted(page.firing_counts.items(), key=lambda kv: kv[0]))
    firing = f"FIRING: {counts}" if page.firing_total else "Firing: none"
    stale = f" · stale feeds: {page.feeds_stale:,} of {page.feeds_total:,}" if page.feeds_stale else ""
    unknown = page.positions_unknown
    blind = f" · {fmt.count(unknown, 'position')} without a liquidation distance" if unknown else ""
    lines = [head, firing + stale + blind, ""]
    if page.firing:
        shown = (
            f" (most severe {len(page.firing):,} of {page.firing_total:,})"
            if page.firing_total > len(page.firing)
            else ""
        )
        lines += _alerts("Alerts firing now" + shown, page.firing, now, recent=False)
    lines += _section(
        "Positions by distance to liquidation",
        page.positions,
        page.positions_total,
        POSITION,
        "no positions",
        _thresholds(page),
    )
    lines += _section("Accounts by margin ratio", page.accounts, page.accounts_total, ACCOUNT, "no accounts")
    lines += _section("Book by asset", page.assets, page.assets_total, ASSET, "no book figures")
    lines += _section("Funding and basis", page.markets, page.markets_total, MARKET, "no markets")
    lines += _section("Feeds, stale first", page.feeds, page.feeds_total, FEED, "no feeds")
    if page.recent:
        lines += _alerts("Recent transitions, newest first", page.recent, now, recent=True)
    return "\n".join(lines).rstrip() + "\n"
