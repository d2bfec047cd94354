"""The lock files pin, with hashes, everything pyproject.toml asks for, and every install uses them.

Why: a lock that drifts from pyproject.toml is worse than none — `make` would install the lock and
the new dependency would be missing (or satisfied by chance) on the next clean machine. These
checks need no network: they compare the declared requirements with the pins.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.unit.deploy._paths import ROOT

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def _pins(path: Path) -> dict[str, list[tuple[Version, str, list[str]]]]:
    """name → [(version, marker, hashes)] of a `uv pip compile --generate-hashes` file."""
    out: dict[str, list[tuple[Version, str, list[str]]]] = {}
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        m = _PIN.match(line)
        if m:
            current = []
            name = canonicalize_name(m[1])
            out.setdefault(name, []).append((Version(m[2]), (m[3] or "").strip(), current))
        elif "--hash=sha256:" in line and current is not None:
            current.append(line.split("--hash=sha256:", 1)[1].split()[0].rstrip("\\"))
    return out


def _declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    if extra:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


def _here(marker: str) -> bool:
    """Is a pin's environment marker true for Python 3.11 on Linux x86_64 (this box, the image)?"""
    env = {
        "python_full_version": "3.11.7",
        "python_version": "3.11",
        "sys_platform": "linux",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    return not marker or Marker(marker).evaluate(env)


@pytest.mark.parametrize(("lock", "extra"), [("runtime.lock", None), ("dev.lock", "dev")])
def test_every_declared_requirement_is_pinned_with_hashes(lock: str, extra: str | None) -> None:
    pins = _pins(ROOT / "requirements" / lock)
    assert pins, f"requirements/{lock} pins nothing"
    for req in _declared(extra):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is in pyproject.toml but not in requirements/{lock}: run `make lock`"
        usable = [v for v, marker, _ in pins[name] if _here(marker)]
        assert usable, f"requirements/{lock} pins {req.name} for no Python 3.11 / Linux"
        for v in usable:
            assert req.specifier.contains(v, prereleases=True), (
                f"requirements/{lock} pins {req.name}=={v}, outside pyproject.toml's {req.specifier}"
            )
    for pinned, versions in pins.items():
        for v, _, hashes in versions:
            assert hashes, f"requirements/{lock}: {pinned}=={v} has no hash (pip --require-hashes refuses it)"
            assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), f"{pinned}: malformed hash"


def test_runtime_lock_is_the_dev_lock_without_the_tools() -> None:
    """The image runs the versions the tests ran: a shared package has the same pin in both."""
    runtime, dev = _pins(ROOT / "requirements" / "runtime.lock"), _pins(ROOT / "requirements" / "dev.lock")
    for name, versions in runtime.items():
        assert name in dev, f"{name} is in the runtime lock but not in the dev lock"
        assert {str(v) for v, _, _ in versions} == {str(v) for v, _, _ in dev[name]}, name


def test_every_install_path_uses_a_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile and "LOCK   := requirements/dev.lock" in makefile
    assert "--no-deps -e ." in makefile
    docker = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/runtime.lock" in docker
    assert not re.search(r"pip install (--no-cache-dir )?\.\s*$", docker, re.M), "the image resolves again"
    assert "--no-deps ." in docker
