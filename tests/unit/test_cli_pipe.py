"""A reader that goes away (`perpmon what-if BOOK.toml | head -3`): quiet exit, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "book.toml"


@pytest.mark.parametrize(
    "args",
    [("what-if", str(EXAMPLE)), ("stress", "--config", str(ROOT / "config.toml"), "--default-book")],
)
def test_closed_stdout_exits_quietly(args: tuple[str, ...]) -> None:
    """The read end is closed before perpmon writes: every write fails with EPIPE, deterministically."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first byte
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err  # 128 + SIGPIPE, as a shell reports `yes | head`
    assert err == ""  # no BrokenPipeError traceback, no "Exception ignored" at interpreter exit


def test_head_three_lines() -> None:
    """Through a real `| head -3`: three lines out, nothing on stderr, whether or not the race hits."""
    res = subprocess.run(
        f"{sys.executable} -m monitor what-if {EXAMPLE} | head -3",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0 and res.stderr == ""
    assert len(res.stdout.splitlines()) == 3
    assert res.stdout.startswith(f"perpmon what-if {EXAMPLE}")
