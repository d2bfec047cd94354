"""One OKX account: its mode checked, REST snapshots (the shared reconciler), the private socket.

The account mode comes first (`GET /api/v5/account/config`, `acctLv`): perpmon models
single-currency margin only, so an account in multi-currency or portfolio margin gets a DOWN
status whose reason names the mode as not modelled (alertable: the account is not watched) and no
figures at all, never figures from the wrong model. Then `/account/positions` and
`/account/balance` (`wire.positions_from`, `wire.parse_balances`; base units need each swap's
`ctVal`, which the collector reads with the instruments).

The private socket (`/ws/v5/private`) logs in with `{"op":"login","args":[{apiKey, passphrase,
timestamp (Unix seconds), sign = Base64(HMAC-SHA256(secret, ts + "GET" + "/users/self/verify"))}]}`,
subscribes `positions` (instType SWAP) and `account`, and sends the text `ping` every 20 s. Its
pushes carry whole positions; they are merged as legs (the venue's `liqPx` and `mmr` come with the
REST reconciliation every `reconcile_s`). A refused login is a key problem: logged (redacted) and
retried slowly.

OKX's margin model reaches the account stage as one open-ended tier per held symbol (`okx_tiers`):
OKX tiers by CONTRACTS, so the tier of a position does not move with the price, and its test is
`equity ≤ N·(m + f)` (maintenance plus the liquidation fee at the taker rate, venues-next §c). A
single bracket `[0, ∞)` with rate `m + f` and no deduction makes the stage's tiered model compute
exactly that: the requirement, perpmon's margin ratio (= 1 / OKX's `mgnRatio`) and the linear LP of
`risk/okx_margin.py`, with no re-tiering at the LP. It is re-published whenever a snapshot shows a
position in another tier; the ladders (`/public/position-tiers` per family and `tdMode`) and the
taker rate (`/account/trade-fee`) are read every `REFERENCE_REFRESH_S`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection

from monitor.backoff import backoff
from monitor.collectors.account_book import AccountUpdate, BalanceChange, LegChange
from monitor.collectors.account_watch import AccountWatcher
from monitor.collectors.base import AccountAccess
from monitor.collectors.okx.tiers import OkxTierBook
from monitor.collectors.okx.wire import account_mode, parse_balances, positions_from
from monitor.collectors.wsfeed import NETWORK_ERRORS
from monitor.errors import FeedError, ParseError
from monitor.records import AccountSnapshot, FeedState

__all__ = ["OkxAccount", "login_message"]

log = structlog.get_logger(__name__)
PING_S = 20.0
LOGIN_TIMEOUT_S = 10.0
_REFUSED_WAIT_S = 60.0


class _LoginRefused(Exception):
    pass


def login_message(key: str, secret: str, passphrase: str, now_s: int) -> str:
    """The `login` op; the timestamp is in SECONDS (REST's is ISO milliseconds)."""
    ts = str(now_s)
    sign = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}GET/users/self/verify".encode(), hashlib.sha256).digest()
    )
    args = {"apiKey": key, "passphrase": passphrase, "timestamp": ts, "sign": sign.decode()}
    return json.dumps({"op": "login", "args": [args]})


class OkxAccount(AccountWatcher):
    def __init__(
        self, *, private_ws: str, access: AccountAccess, ct_vals: dict[str, float], **common: Any
    ) -> None:
        super().__init__(**common)
        self._url = private_ws
        self._access = access
        self._ct_vals = ct_vals  # filled by the collector's reference loop
        self.mode_reason = ""  # set when the account's mode is not modelled
        self._tiers = OkxTierBook(self.venue, self.name)

    # ---------------------------------------------------------------- REST (the shared reconciler)
    async def _rest_snapshot(self, ex: Any) -> AccountSnapshot:
        level, reason = account_mode(await self._rest.call(ex, ex.privateGetAccountConfig, {}))
        if reason:
            self.mode_reason = reason
            self._status(FeedState.DOWN, reason)
            raise ParseError("account_mode_not_modelled", f"{self.name}: acctLv {level}")
        if not self._ct_vals:
            from monitor.collectors.okx.wire import parse_ct_vals

            body = await self._rest.call(ex, ex.publicGetPublicInstruments, {"instType": "SWAP"})
            self._ct_vals.update(parse_ct_vals(body))
        positions, balance = await asyncio.gather(
            self._rest.call(ex, ex.privateGetAccountPositions, {"instType": "SWAP"}),
            self._rest.call(ex, ex.privateGetAccountBalance, {}),
        )
        snap = self._snapshot(positions_from(positions, self._ct_vals), parse_balances(balance))
        for rec in await self._tiers.records(ex, self._rest, snap.positions, self._ct_vals, self._clock):
            self._sink.put(rec)
        return snap

    # ---------------------------------------------------------------- private stream
    async def user_loop(self) -> None:
        p = self._policy
        delays = backoff(initial_s=p.backoff_initial_s, max_s=p.backoff_max_s)
        while True:
            try:
                await self._session()
                wait = next(delays)
            except _LoginRefused as exc:
                log.error(
                    "private stream login refused", account=self.name, reason=self._rest.redact(str(exc))
                )
                self._stats.events["auth_refused"] += 1
                wait = _REFUSED_WAIT_S
            except (*NETWORK_ERRORS, FeedError) as exc:
                text = self._rest.redact(f"{type(exc).__name__}: {exc}")
                log.warning("private stream failed", account=self.name, error=text[:300])
                wait = next(delays)
            self.book.stream_lost()
            self._stats.connected[self.socket] = False
            self._stats.reconnects[self.socket] += 1
            await self._clock.sleep(wait)

    async def _session(self) -> None:
        ws = await self._open_socket(self._url)  # the cooldown checked again after the pacer
        pinger = asyncio.ensure_future(self._ping(ws))
        try:
            await self._login(ws)
            subs = [{"channel": "positions", "instType": "SWAP"}, {"channel": "account"}]
            await ws.send(json.dumps({"op": "subscribe", "args": subs}))
            self.book.stream_connected()
            self.wake()
            self._stats.connected[self.socket] = True
            async with asyncio.timeout(self._policy.max_age_s):
                async for raw in ws:
                    self._handle(raw)
        finally:
            pinger.cancel()
            with contextlib.suppress(*NETWORK_ERRORS):
                await ws.close()

    async def _login(self, ws: ClientConnection) -> None:
        a = self._access
        phrase = a.password.reveal() if a.password is not None else ""
        await ws.send(login_message(a.key.reveal(), a.secret.reveal(), phrase, self._clock.now_ns() // 10**9))
        async with asyncio.timeout(LOGIN_TIMEOUT_S):
            async for raw in ws:
                if raw in ("pong", b"pong"):
                    continue
                frame = json.loads(raw)
                if frame.get("event") == "login" and frame.get("code") == "0":
                    return
                if frame.get("event") == "error":
                    raise _LoginRefused(f"code {frame.get('code')}: {str(frame.get('msg'))[:80]}")
        raise ConnectionError("closed before the login reply")

    async def _ping(self, ws: ClientConnection) -> None:
        with contextlib.suppress(*NETWORK_ERRORS):
            while True:
                await self._clock.sleep(PING_S)
                await ws.send("ping")

    def _handle(self, raw: bytes | str) -> None:
        if raw in ("pong", b"pong"):
            return
        try:
            frame = json.loads(raw)
            update = self._update(frame) if isinstance(frame, dict) and "data" in frame else None
        except (ValueError, ParseError) as exc:
            self._stats.drop(getattr(exc, "reason", "malformed_json"))
            return
        if update is not None:
            self.apply(update, self._clock.now_ns())

    def _update(self, frame: dict[str, Any]) -> AccountUpdate | None:
        channel = (frame.get("arg") or {}).get("channel")
        now_ms = self._clock.now_ns() // 1_000_000
        if channel == "positions":
            legs = tuple(
                LegChange(p.symbol, p.side, p.qty, p.entry_price, p.margin_mode, p.isolated_wallet,
                          p.venue_unrealized_pnl)
                for p in positions_from({"code": "0", "data": frame["data"]}, self._ct_vals)
            )  # fmt: skip
            return AccountUpdate(now_ms, "POSITIONS", (), legs)
        if channel == "account":
            bal = parse_balances({"code": "0", "data": frame["data"]})
            return AccountUpdate(
                now_ms,
                "ACCOUNT",
                tuple(BalanceChange(b.asset, b.wallet_balance, b.cross_wallet_balance) for b in bal),
                (),
            )
        return None
