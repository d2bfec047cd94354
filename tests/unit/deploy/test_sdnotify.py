"""sd_notify speaks systemd's datagram protocol, and is silent outside systemd."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.sdnotify import SdNotify


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(1.0)
    yield path, s
    s.close()


def test_ready_and_stopping_arrive_as_datagrams(listener: tuple[str, socket.socket]) -> None:
    """READY=1 carries a STATUS line; STOPPING=1 follows; each is one datagram."""
    path, s = listener
    n = SdNotify.from_env({"NOTIFY_SOCKET": path})
    assert n.enabled and n.ready("monitoring") and n.stopping()
    assert s.recv(4096) == b"READY=1\nSTATUS=monitoring"
    assert s.recv(4096) == b"STOPPING=1"


def test_reloading_carries_the_monotonic_time(listener: tuple[str, socket.socket]) -> None:
    """RELOADING=1 names the monotonic time in microseconds, as Type=notify-reload expects."""
    path, s = listener
    SdNotify(path).reloading(5_000_123_456)
    assert s.recv(4096) == b"RELOADING=1\nMONOTONIC_USEC=5000123"


def test_abstract_namespace_socket() -> None:
    """An address starting with @ is an abstract-namespace socket."""
    name = f"perpmon-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        s.settimeout(1.0)
        assert SdNotify("@" + name).send("WATCHDOG=1")
        assert s.recv(64) == b"WATCHDOG=1"


def test_watchdog_is_throttled_to_a_quarter_of_its_interval(listener: tuple[str, socket.socket]) -> None:
    """With WatchdogSec=8s, pets closer than 2 s apart are skipped."""
    path, s = listener
    n = SdNotify.from_env({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "8000000"})
    sent = [n.watchdog(t * 500_000_000) for t in range(9)]  # every 0.5 s for 4 s
    assert sent == [True, False, False, False, True, False, False, False, True]
    assert [s.recv(64) for _ in range(3)] == [b"WATCHDOG=1"] * 3


def test_watchdog_for_another_pid_is_ignored() -> None:
    """WATCHDOG_USEC meant for another process (WATCHDOG_PID) does not throttle ours."""
    n = SdNotify.from_env({"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "8000000", "WATCHDOG_PID": "1"})
    assert n._watchdog_ns == 0


def test_without_notify_socket_everything_is_a_no_op() -> None:
    """Outside systemd nothing is sent and nothing fails."""
    n = SdNotify.from_env({})
    assert not n.enabled
    assert (n.ready(), n.stopping(), n.watchdog(0), n.reloading(0)) == (False, False, False, False)


def test_a_vanished_socket_fails_quietly(tmp_path: Path) -> None:
    """A socket that is gone makes send() return False instead of raising into the loop."""
    assert SdNotify(str(tmp_path / "gone.sock")).ready() is False
