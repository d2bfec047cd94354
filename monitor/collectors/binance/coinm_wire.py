"""Binance COIN-M positions, brackets and account, and the Multi-Assets `assetIndex`, as typed structs.

For the margin models `monitor.risk.inverse_margin` and `monitor.risk.collateral`. Units differ from
USDⓈ-M and are kept in the names: `positionAmt` is in **contracts**, `notionalValue`,
`unRealizedProfit`, `isolatedWallet` and every asset field are in **coin**, and the brackets'
`qtylFloor`/`qtyCap` (Binance's spelling) and `cum` are in **coin** [doc]. A `liquidationPrice` of
"0" means "no liquidation price" (a coin-backed short) and becomes None, never a price of 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

import msgspec
import numpy as np

from monitor.collectors.struct_rows import convert_rows, finite_fields
from monitor.errors import ParseError
from monitor.risk.margin import Brackets, bracket_problem, brackets
from monitor.risk.reasons import Reason

__all__ = [
    "AssetIndex",
    "CoinmAccount",
    "CoinmAccountPosition",
    "CoinmAsset",
    "CoinmBracket",
    "CoinmPositionRisk",
    "CoinmSymbolBrackets",
    "coinm_brackets",
    "parse_asset_index",
    "parse_coinm_account",
    "parse_coinm_leverage_brackets",
    "parse_coinm_position_risk",
]


class CoinmPositionRisk(msgspec.Struct, frozen=True, kw_only=True):
    """One row of `GET /dapi/v1/positionRisk` (real row, ccxt's fixture):

    ``{"symbol":"BTCUSD_PERP","positionAmt":"-3","entryPrice":"68911.00000037","markPrice":"68234.20000000",
    "unRealizedProfit":"0.00004318","liquidationPrice":"72491.16879818","leverage":"20","maxQty":"150",
    "marginType":"cross","isolatedMargin":"0.00000000","positionSide":"BOTH","notionalValue":"-0.00439662",
    "isolatedWallet":"0","updateTime":"1722105622903",…}``
    """

    symbol: str
    contracts: float = msgspec.field(name="positionAmt")  # signed in one-way mode
    entry_price: float = msgspec.field(name="entryPrice")
    mark_price: float = msgspec.field(name="markPrice")
    upnl_coin: float = msgspec.field(name="unRealizedProfit")
    liquidation_price_raw: float = msgspec.field(name="liquidationPrice")  # "0": none
    leverage: float
    margin_type: Literal["cross", "isolated"] = msgspec.field(name="marginType")
    position_side: Literal["BOTH", "LONG", "SHORT"] = msgspec.field(name="positionSide")
    isolated_wallet: float = msgspec.field(name="isolatedWallet")  # coin; isolatedMargin = this + UPnL
    isolated_margin: float = msgspec.field(name="isolatedMargin")
    notional_value_coin: float = msgspec.field(name="notionalValue")  # signed
    max_qty: float | None = msgspec.field(name="maxQty", default=None)
    update_time_ms: int = msgspec.field(name="updateTime")

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.entry_price < 0 or self.mark_price < 0 or self.liquidation_price_raw < 0:
            raise ValueError("entryPrice/markPrice/liquidationPrice is negative")
        if self.position_side == "LONG" and self.contracts < 0:
            raise ValueError(f"positionAmt {self.contracts} is negative on a LONG leg")

    @property
    def liquidation_price(self) -> float | None:
        """Binance's LP, or None where it sends "0" (nothing liquidates the position)."""
        return self.liquidation_price_raw if self.liquidation_price_raw > 0 else None


class CoinmBracket(msgspec.Struct, frozen=True, kw_only=True):
    """One bracket of `/dapi/v2/leverageBracket`: quantities and `cum` in coin."""

    bracket: int
    initial_leverage: float = msgspec.field(name="initialLeverage")
    qty_cap: float = msgspec.field(name="qtyCap")
    qty_floor: float = msgspec.field(name="qtylFloor")  # Binance's spelling
    maint_margin_ratio: float = msgspec.field(name="maintMarginRatio")
    cum: float | None = None  # absent from the deprecated v1 reply: then derived, never 0

    def __post_init__(self) -> None:
        finite_fields(self)
        if not (0 <= self.maint_margin_ratio < 1):
            raise ValueError(
                f"bracket {self.bracket}: maintMarginRatio {self.maint_margin_ratio} is not a rate"
            )
        if not (0 <= self.qty_floor < self.qty_cap):
            raise ValueError(f"bracket {self.bracket}: qtylFloor {self.qty_floor} ≥ qtyCap {self.qty_cap}")


class CoinmSymbolBrackets(msgspec.Struct, frozen=True, kw_only=True):
    """One symbol's brackets (``{"symbol":"BTCUSD_PERP","notionalCoef":1.50,"brackets":[…]}``).

    `notionalCoef` appears only when the user's brackets differ from the symbol's default [doc].
    """

    symbol: str
    brackets: list[CoinmBracket]
    notional_coef: float | None = msgspec.field(name="notionalCoef", default=None)


class CoinmAsset(msgspec.Struct, frozen=True, kw_only=True):
    """One margin coin of `/dapi/v1/account` (every field in that coin): its own cross margin pool."""

    asset: str
    wallet_balance: float = msgspec.field(name="walletBalance")
    unrealized_profit: float = msgspec.field(name="unrealizedProfit")
    margin_balance: float = msgspec.field(name="marginBalance")
    maint_margin: float = msgspec.field(name="maintMargin")
    initial_margin: float = msgspec.field(name="initialMargin")
    cross_wallet_balance: float = msgspec.field(name="crossWalletBalance")
    cross_un_pnl: float = msgspec.field(name="crossUnPnl")
    available_balance: float = msgspec.field(name="availableBalance")
    max_withdraw_amount: float | None = msgspec.field(name="maxWithdrawAmount", default=None)
    update_time_ms: int = msgspec.field(name="updateTime", default=0)

    def __post_init__(self) -> None:
        finite_fields(self)


class CoinmAccountPosition(msgspec.Struct, frozen=True, kw_only=True):
    """One position of `/dapi/v1/account` (BOTH only in one-way mode; BOTH, LONG, SHORT in hedge mode)."""

    symbol: str
    contracts: float = msgspec.field(name="positionAmt")
    entry_price: float = msgspec.field(name="entryPrice")
    maint_margin: float = msgspec.field(name="maintMargin")
    initial_margin: float = msgspec.field(name="initialMargin")
    unrealized_profit: float = msgspec.field(name="unrealizedProfit")
    leverage: float
    isolated: bool
    position_side: Literal["BOTH", "LONG", "SHORT"] = msgspec.field(name="positionSide")
    max_qty: float | None = msgspec.field(name="maxQty", default=None)
    notional_value_coin: float | None = msgspec.field(name="notionalValue", default=None)
    update_time_ms: int = msgspec.field(name="updateTime", default=0)

    def __post_init__(self) -> None:
        finite_fields(self)


class CoinmAccount(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /dapi/v1/account`: per-coin assets and the positions (no account-level USD totals on COIN-M)."""

    assets: list[CoinmAsset]
    positions: list[CoinmAccountPosition]
    can_trade: bool | None = msgspec.field(name="canTrade", default=None)
    fee_tier: int | None = msgspec.field(name="feeTier", default=None)
    update_time_ms: int = msgspec.field(name="updateTime", default=0)


class AssetIndex(msgspec.Struct, frozen=True, kw_only=True):
    """One pair of `GET /fapi/v1/assetIndex` (Multi-Assets mode), the docs' example:

    ``{"symbol":"ADAUSD","time":1635740268004,"index":"1.92957370","bidBuffer":"0.10000000",
    "askBuffer":"0.10000000","bidRate":"1.73661633","askRate":"2.12253107",
    "autoExchangeBidBuffer":"0.05000000",…}``
    """

    symbol: str
    time_ms: int = msgspec.field(name="time")
    index: float
    bid_buffer: float = msgspec.field(name="bidBuffer")
    ask_buffer: float = msgspec.field(name="askBuffer")
    bid_rate: float = msgspec.field(name="bidRate")
    ask_rate: float = msgspec.field(name="askRate")
    auto_exchange_bid_rate: float | None = msgspec.field(name="autoExchangeBidRate", default=None)
    auto_exchange_ask_rate: float | None = msgspec.field(name="autoExchangeAskRate", default=None)

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.index <= 0:
            raise ValueError(f"index {self.index} is not positive")
        if not (0 <= self.bid_buffer < 1 and self.ask_buffer >= 0):
            raise ValueError(f"bidBuffer {self.bid_buffer} / askBuffer {self.ask_buffer} out of range")
        if not (0 < self.bid_rate <= self.ask_rate):
            raise ValueError(f"bidRate {self.bid_rate} / askRate {self.ask_rate} out of order")


def _decode(body: bytes | str | Any, what: str) -> Any:
    try:
        obj = msgspec.json.decode(body) if isinstance(body, bytes | str) else body
    except msgspec.DecodeError as exc:
        raise ParseError("json", f"{what}: {exc}") from None
    if isinstance(obj, Mapping) and "code" in obj and "msg" in obj:
        raise ParseError("venue_error", f"{what}: code {obj.get('code')!r} {str(obj.get('msg'))[:80]!r}")
    return obj


def _list(obj: Any, what: str) -> list[Any]:
    if not isinstance(obj, list):
        raise ParseError("schema", f"{what}: the reply is not a list")
    return obj


def parse_coinm_position_risk(body: bytes | str | Any) -> list[CoinmPositionRisk]:
    """The positionRisk reply → rows (flat rows included); a venue error or a bad row: `ParseError`."""
    return convert_rows(
        _list(_decode(body, "positionRisk"), "positionRisk"), CoinmPositionRisk, "positionRisk"
    )


def parse_coinm_leverage_brackets(body: bytes | str | Any) -> list[CoinmSymbolBrackets]:
    """The `/dapi/v2/leverageBracket` reply → one entry per symbol, brackets as the venue orders them."""
    rows = _list(_decode(body, "leverageBracket"), "leverageBracket")
    return convert_rows(rows, CoinmSymbolBrackets, "leverageBracket")


def parse_coinm_account(body: bytes | str | Any) -> CoinmAccount:
    """The `/dapi/v1/account` reply → assets per coin and positions; a missing field: `ParseError`."""
    return convert_rows([_decode(body, "account")], CoinmAccount, "account")[0]


def parse_asset_index(body: bytes | str | Any) -> list[AssetIndex]:
    """`/fapi/v1/assetIndex` → rows: one object with `symbol=`, a list without it [doc]."""
    obj = _decode(body, "assetIndex")
    return convert_rows(obj if isinstance(obj, list) else [obj], AssetIndex, "assetIndex")


def coinm_brackets(entry: CoinmSymbolBrackets) -> Brackets:
    """One symbol's brackets as `Brackets` in coin, for `inverse_margin`; a broken ladder: `ParseError`.

    Why strict: a gap or overlap between `qtyCap` and the next `qtylFloor`, or a `cum` that
    disagrees with the recursion, would price part of a position at the wrong rate. All `cum`
    absent (v1) → the recursion; some absent → refused, as a half-given table is no table.
    """
    bs = sorted(entry.brackets, key=lambda b: b.bracket)
    floors = [b.qty_floor for b in bs]
    caps = [b.qty_cap for b in bs]
    if not bs:
        raise ParseError("schema", f"leverageBracket {entry.symbol}: no brackets")
    for prev, nxt in itertools.pairwise(bs):
        if nxt.qty_floor != prev.qty_cap:
            raise ParseError(
                "schema", f"leverageBracket {entry.symbol}: qtylFloor {nxt.qty_floor} of bracket "
                f"{nxt.bracket} ≠ qtyCap {prev.qty_cap} of bracket {prev.bracket}"
            )  # fmt: skip
    cums = [b.cum for b in bs]
    if any(c is None for c in cums) and not all(c is None for c in cums):
        raise ParseError("schema", f"leverageBracket {entry.symbol}: cum missing on some brackets only")
    given = None if cums[0] is None else np.array(cums, dtype=np.float64)
    out = brackets(
        np.array(floors, dtype=np.float64),
        np.array([b.maint_margin_ratio for b in bs], dtype=np.float64),
        caps=np.array(caps, dtype=np.float64),
        cums=given,
        max_leverage=np.array([b.initial_leverage for b in bs], dtype=np.float64),
    )
    problem = bracket_problem(out)
    if problem != Reason.OK:
        raise ParseError("schema", f"leverageBracket {entry.symbol}: {problem.name.lower()}")
    return out
