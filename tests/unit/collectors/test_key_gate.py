"""The key gate: one unreadable key never stalls start-up, and an account not watched says so.

Found by the desk-scale soak: an account task retrying a key the venue rejected (-2015) held the
key's lock across its waits, so the start-up check queued behind it for ever and the daemon never
evaluated anything (nor answered SIGTERM) because one of 22 keys was bad.
"""

from __future__ import annotations

import asyncio

import pytest

from monitor.clock import ManualClock
from monitor.collectors.base import KEY_CHECK_ATTEMPTS, AccountAccess, KeyGate
from monitor.collectors.keys import KeyPermissions, KeyRefusedError
from monitor.errors import FeedError
from monitor.records import FeedState, FeedStatus, Record
from monitor.secret import Secret

READ_ONLY = KeyPermissions(ip_restricted=True)


class Sink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def put(self, record: Record) -> None:
        self.records.append(record)

    def statuses(self, stream: str) -> list[FeedStatus]:
        return [r for r in self.records if isinstance(r, FeedStatus) and r.stream == stream]


class Venue:
    """Answers each key's permission call from a script: an exception to raise or permissions."""

    def __init__(self, answers: dict[str, list[KeyPermissions | Exception]]) -> None:
        self.answers = answers
        self.reads: dict[str, int] = dict.fromkeys(answers, 0)

    async def read(self, name: str) -> KeyPermissions:
        self.reads[name] += 1
        await asyncio.sleep(0)
        queue = self.answers[name]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def gate(venue: Venue, sink: Sink, clock: ManualClock) -> KeyGate:
    accounts = {
        n: AccountAccess(n, Secret("k"), Secret("s"), f"accounts[{i}]") for i, n in enumerate(venue.answers)
    }
    return KeyGate(venue="binance", accounts=accounts, read=venue.read, redact=str, sink=sink, clock=clock)


REJECTED = FeedError('binanceusdm {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}')


async def test_an_account_task_retrying_a_bad_key_does_not_stall_the_start_up_check() -> None:
    """The account task for `bad` retries without end; check_all still returns after its tries,
    and `good`'s key is accepted meanwhile."""
    venue, sink, clock = Venue({"bad": [REJECTED], "good": [READ_ONLY]}), Sink(), ManualClock()
    g = gate(venue, sink, clock)
    ran: list[str] = []

    async def job() -> None:
        ran.append("bad")

    task = asyncio.create_task(g.guarded("bad", job))  # spawned before the check, as the daemon does
    await asyncio.sleep(0)
    await asyncio.wait_for(g.check_all(), timeout=5)  # was: waited on the task's lock for ever
    assert venue.reads["good"] == 1
    assert venue.reads["bad"] > KEY_CHECK_ATTEMPTS  # the check's own tries and the task's
    assert ran == [] and not task.done()  # the task keeps trying; it never ran with the bad key
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_an_unreadable_key_puts_the_account_down_with_the_reason_until_it_reads() -> None:
    """DOWN with a reason naming the error class (never its text: it may carry the key), then the
    job runs once the venue answers."""
    answers: list[KeyPermissions | Exception] = [REJECTED, REJECTED, READ_ONLY]
    venue, sink, clock = Venue({"desk": answers}), Sink(), ManualClock()
    g = gate(venue, sink, clock)
    ran: list[str] = []

    async def job() -> None:
        ran.append("desk")

    await asyncio.wait_for(g.guarded("desk", job), timeout=5)
    assert ran == ["desk"]
    down = sink.statuses("account:desk")
    assert len(down) == 2 and all(s.state is FeedState.DOWN for s in down)
    assert down[0].reason == "API key not readable by the venue (FeedError); retrying"
    assert all("-2015" not in s.reason for s in down)


async def test_start_up_check_gives_up_after_its_tries_without_raising() -> None:
    """An unreadable key does not stop start-up (the account's task keeps trying and its feed is
    DOWN); its waits grow 2, 4, 8 s."""
    venue, sink, clock = Venue({"desk": [REJECTED]}), Sink(), ManualClock()
    g = gate(venue, sink, clock)
    t0 = clock.monotonic_ns()
    assert await g.verdict("desk", attempts=KEY_CHECK_ATTEMPTS) is False
    assert venue.reads["desk"] == KEY_CHECK_ATTEMPTS
    assert (clock.monotonic_ns() - t0) / 1e9 == pytest.approx(
        sum(2.0**k for k in range(1, KEY_CHECK_ATTEMPTS + 1))
    )


async def test_a_refused_key_still_stops_start_up() -> None:
    """A key that can withdraw raises out of the start-up check, whichever account it is."""
    venue = Venue({"good": [READ_ONLY], "bad": [KeyPermissions(withdraw=("enableWithdrawals",))]})
    g = gate(venue, Sink(), ManualClock())
    with pytest.raises(KeyRefusedError):
        await g.check_all()


async def test_a_refused_key_in_an_account_task_puts_it_down_for_good() -> None:
    venue, sink = Venue({"desk": [KeyPermissions(withdraw=("enableWithdrawals",))]}), Sink()
    g = gate(venue, sink, ManualClock())
    ran: list[str] = []

    async def job() -> None:
        ran.append("desk")

    await g.guarded("desk", job)
    assert ran == []
    assert [s.reason for s in sink.statuses("account:desk")] == ["API key refused: it can do more than read"]


async def test_a_key_unreadable_for_hours_keeps_being_tried_every_30_s() -> None:
    """The wait is 2**tries capped at 30 s; the exponent too (2.0**1024 overflowed after ~8.5 h)."""
    venue, clock = Venue({"desk": [REJECTED]}), ManualClock()
    g = gate(venue, Sink(), clock)
    assert await g.verdict("desk", attempts=1100) is False
    assert clock.monotonic_ns() / 1e9 == pytest.approx(2 + 4 + 8 + 16 + 30 * 1096)
