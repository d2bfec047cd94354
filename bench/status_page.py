"""The status page at desk scale: what a refresh costs beside a /metrics scrape of the same tick.

Run: `.venv/bin/python bench/status_page.py [--rounds N]`. Prints figures; no asserts.
Books of every CATALOG name over its own labels, valued as bench/metrics_exposition.py does (~5 %
NaN, a few ±Inf, 2 % stale): 60 symbols × 130 positions and 600 × 1,000 (~84,000 figures). Measured in
the same run on the same Figures:
- the baseline: a warm /metrics render of the tick (FigureExposition, every value moved);
- build_status (the one scan of the figures, the rows, the sort), at the page's limit of 50;
- rendering the built page as HTML body, as text, as JSON; and their sizes, at limit 50 and 1,000
  (what the limit saves a phone on every 2 s refresh).
The build runs in a worker thread in the daemon (monitor/status/routes.py), once per tick however
many viewers; these numbers are that thread's work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metrics_exposition import show, tick, timed

from monitor.exposition import FigureExposition
from monitor.figures import CATALOG
from monitor.records import FigureKey
from monitor.status.build import build_status
from monitor.status.html import render_body
from monitor.status.text import render_text

VENUES = ("binance", "bybit")


def book_keys(symbols: int, positions: int, accounts: int) -> list[FigureKey]:
    """A desk's FigureKeys: every CATALOG name over its own label set (one per row of that shape)."""
    syms = [(VENUES[i % 2], f"C{i:03d}USDT", f"C{i:03d}") for i in range(symbols)]
    accts = [(VENUES[i % 2], f"desk-{i:02d}") for i in range(accounts)]
    pos = [
        (v, a, syms[(j * 7 + k) % symbols][1], ("BOTH", "LONG", "SHORT")[k % 3])
        for j, (v, a) in enumerate(accts)
        for k in range(positions // accounts)
    ]
    rows: dict[tuple[str, ...], list[dict[str, str]]] = {
        ("venue", "symbol"): [{"venue": v, "symbol": s} for v, s, _ in syms],
        ("venue", "account", "symbol", "side"): [
            {"venue": v, "account": a, "symbol": s, "side": d} for v, a, s, d in pos
        ],
        ("venue", "account"): [{"venue": v, "account": a} for v, a in accts],
        ("asset",): [{"asset": b} for _, _, b in syms[: symbols // 2]],
        ("venue", "account", "scenario"): [
            {"venue": v, "account": a, "scenario": sc} for v, a in accts for sc in ("crash_20", "rally_20")
        ],
        ("venue", "stream"): [
            {"venue": v, "stream": f"{kind}:{s}"} for v, s, _ in syms for kind in ("mark", "book:perp")
        ],
        (): [{}],
    }
    return [FigureKey(name=n, **lab) for n, spec in CATALOG.items() for lab in rows.get(spec.labels, [])]


def run(symbols: int, positions: int, accounts: int, rounds: int) -> None:
    keys = book_keys(symbols, positions, accounts)
    figs = [tick(keys, seed) for seed in range(rounds + 1)]
    print(f"{symbols} symbols × {positions:,} positions, {accounts} accounts: {len(keys):,} figures")
    expo = FigureExposition()
    expo.render(figs[0])
    it = iter(figs[1:] * 2)
    show("/metrics render (baseline)", timed(lambda: expo.render(next(it)), rounds))
    now = figs[0].taken_at_ns
    show("build_status, limit 50", timed(lambda: build_status(figs[0], [], [], now, 50), rounds))
    page = build_status(figs[0], [], [], now, 50)
    show("render_body (HTML)", timed(lambda: render_body(page), rounds), 2)
    show("render_text", timed(lambda: render_text(page), rounds), 2)
    show("JSON encode", timed(lambda: msgspec.json.encode(page), rounds), 2)
    for limit in (50, 1000):
        p = build_status(figs[0], [], [], now, limit)
        html, js = render_body(p), msgspec.json.encode(p)
        print(
            f"  limit {limit:>5,}: {len(p.positions):,} of {p.positions_total:,} positions shown, "
            f"HTML body {len(html.encode()) / 1e3:,.0f} kB, JSON {len(js) / 1e3:,.0f} kB"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    run(60, 130, 10, args.rounds)
    run(600, 1000, 20, args.rounds)


if __name__ == "__main__":
    main()
