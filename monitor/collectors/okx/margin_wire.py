"""OKX v5 positions and position tiers → typed structs, for the margin model (`monitor.risk.okx_margin`).

Every number arrives as a string, and a field that does not apply is `""` [doc]: `liqPx` with no
liquidation, `imr` on an isolated position, `margin` on a cross one. Such a blank is read as
"none" (`None`), never as 0; a blank where the model needs a value (`pos`, `avgPx`, the tiers'
`mmr`) rejects the reply with a `ParseError` naming the field. The two `mmr`s are kept apart by
name: `OkxPosition.mm_amount` (an amount in the margin currency) and `OkxTierRow.mm_rate` (a rate).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from monitor.collectors.struct_rows import blanks_to_none, convert_rows, finite_fields
from monitor.errors import ParseError
from monitor.risk.okx_margin import OkxTiers, okx_tiers

__all__ = [
    "OkxPosition",
    "OkxTierRow",
    "okx_tier_ladders",
    "parse_okx_position_tiers",
    "parse_okx_positions",
]


class OkxPosition(msgspec.Struct, frozen=True, kw_only=True):
    """One row of `GET /api/v5/account/positions` (or the `positions` channel); `None` = OKX sent "".

    ``{"instId":"BTC-USDT-SWAP","mgnMode":"cross","posSide":"long","pos":"1","avgPx":"34131.1",
    "lever":"2","liqPx":"12608.959083877446","imr":"170.66093041794787","margin":"",
    "mgnRatio":"140.49930117599155","mmr":"1.3652874433435829","upl":"0.0108608358957281",…}``
    """

    inst_id: str = msgspec.field(name="instId")
    inst_type: str = msgspec.field(name="instType")
    mgn_mode: Literal["cross", "isolated"] = msgspec.field(name="mgnMode")
    pos_side: Literal["long", "short", "net"] = msgspec.field(name="posSide")
    pos: float  # contracts; signed only in net mode
    avg_px: float = msgspec.field(name="avgPx")
    ccy: str  # margin currency
    mark_px: float | None = msgspec.field(name="markPx", default=None)
    upl: float | None = None
    lever: float | None = None
    liq_px: float | None = msgspec.field(name="liqPx", default=None)  # None: no liquidation price
    imr: float | None = None  # cross only (an amount)
    margin: float | None = None  # isolated only (excludes upl)
    mgn_ratio: float | None = msgspec.field(name="mgnRatio", default=None)  # equity/requirement
    mm_amount: float | None = msgspec.field(name="mmr", default=None)  # an AMOUNT, not the tier rate
    notional_usd: float | None = msgspec.field(name="notionalUsd", default=None)
    u_time_ms: int | None = msgspec.field(name="uTime", default=None)

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.pos_side != "net" and self.pos < 0:
            raise ValueError(f"pos {self.pos} is negative with posSide {self.pos_side}")
        if self.mgn_mode == "isolated" and self.margin is None:
            raise ValueError("isolated position without margin")

    @property
    def signed_contracts(self) -> float:
        """Contracts with the side's sign: `pos` itself in net mode, else signed by `posSide`."""
        return -self.pos if self.pos_side == "short" else self.pos


class OkxTierRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of `GET /api/v5/public/position-tiers` (SWAP: sizes in contracts).

    ``{"tier":"1","minSz":"0","maxSz":"2000","mmr":"0.01","imr":"0.013","maxLever":"75",
    "instFamily":"ETH-USDT","uly":"ETH-USDT","baseMaxLoan":"",…}``
    """

    tier: int
    min_sz: float = msgspec.field(name="minSz")
    max_sz: float = msgspec.field(name="maxSz")
    mm_rate: float = msgspec.field(name="mmr")  # a RATE of notional
    im_rate: float = msgspec.field(name="imr")
    max_lever: float = msgspec.field(name="maxLever")
    inst_family: str | None = msgspec.field(name="instFamily", default=None)
    uly: str | None = None
    inst_id: str | None = msgspec.field(name="instId", default=None)

    def __post_init__(self) -> None:
        finite_fields(self)
        if not (0 <= self.mm_rate < 1 and 0 < self.im_rate <= 1):
            raise ValueError(f"tier {self.tier}: mmr {self.mm_rate} / imr {self.im_rate} is not a rate")
        if not (0 <= self.min_sz <= self.max_sz):
            raise ValueError(f"tier {self.tier}: minSz {self.min_sz} > maxSz {self.max_sz}")


def _rows(body: bytes | str | Mapping[str, Any], what: str) -> list[Any]:
    try:
        obj = msgspec.json.decode(body) if isinstance(body, bytes | str) else body
    except msgspec.DecodeError as exc:
        raise ParseError("json", f"{what}: {exc}") from None
    if not isinstance(obj, Mapping):
        raise ParseError("schema", f"{what}: the envelope is not an object")
    if obj.get("code") != "0":
        raise ParseError("venue_error", f"{what}: code {obj.get('code')!r} {str(obj.get('msg'))[:80]!r}")
    data = obj.get("data")
    if not isinstance(data, list):
        raise ParseError("schema", f"{what}: data is not a list")
    return [blanks_to_none(r) for r in data]


def parse_okx_positions(body: bytes | str | Mapping[str, Any]) -> list[OkxPosition]:
    """The positions reply → rows; a non-"0" `code`, a bad row or a blank required field: `ParseError`."""
    return convert_rows(_rows(body, "positions"), OkxPosition, "positions", "OKX")


def parse_okx_position_tiers(body: bytes | str | Mapping[str, Any]) -> list[OkxTierRow]:
    """The position-tiers reply → rows (one family and `tdMode` per request), in the venue's order."""
    return convert_rows(_rows(body, "position-tiers"), OkxTierRow, "position-tiers", "OKX")


def okx_tier_ladders(rows: list[OkxTierRow]) -> dict[str, OkxTiers]:
    """Rows grouped by `instFamily` (else `uly`, else `instId`) into ascending ladders for the model.

    A family whose tiers repeat, or whose `maxSz` do not rise with the tier, is refused as a whole:
    half a ladder would price the rest of a position at the wrong rate.
    """
    fams: dict[str, list[OkxTierRow]] = {}
    for r in rows:
        fams.setdefault(r.inst_family or r.uly or r.inst_id or "", []).append(r)
    out: dict[str, OkxTiers] = {}
    for fam, rs in fams.items():
        rs = sorted(rs, key=lambda r: r.tier)
        tiers = [r.tier for r in rs]
        sizes = [r.max_sz for r in rs]
        if len(set(tiers)) != len(tiers) or any(b <= a for a, b in itertools.pairwise(sizes)):
            raise ParseError(
                "schema", f"position-tiers {fam!r}: tiers {tiers} / maxSz {sizes} are not a ladder"
            )
        out[fam] = okx_tiers(
            sizes, [r.mm_rate for r in rs], [r.im_rate for r in rs], [r.max_lever for r in rs]
        )
    return out
