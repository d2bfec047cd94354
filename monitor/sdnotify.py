"""sd_notify(3) without libsystemd: one datagram to `$NOTIFY_SOCKET` per state change.

With `Type=notify` systemd calls the unit started only once it reads READY=1, so `systemctl start`
and units ordered after perpmon wait for a daemon that really serves /metrics. With `WatchdogSec=`
it restarts a unit that stops sending WATCHDOG=1; perpmon sends it from its evaluation loop after
each completed tick, so a process that is alive but whose loop is stuck is restarted, which a
liveness check on the PID alone would never do. Outside systemd (no NOTIFY_SOCKET) every call is
a no-op.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

__all__ = ["SdNotify"]

log = structlog.get_logger(__name__)


class SdNotify:
    def __init__(self, address: str | None = None, watchdog_usec: int = 0) -> None:
        # "@name" is a socket in the abstract namespace (a leading NUL byte on the wire).
        self._address = "\0" + address[1:] if address and address.startswith("@") else address
        self._watchdog_ns = watchdog_usec * 1000
        self._last_watchdog_ns: int | None = None
        self._warned = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SdNotify:
        """Read NOTIFY_SOCKET and WATCHDOG_USEC as systemd sets them for this process."""
        env = os.environ if env is None else env
        pid = env.get("WATCHDOG_PID", "")
        usec = env.get("WATCHDOG_USEC", "0") if not pid or pid == str(os.getpid()) else "0"
        return cls(env.get("NOTIFY_SOCKET") or None, int(usec) if usec.isdigit() else 0)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *fields: str) -> bool:
        """Send `KEY=VALUE` lines in one datagram; False (and one warning) when it cannot."""
        if self._address is None:
            return False
        payload = "\n".join(fields)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(self._address)
                s.sendall(payload.encode())
        except OSError as exc:
            if not self._warned:  # a vanished socket must not flood the journal every tick
                self._warned = True
                log.warning("sd_notify failed", error=type(exc).__name__, detail=str(exc))
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self, monotonic_ns: int) -> bool:
        # MONOTONIC_USEC is what Type=notify-reload (systemd ≥ 253) expects; older systemd ignores it.
        return self.send("RELOADING=1", f"MONOTONIC_USEC={monotonic_ns // 1000}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def watchdog(self, monotonic_ns: int) -> bool:
        """Pet the watchdog, at most four times per WatchdogSec (every call if none is set)."""
        last = self._last_watchdog_ns
        if last is not None and monotonic_ns - last < self._watchdog_ns // 4:
            return False
        self._last_watchdog_ns = monotonic_ns
        return self.send("WATCHDOG=1")
