"""A process owning a Dispatcher and an outbox file, for tests/integration/test_notify_crash.py (SIGKILL).

python -m tests.unit.notify.crash_driver OUTBOX URL submit N   enqueue N alerts, deliver until killed
python -m tests.unit.notify.crash_driver OUTBOX URL resume     deliver what is pending, exit 0 when done
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from monitor.clock import LiveClock
from monitor.config import ReceiverConfig
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.secret import Secret
from tests.unit.notify.notify_helpers import T0, event

RECEIVER = ReceiverConfig(
    name="desk", type="webhook", url_env="DESK_URL", timeout_s=30.0, group_by=("symbol",)
)


def symbol(i: int) -> str:
    return f"S{i:02d}USDT"


async def main(outbox_path: str, url: str, mode: str, count: int = 0) -> int:
    clock = LiveClock()
    notifiers = build_notifiers((RECEIVER,), {"desk": Secret(url)}, clock=clock)
    d = Dispatcher((RECEIVER,), notifiers, Outbox(outbox_path), clock, backoff_initial_s=0.05)
    worker = asyncio.create_task(d.run())
    try:
        if mode == "submit":
            for i in range(count):
                await d.submit([event(symbol=symbol(i), event_ns=T0 + i)], T0 + i)
            await asyncio.to_thread(Path(outbox_path + ".submitted").touch)  # the test kills after this
            await asyncio.Event().wait()  # deliver until SIGKILL
        return 0 if await d.flush(20) else 1
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await d.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(asyncio.run(main(args[0], args[1], args[2], int(args[3]) if len(args) > 3 else 0)))
