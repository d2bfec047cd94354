"""`make run`'s default (config.toml, 2021-05-19 at 60×) shows no FundingExtreme in its first 3 minutes.

The simulated venues of the default config are driven tick by tick on a manual clock, and the
funding figure the evaluator derives (`funding_rate_annualized_ratio` = rate × 24/h × 365, each
symbol's own interval) goes through the rule engine with config.toml's own FundingExtreme rules.
Real BTC funding around that crash never annualised beyond ±100 % (its lowest settlement,
−0.0897 % at 16:00, is −98 %), so neither direction may fire. Before this change it fired at
328.5 % (Binance) and 547.5 % (Bybit) within 90 s.
"""

from __future__ import annotations

from pathlib import Path

from monitor.clock import ManualClock
from monitor.config import load_config
from monitor.records import AlertState, Figure, FigureKey, Figures
from monitor.risk.funding import annualised_funding
from monitor.rules.engine import RuleEngine
from monitor.sim.bybit_market import BybitMarket
from monitor.sim.market import Market

ROOT = Path(__file__).parents[3]
NS = 1_000_000_000


def _env() -> dict[str, str]:
    lines = (ROOT / "deploy" / "simulator.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_default_config_raises_no_funding_extreme_in_its_first_three_minutes() -> None:
    cfg, _secrets = load_config(ROOT / "config.toml", _env())
    sim = cfg.simulator
    assert sim.replay == "crash-2021-05-19" and sim.speed == 60.0
    rules = tuple(r for r in cfg.rules if r.name.startswith("FundingExtreme"))
    assert {r.name for r in rules} == {"FundingExtreme", "FundingExtremeNegative"}
    engine = RuleEngine(rules)
    clock = ManualClock()
    binance = Market(replay=sim.replay, speed=sim.speed, loop=sim.loop, seed=sim.seed, clock=clock)
    bybit = BybitMarket(binance, seed=sim.seed, speed=sim.speed, clock=clock)
    fired: list[str] = []
    peak = 0.0
    for _ in range(int(180 / sim.tick_s)):
        clock.advance(sim.tick_s)
        bybit.advance(binance.advance())
        now = clock.now_ns()
        items: dict[FigureKey, Figure] = {}
        for venue, quotes, specs in (
            ("binance", binance.quotes, binance.specs),
            ("bybit", bybit.quotes, bybit.specs),
        ):
            for symbol, q in quotes.items():
                value = float(annualised_funding(q.funding_rate, specs[symbol].funding_hours))
                peak = max(peak, abs(value))
                key = FigureKey(name="funding_rate_annualized_ratio", venue=venue, symbol=symbol)
                items[key] = Figure(value=value, unit="ratio", ts_ns=now)
        for ev in engine.step(Figures(taken_at_ns=now, items=items), now):
            if ev.state == AlertState.FIRING:
                fired.append(
                    f"{ev.labels.get('alertname')} {ev.labels.get('venue')} {ev.labels.get('symbol')}"
                )
    assert fired == [], f"peak |annualised funding| {peak:.2f}"
    assert binance.replay_s >= 179 * sim.speed  # three replayed hours: into the crash itself
