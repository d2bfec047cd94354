"""The simulated OKX instruments: USDT-margined swaps and their spot pairs, with OKX's own sizes.

OKX sizes derivatives in **contracts** (`ctVal` base units each), and its position tiers are
contract ranges per `tdMode` (venues-next §c), so a spec carries its tier ladder per margin mode.
The tier rates are OKX's published shape (the first tier's 0.4 % maintenance on BTC, as in OKX's own
positions example), not a copy of a live table. The simulator's symbols are Binance's (`BTCUSDT`);
`inst_id` is the venue's name for the same market (`BTC-USDT-SWAP`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OKX_SYMBOLS", "OkxSpec", "OkxTier", "by_inst_id"]


@dataclass(frozen=True, slots=True)
class OkxTier:
    tier: int
    min_sz: float  # contracts
    max_sz: float
    mmr: float  # a RATE of notional
    imr: float
    max_lever: float


def _ladder(rows: tuple[tuple[float, float, float], ...]) -> tuple[OkxTier, ...]:
    out: list[OkxTier] = []
    low = 0.0
    for i, (max_sz, mmr, lever) in enumerate(rows, 1):
        out.append(OkxTier(i, low, max_sz, mmr, round(1 / lever, 6), lever))
        low = max_sz + 1
    return tuple(out)


@dataclass(frozen=True, slots=True)
class OkxSpec:
    symbol: str  # the simulator's (Binance's) name
    base: str
    ct_val: float  # base units per contract
    tick: str
    spot_tick: str
    max_lever: float
    cross: tuple[OkxTier, ...]
    isolated: tuple[OkxTier, ...]
    spread_bps: float  # OKX's last/mark premium over the Binance perp's, mean
    funding_cap: float = 0.0075  # |rate| ≤ cap (`maxFundingRate`)
    funding_hours: int = 8
    lot_sz: float = 0.01  # contracts (fractional lots exist on OKX)

    @property
    def inst_id(self) -> str:
        return f"{self.base}-USDT-SWAP"

    @property
    def family(self) -> str:
        return f"{self.base}-USDT"

    def tiers(self, td_mode: str) -> tuple[OkxTier, ...]:
        return self.isolated if td_mode == "isolated" else self.cross


_BTC = ((2_000.0, 0.004, 100.0), (5_000.0, 0.006, 75.0), (10_000.0, 0.01, 50.0), (50_000.0, 0.02, 20.0))
_ETH = ((2_000.0, 0.005, 100.0), (8_000.0, 0.008, 50.0), (20_000.0, 0.012, 30.0), (80_000.0, 0.025, 15.0))
_SOL = ((20_000.0, 0.008, 50.0), (80_000.0, 0.012, 30.0), (200_000.0, 0.02, 20.0), (800_000.0, 0.05, 10.0))

OKX_SYMBOLS: tuple[OkxSpec, ...] = (
    OkxSpec("BTCUSDT", "BTC", 0.01, "0.1", "0.1", 100.0, _ladder(_BTC), _ladder(_BTC[:3]), 1.5),
    OkxSpec("ETHUSDT", "ETH", 0.1, "0.01", "0.01", 100.0, _ladder(_ETH), _ladder(_ETH[:3]), -1.0),
    OkxSpec("SOLUSDT", "SOL", 1.0, "0.001", "0.001", 50.0, _ladder(_SOL), _ladder(_SOL[:3]), 2.5),
)


def by_inst_id(specs: dict[str, OkxSpec], inst_id: str) -> OkxSpec | None:
    return next((s for s in specs.values() if s.inst_id == inst_id), None)
