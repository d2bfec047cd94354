"""Whole-book tier, MM, LP and top-up lookups equal a plain per-position loop, tick after tick.

The vectorised functions keep per-thread state between calls (the last tiers found per book,
the last book's gathered tier rows) and read precomputed layouts of the table (flat NaN-padded
arrays, a tier-major block with a long and a short column per symbol). None of that may change
a number: each tick here is checked element by element, to the bit, against a loop over the
positions that applies the documented rules with Python floats, while the marks move across
tier floors, positions flip side, symbols change and bad values come and go.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.risk.liquidation import liquidation_price, liquidation_prices
from monitor.risk.margin import Brackets, bracket_problem, brackets
from monitor.risk.reasons import Reason
from monitor.risk.tiers import table_maintenance_margin, table_tier, tier_table
from monitor.risk.topup import topup_isolated

FLOORS = [0, 50_000, 250_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000, 100_000_000, 200_000_000, 3e8]
MMRS = [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.3]


def _tables(rng: np.random.Generator, n: int) -> list[Brackets]:
    out = []
    for _ in range(n):
        k = int(rng.integers(1, len(FLOORS) + 1))
        f, m = np.array(FLOORS[:k]) * float(rng.choice([0.01, 0.1, 1.0, 3.7])), np.array(MMRS[:k])
        kind = int(rng.integers(0, 8))
        if kind == 0:  # published cum off the recursion: MM jumps at floors (TIER_BOUNDARY)
            c = brackets(f, m).cums * (1 + rng.normal(0, 0.05, k))
            out.append(brackets(f, m, cums=np.concatenate([[0.0], c[1:]])))
        elif kind == 1:  # off by less than the tolerance: treated as consistent
            out.append(brackets(f, m, cums=brackets(f, m).cums * (1 + rng.uniform(-9e-7, 9e-7, k))))
        elif kind == 2 and k > 1:  # a gap: the row is unusable
            out.append(brackets(f, m, caps=np.append(f[1:] * 0.9, np.inf)))
        elif kind == 3:  # a finite last cap
            out.append(brackets(f, m, caps=np.append(f[1:], f[-1] * 2 + 1e4)))
        else:
            out.append(brackets(f, m))
    return out


def _usable(b: Brackets) -> bool:
    return bracket_problem(b) in (Reason.OK, Reason.TIER_BOUNDARY)


def _tier(b: Brackets | None, n: float, open_ended: bool) -> int:
    if b is None or not _usable(b) or not n >= 0:
        return -1
    if not open_ended and n >= float(b.caps[-1]):
        return -1
    return max(t for t in range(b.floors.size) if float(b.floors[t]) <= n)


def _lp(
    q: float, e: float, p: float, w: float, om: float, ou: float, b: Brackets | None
) -> tuple[float, int, int]:
    nan = math.nan
    if not math.isfinite(q + e + p + w + om + ou):
        return nan, -1, Reason.NAN_INPUT
    if q == 0:
        return nan, -1, Reason.NO_POSITION
    if e <= 0 or p <= 0:
        return nan, -1, Reason.NON_POSITIVE_PRICE
    if b is None or not _usable(b):
        return nan, -1, Reason.MISSING_TIER
    base, size, side = w - om + ou, abs(q), math.copysign(1.0, q)
    n_mark = size * p
    t0 = _tier(b, n_mark, True)
    if t0 < 0 or n_mark >= float(b.caps[-1]):
        return nan, -1, Reason.MISSING_TIER
    floors, mmrs, cums = (x.tolist() for x in (b.floors, b.mmrs, b.cums))
    past = base + q * (p - e) - (n_mark * mmrs[t0] - cums[t0]) < 0
    if bracket_problem(b) == Reason.OK:
        cands = [(base + cums[t] - side * size * e) / (size * (mmrs[t] - side)) for t in range(len(floors))]
        upper = [*floors[1:], math.inf]
        for t, c in enumerate(cands):  # the lowest tier whose LP lies inside it
            if floors[t] <= size * c < upper[t] and c > 0:
                return c, t, Reason.PAST_LIQUIDATION if past else Reason.OK
        if not cands[0] > 0:
            return nan, -1, Reason.ALWAYS_LIQUIDATABLE if past else Reason.NOT_LIQUIDATABLE
    res = liquidation_price(mark=p, wallet=base, brackets=b, qty=q, entry=e)  # the exact segment scan
    return res.price, (res.tiers[0] if res.tiers else -1), int(res.reason)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 60), st.booleans())
def test_book_lookups_equal_a_per_position_loop(seed: int, n_sym: int, n_pos: int, nasty: bool) -> None:
    rng = np.random.default_rng(seed)
    tables = _tables(rng, n_sym)
    table = tier_table(tables)
    sym = rng.integers(0, n_sym, n_pos)
    mark0 = np.exp(rng.uniform(np.log(0.05), np.log(70_000), n_sym))[sym]
    q = np.exp(rng.uniform(np.log(10), np.log(6e8), n_pos)) / mark0 * rng.choice([-1.0, 1.0], n_pos)
    entry = mark0 * (1 + rng.normal(0, 0.05, n_pos))
    wallet = np.abs(q) * mark0 / rng.uniform(0.5, 150, n_pos) * rng.choice([1.0, 1.0, -1.0, 0.01], n_pos)
    om = rng.uniform(0, 1e6, n_pos) * rng.choice([0.0, 1.0], n_pos)
    ou = rng.normal(0, 1e6, n_pos) * (om > 0)
    j = rng.integers(0, n_pos, max(1, n_pos // 5))  # some notionals exactly at a floor or an ulp below
    fl = np.array([float(rng.choice(tables[s].floors)) for s in sym[j]])
    q[j] = np.sign(q[j]) * np.where(rng.random(j.size) < 0.5, fl, np.nextafter(fl, 0)) / mark0[j]
    for tick in range(5):  # the same book, tick after tick: cached tiers and rows must not leak
        mark = mark0 * np.exp(rng.normal(0, (0.0, 0.001, 0.05, 0.6, 0.0)[tick], n_pos))
        if tick == 2:  # a fill at another price: same size, new entry
            entry[0] *= 1.01
        if tick == 3:  # positions change: one flips side, one moves to another symbol
            q[0] = -q[0]
            sym[-1] = (sym[-1] + 1) % n_sym
        if nasty and tick == 4:
            bad = rng.random(n_pos)
            mark[bad < 0.1], q[(bad > 0.1) & (bad < 0.2)] = np.nan, 0.0
            entry[(bad > 0.2) & (bad < 0.3)] = -1.0
            sym[(bad > 0.3) & (bad < 0.4)] = -1
        notional = np.abs(q) * mark
        book = [tables[s] if 0 <= s < n_sym else None for s in sym.tolist()]
        tier, oe_tier = table_tier(table, sym, notional), table_tier(table, sym, notional, open_ended=True)
        mm, mm_tier = table_maintenance_margin(table, sym, notional)
        lp = liquidation_prices(q, entry, mark, wallet, table, sym, other_mm=om, other_upnl=ou)
        top = topup_isolated(q, entry, mark, wallet, table, sym, 0.1)
        for i, b in enumerate(book):
            n = float(notional[i])
            t = _tier(b, n, False)
            assert (tier[i], mm_tier[i], oe_tier[i]) == (
                t,
                t,
                _tier(b, n, True) if math.isfinite(n) else oe_tier[i],
            )
            want_mm = n * float(b.mmrs[t]) - float(b.cums[t]) if b is not None and t >= 0 else math.nan
            assert _same(float(mm[i]), want_mm)
            args = (
                float(q[i]),
                float(entry[i]),
                float(mark[i]),
                float(wallet[i]),
                float(om[i]),
                float(ou[i]),
            )
            price, lp_tier, reason = _lp(*args, b)
            assert _same(float(lp.price[i]), price) and (lp.tier[i], lp.reason[i]) == (lp_tier, reason)
            qi, ei, pi, wi = args[:4]
            if qi == 0:
                want = 0.0 if math.isfinite(wi) else math.nan
            else:
                shocked = pi * (1.0 - math.copysign(1.0, qi) * 0.1)
                ts = _tier(b, abs(qi) * shocked, False)
                need = (
                    abs(qi) * shocked * float(b.mmrs[ts]) - float(b.cums[ts]) if b and ts >= 0 else math.nan
                )
                need = need - qi * (shocked - ei) - wi
                ok = math.isfinite(need) and ei > 0 and pi > 0 and shocked > 0
                want = max(need, 0.0) if ok else math.nan
            assert _same(float(top[i]), want)
