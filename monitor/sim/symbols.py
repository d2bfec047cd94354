"""The contracts the simulator lists, with the few facts that differ between them.

BTCUSDT follows the replayed bars. ETHUSDT, SOLUSDT and XRPUSDT are the same path scaled by a
per-event ratio (roughly the real cross rate on the day) - enough to exercise more than one symbol,
other bracket tables and every funding interval the venue uses (8 h BTC/ETH, 4 h SOL, and XRP set to
1 h here, as the venue does to a contract whose funding sits at its cap) without claiming to replay
their real history.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SYMBOLS", "SymbolSpec", "symbol_spec"]


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    symbol: str
    base: str
    quote: str
    ratio: dict[str, float]  # price relative to the BTCUSDT path, per replay event
    funding_hours: int
    funding_cap: float  # fraction per interval; the floor is its negative
    interest_rate: float  # per interval (0.03 % per day, pro rata)
    adjusted: bool  # listed by /fapi/v1/fundingInfo (cap or interval differ from the default)
    tick: str  # futures PRICE_FILTER tickSize
    step: str  # LOT_SIZE stepSize
    spot_tick: str
    spot_step: str
    liquidation_fee: float  # clearance fee rate charged on a liquidated notional
    onboard_ms: int
    price_precision: int
    qty_precision: int


SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec(
        "BTCUSDT",
        "BTC",
        "USDT",
        {"E1": 1.0, "E2": 1.0, "E4": 1.0},
        8,
        0.003,
        0.0001,
        False,
        "0.10",
        "0.001",
        "0.01",
        "0.00001",
        0.0125,
        1569398400000,
        2,
        3,
    ),
    SymbolSpec(
        "ETHUSDT",
        "ETH",
        "USDT",
        {"E1": 0.0217, "E2": 0.0863, "E4": 0.0467},
        8,
        0.003,
        0.0001,
        False,
        "0.01",
        "0.001",
        "0.01",
        "0.0001",
        0.0125,
        1569398400000,
        2,
        3,
    ),
    SymbolSpec(
        "SOLUSDT",
        "SOL",
        "USDT",
        {"E1": 0.0002, "E2": 0.0010, "E4": 0.0024},
        4,
        0.02,
        0.00005,
        True,
        "0.0100",
        "1",
        "0.01",
        "0.001",
        0.0150,
        1600000000000,
        4,
        0,
    ),
    SymbolSpec(
        "XRPUSDT",
        "XRP",
        "USDT",
        {"E1": 3.0e-5, "E2": 3.2e-5, "E4": 9.3e-6},
        1,
        0.02,
        0.0000125,
        True,
        "0.0001",
        "0.1",
        "0.0001",
        "0.1",
        0.0150,
        1578009600000,
        4,
        1,
    ),
)

_BY_NAME = {s.symbol: s for s in SYMBOLS}


def symbol_spec(symbol: str) -> SymbolSpec | None:
    return _BY_NAME.get(symbol.upper())
