"""OKX positions and position tiers, from the docs' own replies into typed structs and the margin model."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.collectors.okx.margin_wire import (
    okx_tier_ladders,
    parse_okx_position_tiers,
    parse_okx_positions,
)
from monitor.errors import ParseError
from monitor.risk.okx_margin import (
    okx_cross_liquidation_price,
    okx_position_tier,
    okx_requirement,
    okx_tier_table,
)

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "okx"


def _load(name: str) -> Any:
    return json.loads((FRAMES / name).read_text())


def test_docs_positions_example_shape() -> None:
    """Blanks are None (never 0); `mmr` lands in `mm_amount`; the sign comes from posSide."""
    (p,) = parse_okx_positions((FRAMES / "positions_docs.json").read_bytes())
    assert (p.inst_id, p.mgn_mode, p.pos_side, p.ccy) == ("BTC-USDT-SWAP", "cross", "long", "USDT")
    assert (p.pos, p.avg_px, p.lever) == (1.0, 34_131.1, 2.0)
    assert p.liq_px == 12_608.959083877446
    assert p.mm_amount == 1.3652874433435829
    assert p.imr == 170.66093041794787
    assert p.margin is None  # "" on a cross position: does not apply
    assert p.mark_px is None  # absent from this docs example
    assert p.signed_contracts == 1.0


def test_docs_positions_example_through_the_model() -> None:
    """Parsed fields + the 0.05 % taker fee + tier rate mmr/notional → the venue's own liqPx (≤ 1e-9)."""
    (p,) = parse_okx_positions(_load("positions_docs.json"))
    assert p.imr is not None and p.lever is not None and p.mm_amount is not None and p.mgn_ratio is not None
    assert p.liq_px is not None
    notional = p.imr * p.lever
    q = p.signed_contracts * 0.01  # BTC-USDT-SWAP ctVal
    mark = notional / abs(q)
    rate = round(p.mm_amount / notional, 12)
    equity = p.mgn_ratio * okx_requirement(notional, rate, 0.0005)
    lp = okx_cross_liquidation_price(q, mark, equity, rate, 0.0005)
    assert abs(lp / p.liq_px - 1) <= 1e-9


def test_short_side_and_net_mode() -> None:
    """posSide short flips the sign; net mode keeps pos's sign; a negative pos in long/short mode is bad."""
    body = _load("positions_docs.json")
    row = body["data"][0]
    short = copy.deepcopy(body)
    short["data"][0] = {**row, "posSide": "short"}
    net = copy.deepcopy(body)
    net["data"][0] = {**row, "posSide": "net", "pos": "-3"}
    assert parse_okx_positions(short)[0].signed_contracts == -1.0
    assert parse_okx_positions(net)[0].signed_contracts == -3.0
    bad = copy.deepcopy(body)
    bad["data"][0] = {**row, "pos": "-3"}
    with pytest.raises(ParseError, match="negative"):
        parse_okx_positions(bad)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("avgPx", "", 'OKX sent ""'),
        ("pos", "", 'OKX sent ""'),
        ("avgPx", "nan", "avgPx=nan is not finite"),
        ("liqPx", "inf", "liqPx=inf is not finite"),
        ("mgnMode", "portfolio", "mgnMode"),
        ("pos", "one", "pos"),
    ],
)
def test_bad_fields_are_refused_by_name(field: str, value: str, message: str) -> None:
    """A blank where the model needs a number, a non-finite string, an unknown mode: ParseError, not 0."""
    body = _load("positions_docs.json")
    body["data"][0][field] = value
    with pytest.raises(ParseError, match=message):
        parse_okx_positions(body)


def test_isolated_without_margin_is_refused() -> None:
    """An isolated row must carry `margin`: the LP cannot be computed without it."""
    body = _load("positions_docs.json")
    body["data"][0]["mgnMode"] = "isolated"
    with pytest.raises(ParseError, match="without margin"):
        parse_okx_positions(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"code":"50111","msg":"Invalid OK-ACCESS-KEY","data":[]}', "venue_error"),
        (b'{"code":"0","msg":""}', "schema"),
        (b"[1, 2]", "schema"),
        (b"{not json", "json"),
    ],
)
def test_bad_envelopes(body: bytes, reason: str) -> None:
    """A venue error, no data, a non-object or broken JSON: each with its own reason."""
    with pytest.raises(ParseError) as exc:
        parse_okx_positions(body)
    assert exc.value.reason == reason


def test_position_tiers_shape_and_ladder() -> None:
    """SWAP tiers: sizes in contracts, `mmr` lands in `mm_rate`; the ladder feeds the tier lookup."""
    rows = parse_okx_position_tiers(_load("position_tiers.json"))
    assert [(r.tier, r.min_sz, r.max_sz, r.mm_rate, r.im_rate, r.max_lever) for r in rows] == [
        (1, 0.0, 2_000.0, 0.01, 0.013, 75.0),
        (2, 2_001.0, 4_000.0, 0.015, 0.02, 50.0),
    ]
    ladders = okx_tier_ladders(rows)
    assert list(ladders) == ["ETH-USDT"]
    tier, rate = okx_position_tier(
        okx_tier_table([ladders["ETH-USDT"]]), np.zeros(2, dtype=np.intp), np.array([1.0, 3_000.0])
    )
    assert tier.tolist() == [0, 1]
    assert rate.tolist() == [0.01, 0.015]


def test_docs_tier_example_parses() -> None:
    """The docs' own (MARGIN) example: blank family, keyed by instId."""
    rows = parse_okx_position_tiers((FRAMES / "position_tiers_docs.json").read_text())
    assert rows[0].mm_rate == 0.03
    assert rows[0].inst_family is None
    assert list(okx_tier_ladders(rows)) == ["BTC-USDT"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mmr": ""}, 'OKX sent ""'),
        ({"mmr": "1.5"}, "is not a rate"),
        ({"minSz": "5000"}, "minSz"),
    ],
)
def test_bad_tier_rows(change: dict[str, str], message: str) -> None:
    """A blank or out-of-range rate, or an inverted size band, refuses the reply."""
    body = _load("position_tiers.json")
    body["data"][1].update(change)
    with pytest.raises(ParseError, match=message):
        parse_okx_position_tiers(body)


def test_a_broken_ladder_is_refused_whole() -> None:
    """Tiers whose maxSz do not rise: the family is refused, not half-used."""
    body = _load("position_tiers.json")
    body["data"][1]["maxSz"] = "1000"
    body["data"][1]["minSz"] = "0"
    rows = parse_okx_position_tiers(body)
    with pytest.raises(ParseError, match="not a ladder"):
        okx_tier_ladders(rows)
