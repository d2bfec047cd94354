"""The systemd unit verifies cleanly and is hardened (systemd-analyze verify and security)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.unit.deploy._paths import DEPLOY, ROOT, tool

UNIT = DEPLOY / "perpmon.service"


def installed_copy(tmp_path: Path) -> Path:
    """The unit as installed, with ExecStart pointing at this checkout's perpmon (verify checks it exists)."""
    perpmon = ROOT / ".venv" / "bin" / "perpmon"
    if not perpmon.exists():
        pytest.fail("run `make test` (it builds .venv with the perpmon entry point)")
    out = tmp_path / "perpmon.service"
    out.write_text(UNIT.read_text().replace("/opt/perpmon/bin/perpmon", str(perpmon)))
    return out


def test_verify_is_clean(tmp_path: Path) -> None:
    """`systemd-analyze verify` exits 0 and prints no warning (unknown keys only warn)."""
    r = subprocess.run(
        [tool("systemd-analyze", "systemd"), "verify", str(installed_copy(tmp_path))],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout + r.stderr == ""


def test_security_exposure_is_low(tmp_path: Path) -> None:
    """`systemd-analyze security --offline` rates the unit at most 2.0 (0 safest, 10 exposed)."""
    r = subprocess.run(
        [
            tool("systemd-analyze", "systemd"),
            "security",
            "--offline=true",
            "--threshold=20",
            str(installed_copy(tmp_path)),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout[-2000:]
    m = re.search(r"Overall exposure level for perpmon.service: ([0-9.]+)", r.stdout)
    assert m is not None and float(m.group(1)) <= 2.0


def test_the_unit_says_what_the_service_needs() -> None:
    """Notify + watchdog, a dedicated user, secrets from an env file, and only the state dir writable."""
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=30s",
        "User=perpmon",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/perpmon",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "Restart=on-failure",
        "RestartPreventExitStatus=2",
        "EnvironmentFile=/etc/perpmon/perpmon.env",
        "StandardOutput=journal",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    ):
        assert f"\n{line}\n" in text, line


def test_the_daemon_runs_with_one_blas_thread() -> None:
    """The unit, the image and `make run` all pin numpy's BLAS to one thread (tick latency, small boxes)."""
    unit_env = " ".join(
        line.split("=", 1)[1] for line in UNIT.read_text().splitlines() if line.startswith("Environment=")
    ).split()
    assert "OPENBLAS_NUM_THREADS=1" in unit_env
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ENV (?:[^\n]*\\\n)*\s*OPENBLAS_NUM_THREADS=1\b", dockerfile, re.M)
    r = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True)
    [line] = [x for x in r.stdout.splitlines() if "perpmon run" in x]
    assert "OPENBLAS_NUM_THREADS=1" in line.split("perpmon run")[0]
