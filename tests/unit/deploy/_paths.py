"""Paths and the simulator's demo keys, shared by the deploy/ checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blanks skipped), as systemd and compose read them."""
    pairs = (
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


SIM_ENV = env_file(DEPLOY / "simulator.env")


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: `make system-deps` installs Debian's {package} package")
    return path
