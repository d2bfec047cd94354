"""`make run`'s default (config.toml, 2021-05-19 at 60×) over a whole 8-hour funding interval of wall time.

The simulated venues of the default config are driven tick by tick on a manual clock that starts
on a settlement boundary, for 8 hours and a minute (the 4.5-hour crash bounces back and forth some
fifty times, and the wall clock settles once), and the funding figure the evaluator derives
(`funding_rate_annualized_ratio` = rate × 24/h × 365, each symbol's own interval) goes through the
rule engine with config.toml's own FundingExtreme rules.

Binance's real BTC funding around that crash never annualised beyond ±100 % (its lowest
settlement, −0.0897 % at 16:00, is −98 %), so neither Binance rule may fire. Before the estimate
became the replayed moment's (funding_path.py), the replay-time accrual began a new interval at
the crash's low after six minutes and sat at the cap: −328.5 % (Binance) and −547.5 % (Bybit).
Neither venue's estimate may touch its cap now. Bybit weighs minute i of the interval by i
(its published formula), so its estimate late in the crash leans on the crash; on the real
premium path (the hourly basis, matched to Binance's real −0.0897 %) that formula reads about
−217 % a year at 14:33, so Bybit's FundingExtremeNegative is the venue's own arithmetic, not a
simulator artefact, and is allowed here; its positive twin is not.
"""

from __future__ import annotations

from pathlib import Path

from monitor.clock import ManualClock
from monitor.config import load_config
from monitor.records import AlertState, Figure, FigureKey, Figures
from monitor.risk.funding import annualised_funding
from monitor.rules.engine import RuleEngine
from monitor.sim.bybit.market import BybitMarket
from monitor.sim.bybit.symbols import bybit_spec
from monitor.sim.market import Market
from monitor.sim.symbols import symbol_spec

ROOT = Path(__file__).parents[3]
NS = 1_000_000_000
H8_NS = 8 * 3600 * NS


def _env() -> dict[str, str]:
    lines = (ROOT / "deploy" / "simulator.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_default_config_raises_no_false_funding_extreme_over_a_whole_funding_interval() -> None:
    cfg, _secrets = load_config(ROOT / "config.toml", _env())
    sim = cfg.simulator
    assert sim.replay == "crash-2021-05-19" and sim.speed == 60.0 and sim.loop == "bounce"
    rules = tuple(r for r in cfg.rules if r.name.startswith("FundingExtreme"))
    assert {r.name for r in rules} == {"FundingExtreme", "FundingExtremeNegative"}
    watched = {(v.name, s) for v in cfg.venues for s in v.symbols}
    assert watched == {("binance", "BTCUSDT"), ("bybit", "BTCUSDT")}
    engine = RuleEngine(rules)
    clock = ManualClock(start_ns=(1_800_000_000 * NS // H8_NS) * H8_NS)  # on a settlement boundary
    # BTCUSDT only: the first symbol, so its series and Bybit spread draw the seeds they draw in
    # the daemon (which also runs ETH, SOL and XRP, unwatched here)
    btc, btc_bybit = symbol_spec("BTCUSDT"), bybit_spec("BTCUSDT")
    assert btc is not None and btc_bybit is not None
    binance = Market(
        replay=sim.replay, speed=sim.speed, loop=sim.loop, seed=sim.seed, clock=clock, symbols=(btc,)
    )
    bybit = BybitMarket(binance, seed=sim.seed, speed=sim.speed, clock=clock, symbols=(btc_bybit,))
    fired: list[str] = []
    peak = {"binance": 0.0, "bybit": 0.0}
    at_cap: set[str] = set()
    settled = 0
    for _ in range(int((8 * 3600 + 60) / sim.tick_s)):
        clock.advance(sim.tick_s)
        bybit.advance(binance.advance())
        settled += len(binance.due_settlements()) + len(bybit.due_settlements())
        now = clock.now_ns()
        items: dict[FigureKey, Figure] = {}
        for venue, quotes, specs in (
            ("binance", binance.quotes, binance.specs),
            ("bybit", bybit.quotes, bybit.specs),
        ):
            for symbol, q in quotes.items():
                value = float(annualised_funding(q.funding_rate, specs[symbol].funding_hours))
                peak[venue] = max(peak[venue], abs(value))
                if abs(q.funding_rate) >= specs[symbol].funding_cap:
                    at_cap.add(f"{venue} {symbol}")
                key = FigureKey(name="funding_rate_annualized_ratio", venue=venue, symbol=symbol)
                items[key] = Figure(value=value, unit="ratio", ts_ns=now)
        for ev in engine.step(Figures(taken_at_ns=now, items=items), now):
            if ev.state == AlertState.FIRING:
                fired.append(f"{ev.labels.get('alertname')} {ev.labels.get('venue')}")
    assert binance.elapsed_s >= 8 * 3600 * sim.speed and settled >= 2  # both venues settled on the wall clock
    assert not at_cap, at_cap
    assert [f for f in fired if f.endswith(" binance")] == [], f"peak |annualised| {peak}"
    assert "FundingExtreme bybit" not in fired, f"peak |annualised| {peak}"
