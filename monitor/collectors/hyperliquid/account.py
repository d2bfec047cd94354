"""One Hyperliquid account, read by its address: `clearinghouseState` over REST every `poll_s`.

No key: Hyperliquid's info endpoint answers any address [doc], so the account is its 42-character
address (`accounts[].address`), which is public, not a secret. Tiers come from `meta` (per coin,
`hl_asset_brackets`), refreshed with the reference data. There is no private stream to merge: each
reply is the complete state (the watcher polls at `poll_s`; `user_loop` has nothing to do).
"""

from __future__ import annotations

import asyncio
from typing import Any

from monitor.collectors.account_watch import AccountWatcher
from monitor.collectors.hyperliquid.margin_wire import parse_meta_and_asset_ctxs
from monitor.collectors.hyperliquid.wire import leverage_tiers, parse_account
from monitor.config.records import SymbolOrAll
from monitor.records import AccountSnapshot

__all__ = ["HlAccount"]


class HlAccount(AccountWatcher):
    def __init__(self, *, address: str, symbols: tuple[SymbolOrAll, ...], **kw: Any) -> None:
        super().__init__(**kw)
        self.address = address
        self._symbols = symbols

    async def _reference(self, ex: Any) -> None:
        body = await self._rest.call(ex, ex.publicPostInfo, {"type": "metaAndAssetCtxs"})
        meta = parse_meta_and_asset_ctxs(body).meta
        every = "*" in self._symbols
        coins = {a.name for a in meta.universe} if every else {*self._symbols, *self.held_symbols}
        for tiers in leverage_tiers(meta, self.venue, self.name, self._clock.now_ns(), coins):
            self._sink.put(tiers)

    async def _rest_snapshot(self, ex: Any) -> AccountSnapshot:
        body = await self._rest.call(
            ex, ex.publicPostInfo, {"type": "clearinghouseState", "user": self.address}
        )
        positions, balances = parse_account(body)
        return self._snapshot(positions, balances)

    async def user_loop(self) -> None:
        """Nothing to stream: each REST reply is the whole account (a clearinghouseState socket is left)."""
        await asyncio.Event().wait()
