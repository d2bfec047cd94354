"""What one leg of the book is in its base coin: the asset, and the signed exposure in that coin.

Every book figure (net delta, hedge ratio, VaR/ES, Monte Carlo, stress, funding carry, the hedge
advice) reads positions through `account_exposures`, so a linear and an inverse leg on the same coin
land in one bucket in the same unit.

- A **linear** leg (USDⓈ-M, Bybit linear) is `qty × contract_size` units of its symbol's base.
- An **inverse** leg (Binance COIN-M: `qty` contracts of `contract_size` USD, margined in
  `margin_asset`) is in its margin coin (BTCUSD_PERP → BTC). Its exposure is the coin value of the
  contracts at the mark, `qty·cs/P` (100 contracts × $100 short at $50,000 is −0.2 BTC), **plus the
  coin the account holds as margin**: its wallet in that coin and the legs' unrealised PnL in coin,
  `qty·cs·(1/EP − 1/P)`. That coin is BTC the desk owns, and it moves with BTC's price.

The reference (venues-next.md §1, "Inverse arithmetic") says: "A coin-margined **short** whose coin
wallet covers its entry value is a synthetic USD position. Its equity in USD is nearly constant".
In numbers: the USD value of a coin account is `P·(W + UPnL) = P·W + N·CS·(P/EP − 1)`, so its delta
is `W + N·CS/EP` coin, which is `N·CS/P + UPnL + W` at any mark `P`. A coin-margined short
therefore hedges the coin it is margined in only when it is sized for it (N·CS/EP = −W): a short
sized to the custody alone leaves the margin coin long.

That USD value is *linear* in the price (the non-linearity of an inverse contract is in coin, not in
USD), so `exposure × ΔP` is the exact USD PnL of the coin account for any move, not only a delta
approximation at the mark, as long as the PnL stays in the coin (it does: the venue settles in coin).
The sum is written `N·CS/EP + W`: it needs no price, like a linear leg's quantity.
"""

from __future__ import annotations

import math
import re

from monitor.records import AccountSnapshot, Position

__all__ = ["QUOTES", "account_exposures", "base_asset", "coin_wallets", "leg_asset", "leg_coin_notional"]

QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "USD")
_DELIVERY = re.compile(r"_(PERP|\d{6})$")  # COIN-M: BTCUSD_PERP, the quarterly BTCUSD_260925


def base_asset(symbol: str) -> str:
    """The base of a symbol: BTCUSDT → BTC; an inverse contract BTCUSD_PERP → BTC (its pair's base)."""
    pair = _DELIVERY.sub("", symbol) if "_" in symbol else symbol
    for quote in QUOTES:
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)]
    return symbol


def leg_asset(p: Position) -> str:
    """The coin a leg's exposure is in: an inverse leg's margin coin, else its symbol's base."""
    if p.inverse and p.margin_asset:
        return p.margin_asset
    return base_asset(p.symbol)


def leg_coin_notional(p: Position, mark: float) -> float:
    """The leg's contracts alone in coin at `mark` (no margin): `qty·cs` linear, `qty·cs/mark` inverse."""
    face = p.qty * p.contract_size
    if not p.inverse:
        return face
    return face / mark if mark > 0 else math.nan


def coin_wallets(acct: AccountSnapshot) -> dict[str, float]:
    """The wallet of each coin that margins one of the account's inverse legs (0 when none is listed).

    `wallet_balance` is the coin's whole wallet (cross and isolated), without unrealised PnL: the
    PnL is counted on the legs.
    """
    coins = {leg_asset(p) for p in acct.positions if p.inverse}
    out = dict.fromkeys(sorted(coins), 0.0)
    for b in acct.balances:
        if b.asset in out:
            out[b.asset] += b.wallet_balance
    return out


def account_exposures(acct: AccountSnapshot) -> list[tuple[str, float]]:
    """(asset, signed exposure in that asset) for each of `acct.positions`, in order.

    Linear: `qty·cs`. Inverse: `qty·cs/EP` (= `qty·cs/P` plus the leg's coin UPnL at any mark P),
    and the first inverse leg on each coin also carries that coin's wallet, so the account's legs
    sum to the coin account's delta `W + Σ N·CS/EP` (module docstring). A leg whose entry price is
    not positive falls back on the venue's mark and UPnL, NaN when it shows neither.
    """
    wallets = coin_wallets(acct) if any(p.inverse for p in acct.positions) else {}
    out: list[tuple[str, float]] = []
    for p in acct.positions:
        asset = leg_asset(p)
        if not p.inverse:
            out.append((asset, p.qty * p.contract_size))
            continue
        face = p.qty * p.contract_size
        if face == 0 or p.entry_price > 0:
            x = face / p.entry_price if face else 0.0
        else:
            x = leg_coin_notional(p, p.venue_mark_price) + p.venue_unrealized_pnl
        out.append((asset, x + wallets.pop(asset, 0.0)))
    return out
