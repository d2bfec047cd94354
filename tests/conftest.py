"""Suite-wide hygiene: no test leaves process-global logging set up for the next one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """`perpmon` commands run in-process configure structlog; the next test must see the defaults."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
