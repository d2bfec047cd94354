"""One Binance COIN-M account: Binance's watcher (listenKey life, rotation, deltas) on `/dapi`.

Only the calls differ from USDⓈ-M (`binance.account.BinanceAccount`): tiers from
`/dapi/v2/leverageBracket`, the snapshot from `/dapi/v1/positionRisk` + `/dapi/v1/account`, the
listenKey on `/dapi/v1/listenKey`, and the user socket `<dstream>/ws/<listenKey>`. Contract sizes
and margin coins come from `/dapi/v1/exchangeInfo` with the tiers (refreshed with them); a
stream delta keeps the size and coin of the leg it updates (`account_book`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from monitor.collectors.binance.account import BinanceAccount
from monitor.collectors.binance_coinm.wire import (
    coinm_balances,
    coinm_contract_specs,
    coinm_positions,
    coinm_tiers,
)
from monitor.records import AccountSnapshot

__all__ = ["CoinmAccount"]


class CoinmAccount(BinanceAccount):
    _listen_key_post = "dapiPrivatePostListenKey"
    _listen_key_put = "dapiPrivatePutListenKey"

    def __init__(self, **common: Any) -> None:
        super().__init__(**common)
        self._specs: dict[str, tuple[float, str]] = {}

    def _user_url(self, key: str) -> str:
        return f"{self._ws_base}/ws/{key}"

    async def _contract_specs(self, ex: Any) -> None:
        self._specs = coinm_contract_specs(await self._rest.call(ex, ex.dapiPublicGetExchangeInfo))

    async def _reference(self, ex: Any) -> None:
        await self._contract_specs(ex)
        raw = await self._rest.call(ex, ex.dapiPrivateV2GetLeverageBracket)
        self._put_tiers(coinm_tiers(raw, self.name, self.venue, self._clock.now_ns()))

    async def _rest_snapshot(self, ex: Any) -> AccountSnapshot:
        if not self._specs:  # the reference has not run yet (or failed): sizes are needed first
            await self._contract_specs(ex)
        risk, acct = await asyncio.gather(
            self._rest.call(ex, ex.dapiPrivateGetPositionRisk),
            self._rest.call(ex, ex.dapiPrivateGetAccount),
        )
        return self._snapshot(coinm_positions(risk, self._specs), coinm_balances(acct))
