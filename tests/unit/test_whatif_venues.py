"""`perpmon what-if` on a book spanning Binance and Bybit: each venue on its own margin model.

The expected numbers come from the book file's own inputs put through the simulated venues'
arithmetic (`monitor/sim/bybit/margin.py`, the Bybit engine that reports `liqPrice`), not from
the evaluator under test; the documented Bybit example is checked as the venue computes it since
2025-09-02 (MM on the mark: 9,849.2462; the 2024 help-centre figure was 9,850).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import EvaluationConfig
from monitor.risk.funding import annualised_funding
from monitor.sim.brackets import BRACKETS
from monitor.sim.bybit.margin import (
    classic_isolated_liq_price,
    cross_liq_price,
    isolated_liq_price,
    maint_margin,
)
from monitor.sim.bybit.symbols import bybit_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "book-two-venues.toml"
BOOK = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def what_if(capsys: pytest.CaptureFixture[str], path: Path) -> Any:
    assert main(["what-if", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def refused(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    assert main(["what-if", str(path)]) == 2
    return capsys.readouterr().err.strip()


def value(doc: Any, name: str, **labels: str) -> float:
    found = [f for f in doc["figures"] if f["name"] == name and f["labels"] == labels]
    assert len(found) == 1, (name, labels, len(found))
    v = found[0]["value"]
    assert isinstance(v, float | int), (name, labels, found[0])
    return float(v)


def market(venue: str) -> dict[str, Any]:
    return next(m for m in BOOK["markets"] if m["venue"] == venue)  # type: ignore[no-any-return]


def account(name: str) -> dict[str, Any]:
    return next(a for a in BOOK["accounts"] if a["name"] == name)  # type: ignore[no-any-return]


def stress_row(doc: Any, scenario: str, venue: str, account: str) -> dict[str, Any]:
    sc = next(s for s in doc["stress"]["scenarios"] if s["name"] == scenario)
    return next(r for r in sc["rows"] if r["venue"] == venue and r["account"] == account)  # type: ignore[no-any-return]


DAVE = {"venue": "bybit", "account": "dave", "symbol": "BTCUSDT", "side": "BOTH"}
HEDGE_B = {"venue": "bybit", "account": "hedge-b", "symbol": "BTCUSDT", "side": "BOTH"}
BYBIT_EXAMPLE = """
[[venues]]
name = "bybit"
kind = "bybit"
[[markets]]
venue = "bybit"
symbol = "BTCUSDT"
mark = 10100.0
[[accounts]]
name = "dave"
venue = "bybit"
[[accounts.balances]]
asset = "USDT"
wallet = 1000.0
[[accounts.positions]]
symbol = "BTCUSDT"
side = "long"
size = 1.0
entry = 10000.0
margin_mode = "isolated"
leverage = 50
"""


def test_documented_bybit_example_comes_out_of_what_if(capsys: pytest.CaptureFixture[str]) -> None:
    """Isolated long 1 BTC @ 10,000, 50x, MMR 0.5 % on bybit: LP (10,000 − 200)/0.995, MM on the mark."""
    doc = what_if(capsys, EXAMPLE)
    assert doc["venues"] == {"binance": "binance", "bybit": "bybit"}
    lp = value(doc, "liquidation_price_usd", **DAVE)
    spec = bybit_spec("BTCUSDT")
    assert spec is not None
    assert math.isclose(lp, isolated_liq_price(1.0, 10_000.0, 200.0, spec.tiers), rel_tol=1e-12)
    assert round(lp, 4) == 9_849.2462 != classic_isolated_liq_price(True, 10_000.0, 50.0, 0.005, 0.0, 1.0)
    # mark-valued since 2025-09-02: 0.5 % of the mark, not of the 10,000 entry
    mark = market("bybit")["mark"]
    assert mark != 10_000.0
    assert math.isclose(value(doc, "position_maintenance_margin_usd", **DAVE), 0.005 * mark, rel_tol=1e-12)
    ratio = value(doc, "position_margin_ratio", **DAVE)
    assert math.isclose(ratio, 0.005 * mark / (200.0 + (mark - 10_000.0)), rel_tol=1e-12)


def test_isolated_wallet_defaults_to_the_initial_margin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Omitted isolated_wallet = size·entry/leverage (200); margin added moves a Bybit LP by extra/size."""
    book = tmp_path / "dave.toml"
    book.write_text(BYBIT_EXAMPLE)
    assert math.isclose(value(what_if(capsys, book), "liquidation_price_usd", **DAVE), 9_800.0 / 0.995)
    book.write_text(BYBIT_EXAMPLE + "isolated_wallet = 300.0\n")
    lp = value(what_if(capsys, book), "liquidation_price_usd", **DAVE)
    spec = bybit_spec("BTCUSDT")
    assert spec is not None
    assert math.isclose(lp, isolated_liq_price(1.0, 10_000.0, 300.0, spec.tiers), rel_tol=1e-12)
    assert math.isclose(lp, 9_700.0 / 0.995, rel_tol=1e-12)  # 100 more margin: 100/0.995 lower


def test_bybit_cross_short_uses_risk_limit_tier_with_deduction(capsys: pytest.CaptureFixture[str]) -> None:
    """A 2.475 M short is tier 2 at the mark (1 % less deduction 10,000); its LP is the simulated venue's."""
    doc = what_if(capsys, EXAMPLE)
    pos = account("hedge-b")["positions"][0]
    spec = bybit_spec("BTCUSDT")
    assert spec is not None
    mark, qty = market("bybit")["mark"], -pos["size"]
    mm, tier = maint_margin(pos["size"] * mark, spec.tiers)
    assert (tier.id, tier.deduction) == (2, 10_000.0)  # the example does reach a deduction
    assert math.isclose(value(doc, "position_maintenance_margin_usd", **HEDGE_B), mm, rel_tol=1e-12)
    equity = account("hedge-b")["balances"][0]["wallet"] + qty * (mark - pos["entry"])
    assert math.isclose(value(doc, "margin_balance_usd", venue="bybit", account="hedge-b"), equity)
    venue_lp = cross_liq_price(qty, mark, equity, mm, spec.tiers)
    assert math.isclose(value(doc, "liquidation_price_usd", **HEDGE_B), venue_lp, rel_tol=1e-12)


def test_cross_venue_book_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Net delta, hedge ratio, carry and the interval-aware funding spread sum over both venues."""
    doc = what_if(capsys, EXAMPLE)
    custody = BOOK["holdings"][0]["quantity"]
    legs = [
        (a["venue"], (p["size"] if p["side"] == "long" else -p["size"]))
        for a in BOOK["accounts"]
        for p in a["positions"]
    ]
    perp = sum(q for _, q in legs)
    assert {v for v, _ in legs} == {"binance", "bybit"}
    assert value(doc, "net_delta", asset="BTC") == custody + perp == 1.0
    assert math.isclose(value(doc, "hedge_ratio", asset="BTC"), -perp / custody)
    carry = {}
    for venue in ("binance", "bybit"):
        m = market(venue)
        q = sum(x for v, x in legs if v == venue)
        assert value(doc, "venue_perp_quantity", venue=venue, asset="BTC") == q
        carry[venue] = -q * m["mark"] * m["funding_rate"] * 24.0 / m["funding_interval_h"]
        got = value(doc, "venue_funding_carry_usd_per_day", venue=venue, asset="BTC")
        assert math.isclose(got, carry[venue])
    assert math.isclose(value(doc, "funding_carry_usd_per_day", asset="BTC"), sum(carry.values()))
    a, b = market("binance"), market("bybit")
    assert a["funding_interval_h"] != b["funding_interval_h"]  # the spread must be interval-aware
    spread = float(annualised_funding(a["funding_rate"], a["funding_interval_h"])) - float(
        annualised_funding(b["funding_rate"], b["funding_interval_h"])
    )
    got = value(doc, "funding_spread_annualized_ratio", venue="binance/bybit", symbol="BTCUSDT")
    assert math.isclose(got, spread)
    assert math.isclose(got, 0.0001 * 3 * 365 - 0.0002 * 6 * 365)


def test_cross_venue_figures_in_the_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    """The table names the venue of each per-venue book figure and the Bybit model per venue."""
    assert main(["what-if", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "margin model per venue: binance binance, bybit bybit" in out
    assert "venue_perp_quantity{venue=bybit}" in out
    assert "venue_funding_carry_usd_per_day{venue=binance}" in out
    assert "market binance/bybit BTCUSDT" in out


def test_stress_revalues_bybit_legs_on_bybits_model(capsys: pytest.CaptureFixture[str]) -> None:
    """-5 %: dave's isolated long needs MM at the shocked mark less what is left; hedge-b's MM moves too."""
    doc = what_if(capsys, EXAMPLE)
    shocked = market("bybit")["mark"] * 0.95
    dave = stress_row(doc, "price_-5%", "bybit", "dave")
    left = 200.0 + (shocked - 10_000.0)
    assert dave["liquidated_positions"] == 1.0
    assert math.isclose(dave["topup_usd"], 0.005 * shocked - left, rel_tol=1e-12)
    # the unified wallet holds the position balance once: 1,000 less 200 cross, plus the 200 balance
    assert math.isclose(dave["equity_after_usd"], 1_000.0 + (shocked - 10_000.0), rel_tol=1e-12)
    pos = account("hedge-b")["positions"][0]
    up = stress_row(doc, "price_+20%", "bybit", "hedge-b")
    equity = account("hedge-b")["balances"][0]["wallet"] - pos["size"] * (
        market("bybit")["mark"] * 1.2 - pos["entry"]
    )
    assert math.isclose(up["equity_after_usd"], equity, rel_tol=1e-12)
    spec = bybit_spec("BTCUSDT")
    assert spec is not None
    mm, tier = maint_margin(pos["size"] * market("bybit")["mark"] * 1.2, spec.tiers)
    assert tier.id == 2  # re-tiered at the shocked value, deduction and all
    assert math.isclose(up["margin_ratio_after"], mm / equity, rel_tol=1e-12)


def test_unlisted_venue_stays_on_binances_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Default kind binance: the same long on an unlisted venue gets Binance's brackets and LP."""
    book = tmp_path / "b.toml"
    book.write_text(BYBIT_EXAMPLE.replace('"bybit"', '"venue-a"').replace('kind = "venue-a"', ""))
    doc = what_if(capsys, book)
    assert doc["venues"] == {"venue-a": "binance"}
    lab = {**DAVE, "venue": "venue-a"}
    first = BRACKETS["BTCUSDT"][0]
    assert value(doc, "position_maintenance_margin_usd", **lab) == pytest.approx(10_100.0 * first.mmr)
    assert value(doc, "liquidation_price_usd", **lab) != 9_850.0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('kind = "bybit"', 'kind = "okx"'),
            "venues[0].kind: Invalid enum value 'okx': one of binance | bybit",
        ),
        (('kind = "bybit"', 'kind = "bybit"\nmodel = "bybit"'), "venues[0].model: unknown key"),
        (
            ('[[venues]]\nname = "bybit"\nkind = "bybit"', ""),
            "markets[0].venue: venue bybit has no declared kind",
        ),
        (
            ('[[venues]]\nname = "bybit"', '[[venues]]\nname = "bybit"\n[[venues]]\nname = "bybit"'),
            "venues[1].name: venue bybit is declared twice",
        ),
        (
            ('[[venues]]\nname = "bybit"', '[[venues]]\nname = "bybti"'),
            "venues[0].name: no [[markets]] entry on venue bybti",
        ),
        (
            ('symbol = "BTCUSDT"\nmark', 'symbol = "XRPUSDT"\nmark'),
            "markets[0].tiers: no default Bybit risk limits",
        ),
    ],
)
def test_bad_venue_declarations_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], message: str
) -> None:
    """A wrong kind, an unknown key, an undeclared Bybit, a duplicate or a typo: exit 2 with the path."""
    old, new = edit
    assert old in BYBIT_EXAMPLE
    book = tmp_path / "bad.toml"
    book.write_text(BYBIT_EXAMPLE.replace(old, new, 1))
    assert refused(capsys, book).startswith(f"perpmon: book error: {message}")


TWO_ACCOUNTS = """
[[venues]]
name = "bybit"
kind = "bybit"
[[markets]]
venue = "bybit"
symbol = "BTCUSDT"
mark = 10000.0
[[markets]]
venue = "bybit"
symbol = "ETHUSDT"
mark = 1000.0
[[accounts]]
name = "cross"
venue = "bybit"
[[accounts.balances]]
asset = "USDT"
wallet = 38000.0
[[accounts.positions]]
symbol = "BTCUSDT"
side = "short"
size = 20.0
entry = 10000.0
[[accounts]]
name = "iso"
venue = "bybit"
[[accounts.balances]]
asset = "USDT"
wallet = 2000.0
[[accounts.positions]]
symbol = "ETHUSDT"
side = "long"
size = 100.0
entry = 1000.0
margin_mode = "isolated"
leverage = 50
"""


def test_topup_for_shock_on_bybit_revalues_mm_at_the_shocked_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Top-ups on Bybit: MM is re-valued at the shocked mark (since 2025-09-02), cross and isolated.

    The 2024 model held it at the entry value; on this book that asked 0.5 % × the move less."""
    book = tmp_path / "two.toml"
    book.write_text(TWO_ACCOUNTS)
    doc = what_if(capsys, book)
    shock = EvaluationConfig().shock
    spec_btc, spec_eth = bybit_spec("BTCUSDT"), bybit_spec("ETHUSDT")
    assert spec_btc is not None and spec_eth is not None
    mm_btc, _ = maint_margin(20 * 10_000.0 * (1 + shock), spec_btc.tiers)
    mm_eth, _ = maint_margin(100 * 1_000.0 * (1 - shock), spec_eth.tiers)
    assert mm_btc != maint_margin(20 * 10_000.0, spec_btc.tiers)[0]  # the two models differ here
    cross_need = mm_btc - 38_000.0 - (-20.0) * (10_000.0 * (1 + shock) - 10_000.0)
    assert cross_need > 0
    got = value(doc, "topup_for_shock_usd", venue="bybit", account="cross")
    assert math.isclose(got, cross_need, rel_tol=1e-12)
    balance = 100 * 1_000.0 / 50  # the initial margin
    iso_need = mm_eth - balance - 100.0 * (1_000.0 * (1 - shock) - 1_000.0)
    lab = {"venue": "bybit", "account": "iso", "symbol": "ETHUSDT", "side": "BOTH"}
    assert math.isclose(value(doc, "position_topup_for_shock_usd", **lab), iso_need, rel_tol=1e-12)
    lp = isolated_liq_price(100.0, 1_000.0, balance, spec_eth.tiers)  # the LP: MM on the mark value
    assert math.isclose(value(doc, "liquidation_price_usd", **lab), lp, rel_tol=1e-12)


def test_a_bybit_account_mixing_cross_and_isolated_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bybit's unified account has one margin mode (as the simulated venue enforces): exit 2 naming it."""
    mixed = TWO_ACCOUNTS.replace(
        '[[accounts]]\nname = "iso"\nvenue = "bybit"\n[[accounts.balances]]\n'
        'asset = "USDT"\nwallet = 2000.0\n',
        "",
    )
    assert mixed != TWO_ACCOUNTS
    book = tmp_path / "mixed.toml"
    book.write_text(mixed)
    assert refused(capsys, book).startswith(
        "perpmon: book error: accounts[0].positions: a Bybit unified account is all cross or all isolated"
    )
    book.write_text(mixed.replace('kind = "bybit"', 'kind = "binance"'))  # Binance allows it per position
    assert main(["what-if", str(book), "--json"]) == 0
