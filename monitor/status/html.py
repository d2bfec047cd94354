"""The status page as HTML: a shell (render_page) around a body (render_body) the script re-fetches.

Each number cell carries its figure's name and raw value (`data-figure`, `data-v`, the row's
labels on its `<tr>`) beside the formatted text, so what the page says can be checked against
/metrics, and a person can hover a "n/a" to read why. Every string from outside (labels, alert
summaries from config) is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from monitor.status import fmt
from monitor.status.assets import CSS, SCRIPT
from monitor.status.columns import ACCOUNT, ASSET, FEED, MARKET, POSITION, Column, gauge_caption
from monitor.status.model import (
    ABSENT,
    NONE,
    NOT_LIQUIDATABLE,
    PAST,
    UNKNOWN,
    AlertRow,
    PositionRow,
    StatusPage,
    as_float,
)

__all__ = ["render_body", "render_page"]

_UNFOLDED = 3  # alerts shown as cards before the rest fold away
_ROW_LABELS = ("venue", "account", "symbol", "side", "asset", "stream")


def _attr(v: object) -> str:
    return escape(str(v), quote=True)


def _raw(v: float) -> str:
    """The value as /metrics spells it, exactly (repr round-trips a float)."""
    return "NaN" if v != v else ("+Inf" if v == float("inf") else "-Inf" if v == float("-inf") else repr(v))


def _gauge(row: PositionRow) -> str:
    """The bar: its length the distance at the page's scale, its colour the level it is inside,
    a tick per threshold of the rules covering the leg; unknown, past liquidation and
    not-liquidatable legs draw full length in their own colours, unmarked, never a short bar."""
    g = row.gauge
    d = as_float(row.distance_ratio)
    # a live leg always shows some bar: an empty track would read as "nothing here"
    live = max(1.5, 100.0 * g.fill) if d > 0 else 0.0
    width = 100.0 if g.state in (PAST, UNKNOWN, NONE) else live
    marks = "".join(
        f'<i class="lv lv-{_attr(t.severity)}" style="left:{min(100.0, 100.0 * t.value / g.scale):.2f}%"'
        f' data-level="{_raw(t.value)}" data-severity="{_attr(t.severity)}"'
        f' title="{_attr(f"{t.rule}: {t.severity} below {fmt.pct(t.value)}")}"></i>'
        for t in g.levels
        if g.scale > 0 and g.state not in (PAST, UNKNOWN, NONE)  # not a distance: nothing to compare
    )
    words = gauge_caption(row)  # with the level it is inside, for a hover and a screen reader
    stale = " stale" if row.notes.get("distance_ratio") == "stale" else ""  # faded, its words end in "*"
    return (
        f'<div class="gauge st-{_attr(g.state)}{stale}" data-state="{_attr(g.state)}"'
        f' data-fill="{_raw(g.fill)}" data-scale="{_raw(g.scale)}" role="img"'
        f' aria-label="{_attr(words)}" title="{_attr(words)}">'
        f'<span class="track"><span class="fill" style="width:{width:.2f}%"></span>{marks}</span>'
        f'<span class="cap">{escape(gauge_caption(row, level=False))}</span></div>'
    )


def _td(col: Column, row: Any) -> str:
    if col.gauge:
        return f'<td class="g" data-label="{_attr(col.title)}">{_gauge(row)}</td>'
    classes = [] if col.numeric else ["h"]
    attrs = f' data-label="{_attr(col.title)}"'
    if col.numeric:
        classes.append("n")
        v = as_float(col.value(row))
        note = col.note(row)
        attrs += f' data-figure="{_attr(col.figure(row))}" data-v="{_raw(v)}"'
        if (tick := col.tick(row)) is not None:
            attrs += f' data-tick="{_raw(tick)}"'  # the tick whose decimals the shown price has
        if note:
            attrs += f' title="{_attr(note)}"'
            if note not in (ABSENT, NOT_LIQUIDATABLE):
                classes.append("stale" if note == "stale" else "na")
    tone = col.tone(row)
    for flag, cls in ((col.wide, "wide"), (col.key, "key"), (not col.shown, "dup"), (bool(tone), tone)):
        if flag:
            classes.append(cls)
    return f'<td class="{" ".join(classes)}"{attrs}>{escape(col.cell(row))}</td>'


def _table(rows: Sequence[Any], cols: Sequence[Column], css: str = "") -> str:
    head = "".join(
        f'<th class="{"n" if c.numeric else "g" if c.gauge else ""}{" wide" if c.wide else ""}'
        f'{"" if c.shown else " dup"}">'
        f"{escape(c.title)}</th>"
        for c in cols
    )
    body = []
    for r in rows:
        labels = "".join(f' data-{k}="{_attr(getattr(r, k))}"' for k in _ROW_LABELS if hasattr(r, k))
        sev = f' class="sev-{r.severity}"' if r.severity else ""
        body.append(f"<tr{sev}{labels}>{''.join(_td(c, r) for c in cols)}</tr>")
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(
    key: str,
    title: str,
    rows: Sequence[Any],
    total: int,
    cols: Sequence[Column],
    empty: str,
    *,
    css: str = "",
    fold: str = "",
    intro: str = "",
) -> str:
    """A titled table; with `fold`, the table hides behind that one-line summary until opened;
    `intro` is a line between the title and the table."""
    sub = f" <small>· worst {len(rows):,} of {total:,}</small>" if total > len(rows) else ""
    inner = _table(rows, cols, css) if rows else f'<p class="empty">{escape(empty)}</p>'
    if intro and rows:
        inner = f'<p class="intro">{escape(intro)}</p>{inner}'
    more = f'<p class="more">… and {total - len(rows):,} more</p>' if total > len(rows) else ""
    if fold and rows:
        inner = f'<details id="{key}-fold"><summary>{escape(fold)}</summary>{inner}{more}</details>'
        more = ""
    return f'<section id="{key}"><h2>{escape(title)}{sub}</h2>{inner}{more}</section>'


def _feeds(page: StatusPage) -> str:
    """Stale feeds open; all fresh, one line (the table a tap away: it is long on a desk)."""
    fold = ""
    if page.feeds and not page.feeds_stale:
        quiet = as_float(page.feeds[0].age_s)
        fold = f"All {page.feeds_total:,} fresh · the quietest spoke {fmt.duration(quiet)} ago"
    return _section(
        "feeds",
        "Feeds, stale first",
        page.feeds,
        page.feeds_total,
        FEED,
        "No feeds.",
        css="compact",
        fold=fold,
    )


def _alert(a: AlertRow, now_ns: int, *, recent: bool) -> str:
    cls = f"sev-{a.severity}" + (" resolved" if a.state == "resolved" else "")
    badge = a.state if recent and a.state == "resolved" else a.severity
    labels = " · ".join(a.labels.values())
    if recent:
        when = f"{fmt.utc_time(a.event_ns)} · {fmt.ago(a.event_ns, now_ns)}"
    else:
        when = f"since {fmt.duration((now_ns - a.starts_at_ns) / 1e9)}"
    note = f' <span class="sub">[{escape(a.note)}]</span>' if a.note else ""
    sev = f'<span class="sub">{escape(a.severity)}</span> ' if recent and a.state == "resolved" else ""
    return (
        f'<li class="{cls}"><span class="when">{escape(when)}</span>'
        f'<span class="badge">{escape(badge)}</span>{sev}<b>{escape(a.alertname)}</b> '
        f'<span class="labels">{escape(labels)}</span>'
        f'<div class="what">{escape(a.summary)}{note}</div></li>'
    )


def _alerts(
    key: str, title: str, alerts: Sequence[AlertRow], total: int, now_ns: int, *, recent: bool
) -> str:
    if not alerts:
        return ""
    """The first few as cards, the rest a tap away: the positions must stay near the top of a phone."""
    sub = f" <small>· most severe {len(alerts):,} of {total:,}</small>" if total > len(alerts) else ""
    shown, rest = alerts[:_UNFOLDED], alerts[_UNFOLDED:]
    items = f'<ul class="alerts">{"".join(_alert(a, now_ns, recent=recent) for a in shown)}</ul>'
    if rest:
        more = f"{len(rest):,} earlier" if recent else f"{len(rest):,} more firing"
        inner = "".join(_alert(a, now_ns, recent=recent) for a in rest)
        items += (
            f'<details id="{key}-fold"><summary>{more}</summary><ul class="alerts">{inner}</ul></details>'
        )
    return f'<section id="{key}"><h2>{escape(title)}{sub}</h2>{items}</section>'


def _chips(page: StatusPage) -> str:
    chips = []
    order = ("page", "critical", "warning", "info")
    for sev in sorted(page.firing_counts, key=lambda s: order.index(s) if s in order else len(order)):
        chips.append(f'<span class="chip {_attr(sev)}">{page.firing_counts[sev]:,} {escape(sev)}</span>')
    if not page.taken_at_ns:  # no tick yet: "nothing firing" would be an all-clear nobody checked
        chips.append('<span class="chip warning">no evaluation yet</span>')
    elif not page.firing_total:
        chips.append('<span class="chip ok">nothing firing</span>')
    chips.append(f'<span class="chip">{fmt.count(page.positions_total, "position")}</span>')
    if page.positions_unknown:
        n = page.positions_unknown
        chips.append(f'<span class="chip warning">{n:,} without a liquidation distance</span>')
    if page.feeds_stale:
        chips.append(
            f'<span class="chip critical">{page.feeds_stale:,} of {page.feeds_total:,} feeds stale</span>'
        )
    elif page.feeds_total:
        chips.append(f'<span class="chip">{fmt.count(page.feeds_total, "feed")} fresh</span>')
    return f'<div class="chips">{"".join(chips)}</div>'


def _thresholds(page: StatusPage) -> str:
    """Said once above the bars when they carry no marks, and why."""
    if not page.rules_known:
        return "No thresholds on the bars: this page was not given the daemon's rules."
    if not any(p.gauge.levels for p in page.positions):
        return "No rule watches the distance: the bars have no marks."
    return ""


def render_body(page: StatusPage) -> str:
    """Everything that changes tick to tick (what the script swaps in)."""
    now = page.served_at_ns
    when = fmt.utc_time(page.taken_at_ns, date=True) if page.taken_at_ns else "no evaluation yet"
    parts = [
        f'<div class="summary" data-taken="{page.taken_at_ns}" data-served="{now}" title="figures of {when}">'
        f"{_chips(page)}</div>",
        _alerts("firing", "Alerts firing now", page.firing, page.firing_total, now, recent=False),
        _section(
            "positions",
            "Positions by distance to liquidation",
            page.positions,
            page.positions_total,
            POSITION,
            "No positions.",
            intro=_thresholds(page),
        ),
        _section(
            "accounts",
            "Accounts by margin ratio",
            page.accounts,
            page.accounts_total,
            ACCOUNT,
            "No accounts.",
        ),
        _section("book", "Book by asset", page.assets, page.assets_total, ASSET, "No book figures."),
        _section("markets", "Funding and basis", page.markets, page.markets_total, MARKET, "No markets."),
        _feeds(page),
        _alerts("recent", "Recent transitions", page.recent, len(page.recent), now, recent=True),
    ]
    return "".join(parts)


def render_page(page: StatusPage, *, stale_after_s: float) -> str:
    """The whole document: inline style and script, the body as of now (readable without script)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="color-scheme" content="dark">'
        f"<title>perpmon · status</title><style>{CSS}</style></head>"
        f'<body data-stale-after="{stale_after_s:g}">'
        '<header><span id="dot" class="dot"></span><h1>perpmon</h1>'
        '<span class="tick">figures <span id="age"></span></span></header>'
        '<div id="banner" role="alert"></div>'
        f'<main id="live">{render_body(page)}</main>'
        f"<script>{SCRIPT}</script></body></html>"
    )
