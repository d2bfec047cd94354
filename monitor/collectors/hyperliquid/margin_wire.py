"""Hyperliquid info replies → typed structs, for the margin model (`monitor.risk.hyperliquid_margin`).

Numbers are strings (`"0.0335"`), a few are JSON integers (`maxLeverage`, `leverage.value`, `time`);
`liquidationPx` is `null` when no positive price liquidates, and stays `None` here. Anything else
missing or malformed rejects the reply with a `ParseError` naming the field: a blank or a `"nan"` is
never a 0 or a NaN that a later stage could take for a figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import msgspec

from monitor.collectors.struct_rows import finite_fields
from monitor.errors import ParseError
from monitor.risk.hyperliquid_margin import hl_brackets, hl_single_tier
from monitor.risk.margin import Brackets

__all__ = [
    "HlAsset",
    "HlAssetCtx",
    "HlClearinghouseState",
    "HlMarginTable",
    "HlMeta",
    "HlMetaAndAssetCtxs",
    "HlPosition",
    "hl_asset_brackets",
    "parse_clearinghouse_state",
    "parse_meta_and_asset_ctxs",
]

_T = TypeVar("_T")


class _Wire(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    def __post_init__(self) -> None:
        finite_fields(self)


class HlLeverage(_Wire, frozen=True, kw_only=True):
    kind: Literal["cross", "isolated"] = msgspec.field(name="type")
    value: int
    raw_usd: float | None = None  # isolated only: isolated equity = rawUsd + szi·mark


class HlCumFunding(_Wire, frozen=True, kw_only=True):
    all_time: float
    since_open: float
    since_change: float


class HlPosition(_Wire, frozen=True, kw_only=True):
    """``{"coin":"ETH","szi":"0.0335","entryPx":"2986.3","positionValue":"100.02765",
    "liquidationPx":"2866.26936529","marginUsed":"4.967826","maxLeverage":50,
    "leverage":{"rawUsd":"-95.059824","type":"isolated","value":20},…}``
    """

    coin: str
    szi: float  # signed size; positionValue is gross
    entry_px: float
    position_value: float
    unrealized_pnl: float
    return_on_equity: float
    liquidation_px: float | None  # null: no positive price liquidates
    margin_used: float
    max_leverage: int
    leverage: HlLeverage
    cum_funding: HlCumFunding | None = None

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.leverage.kind == "isolated" and self.leverage.raw_usd is None:
            raise ValueError(f"{self.coin}: isolated position without leverage.rawUsd")

    @property
    def mark(self) -> float:
        """The mark the venue valued the position at: positionValue / |szi| (NaN for a flat row)."""
        return self.position_value / abs(self.szi) if self.szi else math.nan


class HlAssetPosition(_Wire, frozen=True, kw_only=True):
    kind: Literal["oneWay"] = msgspec.field(name="type")
    position: HlPosition


class HlMarginSummary(_Wire, frozen=True, kw_only=True):
    account_value: float
    total_ntl_pos: float  # gross
    total_raw_usd: float
    total_margin_used: float


class HlClearinghouseState(_Wire, frozen=True, kw_only=True):
    """`{"type":"clearinghouseState","user":…}`; `margin_summary` counts isolated margin, cross does not."""

    asset_positions: list[HlAssetPosition]
    margin_summary: HlMarginSummary
    cross_margin_summary: HlMarginSummary
    cross_maintenance_margin_used: float
    withdrawable: float
    time: int  # ms


class HlMarginTier(_Wire, frozen=True, kw_only=True):
    lower_bound: float
    max_leverage: int


class HlMarginTable(_Wire, frozen=True, kw_only=True):
    description: str
    margin_tiers: list[HlMarginTier]


class HlAsset(_Wire, frozen=True, kw_only=True):
    name: str
    sz_decimals: int
    max_leverage: int
    margin_table_id: int | None = None
    only_isolated: bool | None = None
    margin_mode: str | None = None  # "strictIsolated" | "noCross"
    is_delisted: bool | None = None


class HlMeta(_Wire, frozen=True, kw_only=True):
    universe: list[HlAsset]
    margin_tables: list[tuple[int, HlMarginTable]] = []
    collateral_token: int | None = None


class HlAssetCtx(_Wire, frozen=True, kw_only=True):
    """``{"funding":"0.0000125","openInterest":"688.11","oraclePx":"14.32","markPx":"14.3161",
    "premium":"0.00031774","midPx":"14.314","impactPxs":["14.3047","14.3444"],…}``; `funding` is hourly.
    """

    funding: float
    open_interest: float  # base units
    prev_day_px: float
    day_ntl_vlm: float
    oracle_px: float
    mark_px: float
    premium: float | None = None
    mid_px: float | None = None
    impact_pxs: tuple[float, float] | None = None
    day_base_vlm: float | None = None


class HlMetaAndAssetCtxs(msgspec.Struct, frozen=True, kw_only=True):
    """`[meta, ctxs]`, index-aligned: `ctxs[i]` is `meta.universe[i]`'s (the index is the asset id)."""

    meta: HlMeta
    ctxs: list[HlAssetCtx]


def _decode(body: bytes | str | Any, cls: type[_T], what: str) -> _T:
    try:
        obj = msgspec.json.decode(body) if isinstance(body, bytes | str) else body
        return msgspec.convert(obj, cls, strict=False)
    except msgspec.DecodeError as exc:
        raise ParseError("json", f"{what}: {exc}") from None
    except msgspec.ValidationError as exc:  # e.g. "Expected `float`, got `str` - at `$.assetPositions[0]…`"
        raise ParseError("schema", f"{what}: {exc}") from None


def parse_clearinghouse_state(body: bytes | str | Mapping[str, Any]) -> HlClearinghouseState:
    """The `clearinghouseState` reply → a typed state; any bad field is a `ParseError` with its path."""
    return _decode(body, HlClearinghouseState, "clearinghouseState")


def parse_meta_and_asset_ctxs(body: bytes | str | list[Any]) -> HlMetaAndAssetCtxs:
    """The `metaAndAssetCtxs` reply `[meta, ctxs]` → typed, refusing contexts that do not line up."""
    pair = _decode(body, tuple[HlMeta, list[HlAssetCtx]], "metaAndAssetCtxs")
    meta, ctxs = pair
    if len(ctxs) != len(meta.universe):
        raise ParseError("schema", f"metaAndAssetCtxs: {len(ctxs)} ctxs for {len(meta.universe)} assets")
    return HlMetaAndAssetCtxs(meta=meta, ctxs=ctxs)


def hl_asset_brackets(meta: HlMeta, index: int) -> Brackets:
    """Asset `index`'s maintenance tiers: its `marginTableId` table, a single tier at an id < 50, else at
    its `maxLeverage` [doc]. A table id the reply does not carry is a `ParseError` (no silent guess).
    """
    asset = meta.universe[index]
    tid = asset.margin_table_id
    if tid is None:
        return hl_single_tier(float(asset.max_leverage))
    if tid < 50:
        return hl_single_tier(float(tid))
    tables = dict(meta.margin_tables)
    if tid not in tables:
        raise ParseError("schema", f"meta: {asset.name} has marginTableId {tid}, not in marginTables")
    tiers = tables[tid].margin_tiers
    return hl_brackets([t.lower_bound for t in tiers], [float(t.max_leverage) for t in tiers])
