"""`perpmon what-if`, `stress --default-book` and `backtest-var`: figures checked against the risk library."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.cli import main
from monitor.clock import ManualClock
from monitor.config import load_config
from monitor.risk.distance import liquidation_sigma
from monitor.risk.liquidation import liquidation_price
from monitor.risk.margin import Brackets, brackets, maintenance_margin, unrealized_pnl
from monitor.risk.stress import standard_scenarios
from monitor.sim.brackets import BRACKETS
from monitor.sim.market import Market
from monitor.whatif.sources import PlaceholderEnv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "book.toml"
CONFIG = ROOT / "config.toml"
BTC_MARK, ETH_MARK = 31_967.27, 1_335.18  # the example book's marks (Binance FAQ)
FAQ_WALLET = 1_535_443.01
FAQ_BTC = {"qty": 109.488, "entry": 32_481.98}
FAQ_ETH = {"qty": 3_683.979, "entry": 1_456.84}


def sim_brackets(symbol: str) -> Brackets:
    bs = BRACKETS[symbol]
    return brackets(
        np.array([b.floor for b in bs]),
        np.array([b.mmr for b in bs]),
        caps=np.array([b.cap for b in bs]),
        cums=np.array([b.cum for b in bs]),
    )


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def figure(doc: Any, name: str, **labels: str) -> dict[str, Any]:
    found = [f for f in doc["figures"] if f["name"] == name and f["labels"] == labels]
    assert len(found) == 1, (name, labels)
    return found[0]  # type: ignore[no-any-return]


def _mm(symbol: str, qty: float, mark: float) -> float:
    b = sim_brackets(symbol)
    return float(maintenance_margin(abs(qty) * mark, b.floors, b.mmrs, b.cums))


def test_what_if_faq_account_matches_binance_and_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    """The FAQ account: LPs 26,316.89 / 1,153.26 as Binance publishes, equal to liquidation_price's."""
    doc = run_json(capsys, "what-if", str(EXAMPLE), "--json")
    pos = {"venue": "binance", "account": "faq"}
    lp_btc = figure(doc, "liquidation_price_usd", **pos, symbol="BTCUSDT", side="BOTH")["value"]
    lp_eth = figure(doc, "liquidation_price_usd", **pos, symbol="ETHUSDT", side="BOTH")["value"]
    assert (round(lp_btc, 2), round(lp_eth, 2)) == (26_316.89, 1_153.26)
    mm_btc, mm_eth = _mm("BTCUSDT", FAQ_BTC["qty"], BTC_MARK), _mm("ETHUSDT", FAQ_ETH["qty"], ETH_MARK)
    up_btc = float(unrealized_pnl(FAQ_BTC["qty"], FAQ_BTC["entry"], BTC_MARK))
    up_eth = float(unrealized_pnl(FAQ_ETH["qty"], FAQ_ETH["entry"], ETH_MARK))
    ref_btc = liquidation_price(
        mark=BTC_MARK,
        wallet=FAQ_WALLET,
        brackets=sim_brackets("BTCUSDT"),
        **FAQ_BTC,
        other_mm=mm_eth,
        other_upnl=up_eth,
    ).price
    ref_eth = liquidation_price(
        mark=ETH_MARK,
        wallet=FAQ_WALLET,
        brackets=sim_brackets("ETHUSDT"),
        **FAQ_ETH,
        other_mm=mm_btc,
        other_upnl=up_btc,
    ).price
    assert (lp_btc, lp_eth) == (pytest.approx(ref_btc, rel=1e-12), pytest.approx(ref_eth, rel=1e-12))
    ratio = figure(doc, "margin_ratio", **pos)["value"]
    assert ratio == pytest.approx((mm_btc + mm_eth) / (FAQ_WALLET + up_btc + up_eth))
    assert round(ratio, 4) == 0.4149  # risk-formulas §5: 41.49 %
    k = figure(doc, "liquidation_distance_sigma", **pos, symbol="BTCUSDT", side="BOTH")["value"]
    assert k == pytest.approx(float(liquidation_sigma(lp_btc, BTC_MARK, 0.60, 86_400.0)))


def test_what_if_hedge_and_isolated_legs(capsys: pytest.CaptureFixture[str]) -> None:
    """A lone short, and hedge-mode isolated legs on their own wallets, equal liquidation_price's."""
    doc = run_json(capsys, "what-if", str(EXAMPLE), "--json")
    short = figure(
        doc, "liquidation_price_usd", venue="binance", account="hedge", symbol="BTCUSDT", side="BOTH"
    )
    ref = liquidation_price(
        mark=BTC_MARK, wallet=400_000.0, brackets=sim_brackets("BTCUSDT"), qty=-50.0, entry=32_000.0
    )
    assert short["value"] == pytest.approx(ref.price, rel=1e-12)
    eth = sim_brackets("ETHUSDT")
    legs = {"venue": "binance", "account": "legs", "symbol": "ETHUSDT"}
    long_ref = liquidation_price(
        mark=ETH_MARK, wallet=2_000.0, brackets=eth, long_qty=20.0, long_entry=1_400.0
    )
    short_ref = liquidation_price(
        mark=ETH_MARK, wallet=900.0, brackets=eth, short_qty=10.0, short_entry=1_300.0
    )
    assert figure(doc, "liquidation_price_usd", **legs, side="LONG")["value"] == pytest.approx(long_ref.price)
    assert figure(doc, "liquidation_price_usd", **legs, side="SHORT")["value"] == pytest.approx(
        short_ref.price
    )
    assert figure(doc, "position_quantity", **legs, side="SHORT")["value"] == -10.0


def test_what_if_reports_missing_volatility_with_reason(capsys: pytest.CaptureFixture[str]) -> None:
    """ETH has no `volatility` in the book: n/a with a reason, never a number; BTC's is the given 60 %."""
    doc = run_json(capsys, "what-if", str(EXAMPLE), "--json")
    eth = figure(doc, "volatility_annualized_ratio", venue="binance", symbol="ETHUSDT")
    assert (eth["value"], eth["available"], eth["reason"]) == (None, False, "empty_history")
    btc = figure(doc, "volatility_annualized_ratio", venue="binance", symbol="BTCUSDT")
    assert (btc["value"], btc["reason"]) == (0.60, "given")
    k = figure(
        doc, "liquidation_distance_sigma", venue="binance", account="faq", symbol="ETHUSDT", side="BOTH"
    )
    assert (k["value"], k["reason"]) == (None, "no_volatility")


def test_what_if_stress_table_has_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """The stress part: every §11 scenario, with a row per account, custody and the total."""
    doc = run_json(capsys, "what-if", str(EXAMPLE), "--json")
    names = [s["name"] for s in doc["stress"]["scenarios"]]
    assert [n for n in names if not n.startswith("outage_")] == [s.name for s in standard_scenarios(0)]
    assert "outage_binance" in names
    for s in doc["stress"]["scenarios"]:
        assert [(r["venue"], r["account"]) for r in s["rows"]] == [
            ("binance", "faq"),
            ("binance", "hedge"),
            ("binance", "legs"),
            ("custody", ""),
            ("total", ""),
        ]
    down = next(s for s in doc["stress"]["scenarios"] if s["name"] == "price_-10%")["rows"][0]
    m_btc, m_eth = BTC_MARK * 0.9, ETH_MARK * 0.9
    equity = (
        FAQ_WALLET + FAQ_BTC["qty"] * (m_btc - FAQ_BTC["entry"]) + FAQ_ETH["qty"] * (m_eth - FAQ_ETH["entry"])
    )
    mm = _mm("BTCUSDT", FAQ_BTC["qty"], m_btc) + _mm("ETHUSDT", FAQ_ETH["qty"], m_eth)
    assert down["equity_after_usd"] == pytest.approx(equity)
    assert down["margin_ratio_after"] == pytest.approx(mm / equity)
    assert (down["liquidated_positions"], down["topup_usd"]) == (2, pytest.approx(mm - equity))


def test_what_if_text_tables(capsys: pytest.CaptureFixture[str]) -> None:
    """The readable form shows the figures by position and the stress table."""
    assert main(["what-if", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "position binance/faq BTCUSDT BOTH" in out
    assert "26,316.9" in out and "1,153.26" in out  # BTCUSDT at its 0.1 tick, ETHUSDT at 0.01
    assert "26,316.89" not in out
    assert "n/a" in out and "(empty_history)" in out
    assert "price_-50%" in out and "outage_binance" in out


GOOD_MARKET = '[[markets]]\nsymbol = "BTCUSDT"\nmark = 30000.0\nspot = 30010.0\n'
GOOD_POS = 'symbol = "BTCUSDT"\nside = "long"\nsize = 1.0\nentry = 29000.0\n'
BAD_BOOKS = {
    "accounts[0].positions[0].entyr": GOOD_MARKET + '[[accounts]]\nname = "a"\n[[accounts.positions]]\n'
    'symbol = "BTCUSDT"\nside = "long"\nsize = 1.0\nentyr = 29000.0\n',
    "accounts[0].positions[0].size": GOOD_MARKET + '[[accounts]]\nname = "a"\n[[accounts.positions]]\n'
    'symbol = "BTCUSDT"\nside = "long"\nsize = -1.0\nentry = 29000.0\n',
    "markets[0].mark": '[[markets]]\nsymbol = "BTCUSDT"\nmark = "high"\n',
    "accounts[0].positions[0].symbol": GOOD_MARKET
    + '[[accounts]]\nname = "a"\n[[accounts.positions]]\n'
    + GOOD_POS.replace("BTCUSDT", "ETHUSDT"),
    "accounts[0].positions[1]": GOOD_MARKET
    + '[[accounts]]\nname = "a"\n[[accounts.positions]]\n'
    + GOOD_POS
    + "[[accounts.positions]]\n"
    + GOOD_POS.replace("long", "short"),
    "markets[0].tiers": GOOD_MARKET + "[[markets.tiers]]\nfloor = 10.0\ncap = 100.0\nmmr = 0.01\n",
    "markets[1].tiers": GOOD_MARKET + '[[markets]]\nsymbol = "DOGEUSDT"\nmark = 0.1\n',
    "holdings[0].price_symbol": '[[markets]]\nsymbol = "BTCUSDT"\nmark = 30000.0\n[[holdings]]\nname = "c"\n'
    'asset = "BTC"\nquantity = 1.0\nprice_symbol = "BTCUSDT"\n',
    "accounts[0].positions[0].isolated_wallet": GOOD_MARKET + '[[accounts]]\nname = "a"\n'
    "[[accounts.positions]]\n" + GOOD_POS + "isolated_wallet = 5.0\n",
    "markets": "horizon_s = 3600.0\n",
}


@pytest.mark.parametrize("path", sorted(BAD_BOOKS))
def test_bad_book_exits_2_with_key_path(
    path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad book file stops what-if with exit code 2, naming the key and the reason."""
    book = tmp_path / "book.toml"
    book.write_text(BAD_BOOKS[path])
    assert main(["what-if", str(book)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"perpmon: book error: {path}: "), err


def test_unreadable_or_invalid_book_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file and broken TOML are book errors too (exit 2), not tracebacks."""
    assert main(["what-if", str(tmp_path / "missing.toml")]) == 2
    (tmp_path / "broken.toml").write_text("[[markets]\n")
    assert main(["what-if", str(tmp_path / "broken.toml")]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "not valid TOML" in err


def _perpmon(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_what_if_subprocess() -> None:
    """As a process: JSON on stdout with the FAQ LP; a bad book exits 2 with its key path."""
    ok = _perpmon("what-if", str(EXAMPLE), "--json")
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    lp = figure(doc, "liquidation_price_usd", venue="binance", account="faq", symbol="ETHUSDT", side="BOTH")
    assert round(lp["value"], 2) == 1_153.26
    bad = _perpmon("what-if", str(ROOT / "config.toml"))  # a config is not a book
    assert bad.returncode == 2
    assert bad.stderr.startswith("perpmon: book error: ") and "unknown key" in bad.stderr


def test_stress_default_book_subprocess() -> None:
    """`stress --default-book --json` (no keys, no connection): every scenario, rows per account."""
    res = _perpmon("stress", "--config", str(CONFIG), "--default-book", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    names = [s["name"] for s in doc["scenarios"]]
    assert [n for n in names if not n.startswith("outage_")] == [s.name for s in standard_scenarios(0)]
    assert {"outage_binance", "outage_binance_price_-20%"} <= set(names)
    by = {s["name"]: {(r["venue"], r["account"]): r for r in s["rows"]} for s in doc["scenarios"]}
    cfg, _ = load_config(CONFIG, env=PlaceholderEnv())
    sim = cfg.simulator
    market = Market(replay=sim.replay, speed=sim.speed, loop=sim.loop, seed=sim.seed, clock=ManualClock())
    first_mark = market.first_mark("BTCUSDT")
    binance = [a for a in sim.accounts if a.venue == "binance"]  # the default book's Binance accounts
    bybit = [a for a in sim.accounts if a.venue == "bybit"]  # on Bybit's own margin model
    assert bybit
    assert {(v, a) for v, a in by["price_-5%"] if a} == {("binance", a.name) for a in binance} | {
        ("bybit", a.name) for a in bybit
    }
    for name, shock in (("price_-10%", -0.10), ("price_+20%", 0.20), ("price_+50%", 0.50)):
        for acct in binance:
            (pos,) = acct.positions
            row = by[name][("binance", acct.name)]
            before = by["usdt_depeg_-5%"][("binance", acct.name)]  # unshocked prices; wallet × 0.95
            upnl_now = before["equity_after_usd"] - 0.95 * acct.wallet_usdt
            assert upnl_now == pytest.approx(0.0, abs=1e-6)  # entry = the replay's first mark
            assert row["perp_pnl_usd"] == pytest.approx(pos.qty * first_mark * shock)
            assert row["equity_after_usd"] == pytest.approx(acct.wallet_usdt + row["perp_pnl_usd"])
            liquidates = row["margin_ratio_after"] == "inf" or row["margin_ratio_after"] >= 1.0
            assert row["liquidated_positions"] == int(liquidates)
            assert liquidates == (row["topup_usd"] > 0)
    hedge = next(a for a in binance if a.positions[0].qty < 0)
    wipe = hedge.wallet_usdt / (-hedge.positions[0].qty * first_mark)  # the rise that eats the wallet
    assert wipe < 0.20 and by["price_+20%"][("binance", hedge.name)]["liquidated_positions"] == 1
    assert not any("left out" in n for n in doc["notes"])
    _check_bybit_rows(by, bybit, market, sim.seed, sim.speed)


def _check_bybit_rows(by: dict[str, Any], bybit: list[Any], market: Market, seed: int, speed: float) -> None:
    """Bybit rows by hand: its mark (the same path plus its premium), MM at the shocked mark (2025-09-02).

    The default hedge-bybit (short 20 BTC, cross, 160,000 USDT) is 5× levered: a +20 % move with
    Binance frozen takes its equity below zero, so Bybit does not hold the hedge alone; −20 % does.
    """
    from monitor.risk.bybit_liquidation import bybit_position_mm
    from monitor.sim.bybit.market import BybitMarket
    from monitor.sim.bybit.symbols import bybit_spec

    sim_bybit = BybitMarket(market, seed=seed, speed=speed, clock=ManualClock())
    for acct in bybit:
        (pos,) = acct.positions
        mark = sim_bybit.first_mark(pos.symbol)  # also the entry (entry_price omitted)
        spec = bybit_spec(pos.symbol)
        assert spec is not None
        tiers = (
            np.array([0.0, *(t.limit for t in spec.tiers[:-1])]),
            np.array([t.mmr for t in spec.tiers]),
            np.array([t.deduction for t in spec.tiers]),
        )
        assert float(bybit_position_mm(pos.qty, mark, *tiers)) == pytest.approx(0.005 * abs(pos.qty) * mark)
        for name, shock in (
            ("price_-10%", -0.10),
            ("price_+5%", 0.05),
            ("price_+20%", 0.20),
            ("outage_binance_price_-20%", -0.20),
            ("outage_binance_price_+20%", 0.20),
        ):
            row = by[name][("bybit", acct.name)]
            mm = float(bybit_position_mm(pos.qty, mark * (1.0 + shock), *tiers))
            equity = acct.wallet_usdt + pos.qty * mark * shock
            assert row["perp_pnl_usd"] == pytest.approx(pos.qty * mark * shock)
            assert row["equity_after_usd"] == pytest.approx(equity)
            ratio = mm / equity if equity > 0 else math.inf
            assert row["margin_ratio_after"] == ("inf" if math.isinf(ratio) else pytest.approx(ratio))
            assert row["liquidated_positions"] == int(ratio >= 1.0)
            assert row["topup_usd"] == pytest.approx(max(mm - equity, 0.0))
        assert by["outage_binance_price_+20%"][("binance", "hedge")]["frozen"]
        assert not by["outage_binance_price_+20%"][("bybit", acct.name)]["frozen"]
    assert by["outage_binance_price_+20%"][("bybit", "hedge-bybit")]["liquidated_positions"] == 1
    assert by["outage_binance_price_-20%"][("bybit", "hedge-bybit")]["liquidated_positions"] == 0


def test_stress_default_book_needs_a_simulator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a [simulator] section there is no default book: exit 2 naming the key."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[venues]]\nname = "binance"\nsymbols = ["BTCUSDT"]\n')
    assert main(["stress", "--config", str(cfg), "--default-book"]) == 2
    assert capsys.readouterr().err.startswith("perpmon: config error: simulator.enabled: ")


def test_json_numbers_are_strict() -> None:
    """NaN is null and ±inf a string, so the JSON parses in strict parsers."""
    from monitor.whatif.report import json_number

    assert (json_number(math.nan), json_number(math.inf), json_number(-math.inf), json_number(1.5)) == (
        None,
        "inf",
        "-inf",
        1.5,
    )
