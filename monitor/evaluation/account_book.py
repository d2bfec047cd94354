"""The account stage's book: every account's positions as columns, built once per book shape.

Apart from `account.py` (which prices the legs every tick) because this is what changes only with
the accounts and tiers — the positions' columns, the padded tier table, the contracts' grouping,
the labels — and is reused while the store hands the same records back, tick after tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.account_reference import brackets_of, cross_wallet
from monitor.records import AccountSnapshot, LeverageTiers, Position
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.margin import Brackets, bracket_problem
from monitor.risk.reasons import Reason
from monitor.risk.tiers import TierTable, tier_table

__all__ = ["LIVE", "NONE", "VENUE", "AccountBook", "build_book"]

LIVE, VENUE, NONE = 0, 1, 2  # where a leg's mark, UPnL or MM came from (legs.Source)


@dataclass(frozen=True, slots=True)
class AccountBook:
    """The accounts' positions as columns, and everything else that changes only with them or the tiers."""

    accounts: tuple[AccountSnapshot, ...]  # held: the cache is valid while these are the store's records
    recs: tuple[LeverageTiers | None, ...]  # each leg's tiers record, likewise
    plan: tuple[tuple[str, str, AccountSnapshot, int], ...]  # (venue, account, record, columnar index or −1)
    positions: tuple[Position, ...]
    acc: IntArray  # columnar account of each leg
    n_acc: int
    wallet: FloatArray  # per account
    bybit_acc: BoolArray
    acc_lab: tuple[dict[str, str], ...]
    lab: tuple[dict[str, str], ...]  # per leg
    q: FloatArray
    entry: FloatArray
    cross: BoolArray
    iso_wallet: FloatArray
    vmark: FloatArray
    vlp: FloatArray
    vmm: FloatArray
    vupnl: FloatArray
    implied: FloatArray  # the mark the venue's UPnL implies (legs._implied_mark), NaN if none
    bybit: BoolArray
    row: IntArray  # tier table row, −1 without tiers
    table: TierTable
    bracket_rows: tuple[Brackets, ...]
    rec_brackets: dict[int, Brackets | None]  # by id of a record in `recs`: its brackets, and whether
    rec_ok: dict[int, bool]  # the padded table takes them (else the account goes to the reference)
    acc_legs: tuple[tuple[int, ...], ...]  # each account's legs
    mkeys: tuple[tuple[str, str], ...]  # (venue, symbol) per market
    mk: IntArray  # market of each leg
    # contracts on Binance's model: a cross symbol's legs share one LP; an isolated leg is its own
    group: IntArray  # per leg, −1 on Bybit's model
    g_legs: tuple[tuple[int, ...], ...]
    g_rep: IntArray  # first leg of each contract (its mark and tiers price the contract)
    g_oneway: BoolArray  # one open leg: the vectorised solver; else (hedge) the scalar one
    g_q: FloatArray  # signed size of a one-way contract (LONG +, SHORT −)
    g_pair: IntArray  # (n_contracts, 2): the LONG and SHORT legs of a hedge contract with both open, else −1


def build_book(
    accounts: Sequence[tuple[tuple[str, str], AccountSnapshot]],
    recs: tuple[LeverageTiers | None, ...],
    bybit_venues: frozenset[str],
    prev: AccountBook | None = None,
) -> AccountBook:
    """The columns of this book; tier tables already checked for `prev` are taken from it.

    Why: an account's record changes with every fill or funding payment, the tiers seldom; checking
    and stacking a thousand tier tables is most of a rebuild. Ids are safe keys here: `prev` holds
    its records, so no live record can share the id of one it checked.
    """
    bs: dict[int, Brackets | None] = dict(prev.rec_brackets) if prev is not None else {}
    ok_rec: dict[int, bool] = dict(prev.rec_ok) if prev is not None else {}
    for r in recs:
        if r is not None and id(r) not in bs:
            b = brackets_of(r)
            bs[id(r)] = b
            ok_rec[id(r)] = b is not None and bracket_problem(b) in (Reason.OK, Reason.TIER_BOUNDARY)
    plan: list[tuple[str, str, AccountSnapshot, int]] = []
    positions: list[Position] = []
    acc: list[int] = []
    wallets: list[float] = []
    on_b: list[bool] = []
    acc_lab: list[dict[str, str]] = []
    lab: list[dict[str, str]] = []
    rec_of: list[LeverageTiers | None] = []
    k = 0
    for (venue, account), a in accounts:
        mine = recs[k : k + len(a.positions)]
        k += len(a.positions)
        if not all(r is None or ok_rec[id(r)] for r in mine):
            plan.append((venue, account, a, -1))
            continue
        i = len(wallets)
        plan.append((venue, account, a, i))
        wallets.append(cross_wallet(a))
        on_b.append(venue in bybit_venues)
        acc_lab.append({"venue": venue, "account": account})
        for p, r in zip(a.positions, mine, strict=True):
            positions.append(p)
            acc.append(i)
            lab.append({"venue": venue, "account": account, "symbol": p.symbol, "side": p.side})
            rec_of.append(r)
    rows: dict[int, int] = {}
    bracket_rows: list[Brackets] = []
    row = []
    for r in rec_of:
        if r is None:
            row.append(-1)
            continue
        if id(r) not in rows:
            rows[id(r)] = len(bracket_rows)
            b = bs[id(r)]
            assert b is not None
            bracket_rows.append(b)
        row.append(rows[id(r)])
    live_ids = {id(r) for r in recs if r is not None}
    ps = positions
    by_acc: list[list[int]] = [[] for _ in wallets]
    for j, a_i in enumerate(acc):
        by_acc[a_i].append(j)
    f = np.array
    q = f([p.qty for p in ps], dtype=np.float64)
    entry = f([p.entry_price for p in ps], dtype=np.float64)
    vupnl = f([p.venue_unrealized_pnl for p in ps], dtype=np.float64)
    inverse = f([p.inverse for p in ps], dtype=bool)
    with quiet():
        implied = entry + vupnl / q
        implied[inverse | (q == 0) | ~(entry > 0) | ~np.isfinite(vupnl) | ~(implied > 0)] = np.nan
    acc_a = f(acc, dtype=np.intp)
    bybit = f(on_b, dtype=bool)[acc_a] if ps else np.zeros(0, dtype=bool)
    cross = f([p.margin_mode == "cross" for p in ps], dtype=bool)
    mkeys: dict[tuple[str, str], int] = {}
    mk = [mkeys.setdefault((lb["venue"], p.symbol), len(mkeys)) for lb, p in zip(lab, ps, strict=True)]
    # Binance's contracts: (account, symbol) for cross legs, each isolated leg alone
    gkey: dict[tuple[int, str] | int, int] = {}
    group: list[int] = []
    members: list[list[int]] = []
    for j, p in enumerate(ps):
        if bybit[j]:
            group.append(-1)
            continue
        key: tuple[int, str] | int = (acc[j], p.symbol) if cross[j] else j
        g = gkey.setdefault(key, len(gkey))
        if g == len(members):
            members.append([])
        members[g].append(j)
        group.append(g)
    g_oneway, g_q, g_pair = [], [], []
    for m in members:
        p = ps[m[0]]
        one = len(m) == 1 and p.qty != 0
        g_oneway.append(one)
        sides = {ps[j].side: j for j in m}
        both_open = len(m) == 2 and set(sides) == {"LONG", "SHORT"} and all(ps[j].qty != 0 for j in m)
        g_pair.append((sides["LONG"], sides["SHORT"]) if both_open else (-1, -1))
        g_q.append(
            p.qty if p.side == "BOTH" else math.copysign(abs(p.qty), 1.0 if p.side == "LONG" else -1.0)
        )
    return AccountBook(
        accounts=tuple(a for _, a in accounts),
        recs=recs,
        plan=tuple(plan),
        positions=tuple(ps),
        acc=acc_a,
        n_acc=len(wallets),
        wallet=f(wallets, dtype=np.float64),
        bybit_acc=f(on_b, dtype=bool),
        acc_lab=tuple(acc_lab),
        lab=tuple(lab),
        q=q,
        entry=entry,
        cross=cross,
        iso_wallet=f([p.isolated_wallet for p in ps], dtype=np.float64),
        vmark=f([p.venue_mark_price for p in ps], dtype=np.float64),
        vlp=f([p.venue_liquidation_price for p in ps], dtype=np.float64),
        vmm=f([p.venue_maint_margin for p in ps], dtype=np.float64),
        vupnl=vupnl,
        implied=implied,
        bybit=bybit,
        row=f(row, dtype=np.intp),
        table=(
            prev.table
            if prev is not None
            and len(prev.bracket_rows) == len(bracket_rows)
            and all(x is y for x, y in zip(prev.bracket_rows, bracket_rows, strict=True))
            else tier_table(bracket_rows)
        ),
        rec_brackets={k: v for k, v in bs.items() if k in live_ids},
        rec_ok={k: v for k, v in ok_rec.items() if k in live_ids},
        bracket_rows=tuple(bracket_rows),
        acc_legs=tuple(tuple(x) for x in by_acc),
        mkeys=tuple(mkeys),
        mk=f(mk, dtype=np.intp),
        group=f(group, dtype=np.intp),
        g_legs=tuple(tuple(m) for m in members),
        g_rep=f([m[0] for m in members], dtype=np.intp),
        g_oneway=f(g_oneway, dtype=bool),
        g_pair=f(g_pair, dtype=np.intp).reshape(-1, 2),
        g_q=f(g_q, dtype=np.float64),
    )
