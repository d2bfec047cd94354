"""Per-tick risk evaluation cost: 1,000 positions over 600 symbols, vectorised vs a naive Python loop.

Run: `taskset -c 0 .venv/bin/python bench/risk_evaluation.py` (one core; one BLAS thread is set
below). Prints figures; no asserts (timings are machine-dependent, and the vectorised tick and the
naive loop are measured in the same run so the ratio is comparable). Times are wall-clock medians.
Target (issue 4): the vectorised tick ≤ 1 ms median for 1,000 positions over 600 symbols.

Ticks repeat on the same book, as in the daemon: the tier lookups start from the previous tick's
tiers (checked exactly against the floors) and the LP solver reuses the tier rows it gathered for
the same symbols and sides, so a tick measures the steady state, not the first tick of a new book.

The per-tick set (no Monte Carlo): per symbol basis, basis bps, premium, annualised funding, EWMA
and GARCH σ² updates, σ_ann; per position notional, UPnL, tiered MM, cross-account margin ratio
and headroom, TMM1/UPNL1, re-tiered liquidation price, distance %, sigma distance, touch
probability, funding carry, isolated top-up for a 10 % shock; per asset net delta and hedge
ratio; historical 99 % VaR of the book from 1,000 joint return rows. Then Monte Carlo VaR with
10,000 paths (24 hourly steps, 600 assets, one-factor correlation) is timed on its own.
"""

from __future__ import annotations

import os

# One BLAS thread, as in the daemon: on a small VM an idle-spinning OpenBLAS pool beside the event
# loop made the tick ~3× slower (measured: 2.4 ms vs 8.6 ms with the default pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import bisect
import math
import statistics
import time
from collections.abc import Callable

import numpy as np

from monitor.risk.basis import basis, basis_bps, premium
from monitor.risk.distance import liquidation_distance, liquidation_sigma, touch_probability
from monitor.risk.funding import annualised_funding, carry_per_day
from monitor.risk.garch import GarchArrays, garch_step
from monitor.risk.liquidation import cross_others, liquidation_prices
from monitor.risk.margin import Brackets, brackets, headroom, margin_ratio, notional, unrealized_pnl
from monitor.risk.montecarlo import McBook, McMarket, monte_carlo
from monitor.risk.tiers import TierTable, table_maintenance_margin, tier_table
from monitor.risk.topup import topup_isolated
from monitor.risk.var import historical_pnl, historical_var_es
from monitor.risk.volatility import annualise_vol, ewma_update

N_SYM, N_POS, N_ACCT, N_HIST = 600, 1_000, 4, 1_000
BASE_FLOORS = [0, 50_000, 250_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000, 100_000_000, 200_000_000]
BASE_MMRS = [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25]


def make_world(rng: np.random.Generator) -> dict[str, object]:
    tables: list[Brackets] = []
    for _ in range(N_SYM):
        k = int(rng.integers(5, 10))
        scale = float(rng.choice([0.01, 0.1, 1.0]))
        tables.append(brackets(np.array(BASE_FLOORS[:k]) * scale, BASE_MMRS[:k]))
    table = tier_table(tables)
    spot = np.exp(rng.uniform(np.log(0.05), np.log(70_000), N_SYM))
    mark = spot * (1 + rng.normal(0, 5e-4, N_SYM))
    index = spot * (1 + rng.normal(0, 1e-4, N_SYM))
    sym = rng.integers(0, N_SYM, N_POS).astype(np.intp)
    account = rng.integers(-1, N_ACCT, N_POS).astype(np.intp)  # −1 = isolated
    notional_usd = np.exp(rng.uniform(np.log(1e3), np.log(2e6), N_POS))
    q = notional_usd / mark[sym] * rng.choice([-1.0, 1.0], N_POS)
    entry = mark[sym] * (1 + rng.normal(0, 0.03, N_POS))
    iso_wallet = np.where(account < 0, notional_usd / rng.uniform(2, 50, N_POS), 0.0)
    world: dict[str, object] = {
        "tables": tables, "table": table, "spot": spot, "mark": mark, "index": index,
        "rate": rng.normal(1e-4, 2e-4, N_SYM), "interval": rng.choice([8.0, 4.0, 1.0], N_SYM),
        "s2_ewma": np.full(N_SYM, 4e-4), "s2_garch": np.full(N_SYM, 4e-4),
        "r_new": rng.normal(0, 0.01, N_SYM),
        "garch": GarchArrays(*(np.full(N_SYM, x) for x in (1e-6, 0.08, 0.9, 5.0))),
        "sym": sym, "account": account, "q": q, "entry": entry, "iso_wallet": iso_wallet,
        "cross_wallet": np.full(N_ACCT, 5e6), "spot_q": rng.uniform(0, 100, N_SYM),
        "hist": rng.standard_t(4, (N_HIST, N_SYM)) * 0.02,
    }  # fmt: skip
    # the evaluator converts the return history to simple returns once per bar, not per tick
    world["hist_simple"] = np.expm1(world["hist"])  # type: ignore[call-overload]
    return world


def tick(w: dict[str, object]) -> dict[str, object]:
    """One evaluation: every deterministic figure for the whole book."""
    spot, mark, index = w["spot"], w["mark"], w["index"]
    table: TierTable = w["table"]  # type: ignore[assignment]
    sym, account, q, entry = w["sym"], w["account"], w["q"], w["entry"]
    out: dict[str, object] = {}
    out["basis"], out["basis_bps"] = basis(spot, mark), basis_bps(spot, mark)
    out["premium"] = premium(mark, index)
    out["funding_ann"] = annualised_funding(w["rate"], w["interval"])
    s2e = ewma_update(w["s2_ewma"], w["r_new"])
    s2g = garch_step(w["garch"], w["s2_garch"], w["r_new"])  # type: ignore[arg-type]
    sigma_ann = annualise_vol(np.sqrt(s2g), 365.0)
    m = mark[sym]  # type: ignore[index]
    n = notional(q, m)
    upnl = unrealized_pnl(q, entry, m)
    mm, _ = table_maintenance_margin(table, sym, n)  # type: ignore[arg-type]
    cross = account >= 0  # type: ignore[operator]
    acct = np.where(cross, account, 0)
    tot_mm = np.bincount(acct[cross], weights=mm[cross], minlength=N_ACCT)
    tot_upnl = np.bincount(acct[cross], weights=upnl[cross], minlength=N_ACCT)
    mb = w["cross_wallet"] + tot_upnl  # type: ignore[operator]
    out["margin_ratio"], out["headroom"] = margin_ratio(tot_mm, mb), headroom(tot_mm, mb)
    om, ou = cross_others(account, mm, upnl)  # type: ignore[arg-type]
    wallet = np.where(cross, w["cross_wallet"][acct], w["iso_wallet"])  # type: ignore[index]
    liq = liquidation_prices(q, entry, m, wallet, table, sym, other_mm=om, other_upnl=ou)  # type: ignore[arg-type]
    out["lp"] = liq.price
    out["distance"] = liquidation_distance(liq.price, m)
    k = liquidation_sigma(liq.price, m, sigma_ann[sym])
    out["k"], out["p_touch"] = k, touch_probability(k)
    rate, interval = w["rate"][sym], w["interval"][sym]  # type: ignore[index]
    carry = carry_per_day(q, m, rate, interval)
    out["carry"], out["book_carry"] = carry, float(np.sum(carry))
    iso = ~cross
    out["topup10"] = topup_isolated(q[iso], entry[iso], m[iso], w["iso_wallet"][iso], table, sym[iso], 0.10)  # type: ignore[index]
    perp_net = np.bincount(sym, weights=q, minlength=N_SYM)  # type: ignore[arg-type]
    out["net_delta"] = w["spot_q"] + perp_net  # type: ignore[operator]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["hedge_ratio"] = np.where(w["spot_q"] != 0, -perp_net / w["spot_q"], np.nan)  # type: ignore[operator]
    exposure = w["spot_q"] * spot + perp_net * mark  # type: ignore[operator]
    pnl = historical_pnl(w["hist_simple"], exposure, log_returns=False)  # type: ignore[arg-type]
    out["hist_var99"] = historical_var_es(pnl, 0.99).var
    out["s2"] = (s2e, s2g)
    return out


def lp_inputs(w: dict[str, object]) -> tuple:  # type: ignore[type-arg]
    """The arguments `tick` passes to liquidation_prices, for timing it alone."""
    sym, account, q, entry = w["sym"], w["account"], w["q"], w["entry"]
    m = w["mark"][sym]  # type: ignore[index]
    mm, _ = table_maintenance_margin(w["table"], sym, notional(q, m))  # type: ignore[arg-type]
    om, ou = cross_others(account, mm, unrealized_pnl(q, entry, m))  # type: ignore[arg-type]
    cross = account >= 0  # type: ignore[operator]
    wallet = np.where(cross, w["cross_wallet"][np.where(cross, account, 0)], w["iso_wallet"])  # type: ignore[index]
    return q, entry, m, wallet, w["table"], sym, om, ou


def naive_tick(w: dict[str, object]) -> dict[str, object]:
    """The same figures with plain Python floats and per-position loops (the baseline)."""
    tables: list[Brackets] = w["tables"]  # type: ignore[assignment]
    spot, mark, index = (list(map(float, w[k])) for k in ("spot", "mark", "index"))  # type: ignore[call-overload]
    rate, interval = list(map(float, w["rate"])), list(map(float, w["interval"]))  # type: ignore[call-overload]
    r_new = list(map(float, w["r_new"]))  # type: ignore[call-overload]
    g = w["garch"]
    floors = [t.floors.tolist() for t in tables]
    mmrs, cums = [t.mmrs.tolist() for t in tables], [t.cums.tolist() for t in tables]
    out: dict[str, object] = {}
    out["basis"] = [s - p for s, p in zip(spot, mark, strict=True)]
    out["basis_bps"] = [(s - p) / s * 1e4 for s, p in zip(spot, mark, strict=True)]
    out["premium"] = [(p - i) / i for p, i in zip(mark, index, strict=True)]
    out["funding_ann"] = [r * 24 / h * 365 for r, h in zip(rate, interval, strict=True)]
    s2e = [0.94 * s + 0.06 * r * r for s, r in zip(map(float, w["s2_ewma"]), r_new, strict=True)]  # type: ignore[call-overload]
    s2g = [float(g.omega[i]) + float(g.alpha[i]) * r_new[i] ** 2 + float(g.beta[i]) * float(w["s2_garch"][i])  # type: ignore[attr-defined,index]
           for i in range(N_SYM)]  # fmt: skip
    sig = [math.sqrt(s) * math.sqrt(365) for s in s2g]
    sym, account = w["sym"].tolist(), w["account"].tolist()  # type: ignore[attr-defined]
    q, entry, iso = w["q"].tolist(), w["entry"].tolist(), w["iso_wallet"].tolist()  # type: ignore[attr-defined]
    cw = w["cross_wallet"].tolist()  # type: ignore[attr-defined]

    def mm_of(s: int, n: float) -> tuple[float, int]:
        t = bisect.bisect_right(floors[s], n) - 1
        return n * mmrs[s][t] - cums[s][t], t

    mm, upnl = [0.0] * N_POS, [0.0] * N_POS
    tot_mm, tot_upnl = [0.0] * N_ACCT, [0.0] * N_ACCT
    for i in range(N_POS):
        p = mark[sym[i]]
        mm[i] = mm_of(sym[i], abs(q[i]) * p)[0]
        upnl[i] = q[i] * (p - entry[i])
        if account[i] >= 0:
            tot_mm[account[i]] += mm[i]
            tot_upnl[account[i]] += upnl[i]
    mbs = [cw[a] + tot_upnl[a] for a in range(N_ACCT)]
    out["margin_ratio"] = [tot_mm[a] / mbs[a] if mbs[a] > 0 else math.inf for a in range(N_ACCT)]
    lps, dist, ks, ps, carry, tops = [], [], [], [], [], []
    for i in range(N_POS):
        s, p, a = sym[i], mark[sym[i]], account[i]
        size, side = abs(q[i]), math.copysign(1.0, q[i])
        wb = cw[a] + tot_upnl[a] - upnl[i] - (tot_mm[a] - mm[i]) if a >= 0 else iso[i]
        t = mm_of(s, size * p)[1]
        lp = math.nan
        for _ in range(len(floors[s]) + 2):
            lp = (wb + cums[s][t] - side * size * entry[i]) / (size * mmrs[s][t] - side * size)
            t2 = bisect.bisect_right(floors[s], size * max(lp, 0.0)) - 1
            if t2 == t:
                break
            t = t2
        lp = lp if lp > 0 else math.nan
        lps.append(lp)
        dist.append(abs(lp / p - 1))
        k = abs(math.log(lp / p)) / (sig[s] * math.sqrt(1 / 365)) if lp > 0 else math.nan
        ks.append(k)
        ps.append(math.erfc(k / math.sqrt(2)))
        carry.append(-q[i] * p * rate[s] * 24 / interval[s])
        shocked = p * (1 - side * 0.10)
        need = mm_of(s, size * shocked)[0] - q[i] * (shocked - entry[i]) - iso[i]
        tops.append(max(need, 0.0) if a < 0 else 0.0)
    out.update(lp=lps, distance=dist, k=ks, p_touch=ps, carry=carry, book_carry=sum(carry), topup10=tops)
    perp_net = [0.0] * N_SYM
    for i in range(N_POS):
        perp_net[sym[i]] += q[i]
    sq = w["spot_q"].tolist()  # type: ignore[attr-defined]
    out["net_delta"] = [sq[j] + perp_net[j] for j in range(N_SYM)]
    out["hedge_ratio"] = [-perp_net[j] / sq[j] if sq[j] else math.nan for j in range(N_SYM)]
    exposure = [sq[j] * spot[j] + perp_net[j] * mark[j] for j in range(N_SYM)]
    hist = w["hist"].tolist()  # type: ignore[attr-defined]
    pnl = sorted(sum(e * math.expm1(r) for e, r in zip(exposure, row, strict=True)) for row in hist)
    out["hist_var99"] = -pnl[int(0.01 * (len(pnl) - 1))]
    out["s2"] = (s2e, s2g)
    return out


def median_us(fn: Callable[[], object], runs: int) -> float:
    return timings_us(fn, runs)[0]


def timings_us(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, min) wall time of `fn` in µs over `runs` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e3, min(times) / 1e3


def main() -> None:
    rng = np.random.default_rng(20240805)
    w = make_world(rng)
    fast, slow = tick(w), naive_tick(w)
    agree = np.allclose(np.asarray(fast["lp"]), np.asarray(slow["lp"]), rtol=1e-9, equal_nan=True)
    liquidatable = int(np.isfinite(np.asarray(fast["lp"])).sum())
    print(f"risk evaluation: {N_POS} positions over {N_SYM} symbols, {N_ACCT} cross accounts + isolated")
    print(f"  LPs agree between vectorised and naive: {agree} ({liquidatable} positions with an LP)")
    t_vec, min_vec = timings_us(lambda: tick(w), 1_000)
    t_naive = median_us(lambda: naive_tick(w), 15)
    print(f"  vectorised tick (full deterministic set + hist VaR 99 %): median {t_vec:9.1f} µs"
          f"  (min {min_vec:.1f})")  # fmt: skip
    print(f"  naive per-position Python loop (same figures):            median {t_naive:9.1f} µs"
          f"  ({t_naive / t_vec:.1f}× slower)")  # fmt: skip
    no_var = dict(w, hist_simple=np.zeros((1, N_SYM)))
    t_novar, min_novar = timings_us(lambda: tick(no_var), 1_000)
    print(f"  vectorised tick without historical VaR:                   median {t_novar:9.1f} µs"
          f"  (min {min_novar:.1f})")  # fmt: skip
    args = lp_inputs(w)
    t_lp = median_us(lambda: liquidation_prices(*args[:6], other_mm=args[6], other_upnl=args[7]), 500)
    print(f"  of which: re-tiered one-way LPs of all 1,000 positions:   median {t_lp:9.1f} µs")
    exposure = np.asarray(w["spot_q"]) * np.asarray(w["spot"]) + np.bincount(
        np.asarray(w["sym"]), weights=np.asarray(w["q"]), minlength=N_SYM
    ) * np.asarray(w["mark"])
    hist = np.asarray(w["hist_simple"])
    t_pnl = median_us(lambda: historical_pnl(hist, exposure, log_returns=False), 300)
    pnl = historical_pnl(hist, exposure, log_returns=False)
    t_q = median_us(lambda: historical_var_es(pnl, 0.99), 300)
    print(f"  of which: historical PnL (1,000 × 600 matvec), alone:     median {t_pnl:9.1f} µs")
    print(f"  of which: historical VaR/ES 99 % of 1,000 PnLs, alone:    median {t_q:9.1f} µs")

    for n_assets in (N_SYM, 20):
        time_monte_carlo(w, fast, n_assets)


def time_monte_carlo(w: dict[str, object], fast: dict[str, object], n_assets: int) -> None:
    """10,000 paths × 24 hourly steps; the first `n_assets` symbols and the positions on them."""
    rng = np.random.default_rng(7)
    one = np.ones(n_assets)
    spot, mark = np.asarray(w["spot"])[:n_assets], np.asarray(w["mark"])[:n_assets]
    market = McMarket(
        spot=spot, basis=spot - mark, omega=1e-7 * one, alpha=0.05 * one, beta=0.93 * one, nu=5.0 * one,
        sigma2=(0.03**2 / 24) * one, ou_theta=(2 / 86_400) * one, ou_mu=np.zeros(n_assets),
        ou_sigma=spot * 1e-4 / math.sqrt(86_400), funding_history=rng.normal(1e-4, 2e-4, (500, n_assets)),
        funding_interval_h=np.asarray(w["interval"])[:n_assets], loading=0.7 * one,
    )  # fmt: skip
    sel = np.asarray(w["sym"]) < n_assets
    book = McBook(np.asarray(w["spot_q"])[:n_assets], np.asarray(w["sym"])[sel], np.asarray(w["q"])[sel],
                  np.asarray(fast["lp"])[sel])  # fmt: skip
    t0 = time.perf_counter_ns()
    res = monte_carlo(market, book, horizon_s=86_400, step_s=3_600, n_paths=10_000, alpha=0.99,
                      rng=np.random.default_rng(1))  # fmt: skip
    t_mc = (time.perf_counter_ns() - t0) / 1e9
    label = f"{n_assets} assets / {int(sel.sum())} perps"
    print(f"  Monte Carlo 10,000 paths × 24 hourly steps, {label}: {t_mc:.2f} s")
    print(f"    VaR99 {res.var:,.0f}  ES99 {res.es:,.0f}  P(any LP touched in 1 d) {res.p_any_touch:.3f}")


if __name__ == "__main__":
    main()
