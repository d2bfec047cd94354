"""What every collector of a venue holds, native or generic, and its start-up key check.

Both kinds of collector write into one sink, count into one `CollectorStats`, judge the stream
limits by one table (`cadence.stream_limits`), learn held symbols the same way (`held`), share one
venue cool-down between every REST call (limits are per IP) and refuse a key that can do more
than read before any account task uses it (`base.KeyGate`). The key is read by the venue's own
call (`monitor.venues.KeyCall`), from a client signed for that account (`_signed_client`).
"""

from __future__ import annotations

from typing import Any

from monitor.clock import Clock
from monitor.collectors.base import AccountAccess, CollectorStats, KeyGate, RecordSink
from monitor.collectors.cadence import stream_limits
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.held import HeldSymbols
from monitor.collectors.keys import KeyPermissions
from monitor.collectors.listing import named
from monitor.collectors.pacing import Cooldown
from monitor.config import Config, VenueConfig
from monitor.venues import Endpoints, spoken

__all__ = ["VenueCollector"]


class VenueCollector:
    def __init__(
        self,
        *,
        venue: VenueConfig,
        cfg: Config,
        endpoints: Endpoints,
        accounts: dict[str, AccountAccess],
        sink: RecordSink,
        clock: Clock,
    ) -> None:
        self.spec = spoken(venue)  # the venue it talks to (`monitor.venues`)
        self.venue = venue.name
        self.cfg = venue
        self.endpoints = endpoints
        self.accounts = accounts
        self.sink = sink
        self.clock = clock
        self.stats = CollectorStats(venue.name)
        self.full_cfg = cfg
        self.limits = stream_limits(cfg, venue)
        self.held = HeldSymbols(venue.name, named(venue.symbols))  # what the accounts hold beyond them
        self.cooldown = Cooldown(clock)
        self.rest = RestCaller(
            self.cooldown,
            self.stats,
            [s for a in accounts.values() for s in (a.key, a.secret, a.password) if s is not None],
        )
        self.keys = KeyGate(
            venue=venue.name,
            accounts=accounts,
            read=self._permissions,
            redact=self.rest.redact,
            sink=sink,
            clock=clock,
        )
        self._wire()

    def _wire(self) -> None:
        """What this collector adds to the parts every collector has (sockets, history, watchers …)."""
        raise NotImplementedError

    def _signed_client(self, account: str) -> Any:
        """A ccxt client of the venue signed with `account`'s key (closed by the caller)."""
        raise NotImplementedError

    async def check_keys(self) -> None:
        """At start: refuse keys that can withdraw, trade or transfer (the venue's own key call)."""
        await self.keys.check_all()

    async def _permissions(self, name: str) -> KeyPermissions:
        call = self.spec.key_call
        if call is None:
            return KeyPermissions(verified=False)  # judge_key refuses it unless trading keys are allowed
        ex = self._signed_client(name)
        try:
            return call.parser()(await self.rest.call(ex, getattr(ex, call.method)))
        finally:
            await ex.close()
