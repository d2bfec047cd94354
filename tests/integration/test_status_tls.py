"""`perpmon status` against a daemon behind its web config: TLS with a private CA and basic auth.

The status routes sit behind the same gate as /metrics (the page carries every position), so the
command must log in: a missing login is a 401 with a hint, an unknown CA a failed handshake, and
neither prints a page; the password, read from the environment, appears nowhere in the output.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitor.cli import main
from monitor.http import HttpServer
from monitor.status.client import PASSWORD_ENV
from monitor.status.routes import StatusRoutes
from tests.support.chromium import chromium
from tests.support.tls import make_pki
from tests.support.webconfig import write_web_config
from tests.unit.status.desk import T0
from tests.unit.status.test_build import _desk

pytestmark = pytest.mark.integration

USER, PASSWORD = "desk", "status-pw-51c0e7"


@pytest.fixture
async def daemon_url(tmp_path: Path) -> AsyncIterator[tuple[str, Path, Path]]:
    pki = make_pki(tmp_path)
    web = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    figs = _desk().figures()
    routes = StatusRoutes(
        figures=lambda: figs, firing=list, recent=list, now_ns=lambda: T0, stale_after_s=lambda: 10.0
    )
    server = HttpServer(
        host="127.0.0.1",
        port=0,
        registry=CollectorRegistry(),
        health=lambda: (True, {}),
        web_config_file=str(web),
        status=routes,
    )
    await server.start()
    try:
        yield f"https://127.0.0.1:{server.bound_port}", pki.ca, pki.server_cert
    finally:
        await server.stop()


async def _status(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, ["status", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_with_the_ca_and_the_login_it_prints_the_page(
    daemon_url: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca, _ = daemon_url
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    code, out, err = await _status(capsys, "--url", url, "--ca-file", str(ca), "--user", USER)
    assert (code, err) == (0, "")
    assert out.startswith("perpmon status · figures of ") and "binance · degen" in out
    assert PASSWORD not in out


async def test_without_the_login_it_says_so_and_prints_no_page(
    daemon_url: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca, _ = daemon_url
    code, out, err = await _status(capsys, "--url", url, "--ca-file", str(ca))
    assert (code, out) == (1, "")
    assert (
        err == f"perpmon: {url} answered HTTP 401 Unauthorized (--user, and the password in {PASSWORD_ENV})\n"
    )
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    code, out, err = await _status(capsys, "--url", url, "--ca-file", str(ca), "--user", USER)
    assert (code, out) == (1, "") and "HTTP 401" in err and "wrong" not in err


async def test_a_certificate_from_an_unknown_ca_is_refused(
    daemon_url: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, _ = daemon_url
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    code, out, err = await _status(capsys, "--url", url, "--user", USER)
    assert (code, out) == (1, "")
    assert err.startswith(f"perpmon: no daemon answers at {url}: ") and "CERTIFICATE_VERIFY_FAILED" in err
    assert PASSWORD not in err


def _spki_sha256(cert_pem: Path) -> str:
    """Base64 SHA-256 of the certificate's public key: Chromium trusts exactly that key, no other."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return base64.b64encode(digest.finalize()).decode()


_STATUS = "performance.getEntriesByType('navigation')[0].responseStatus"
_ROWS = "document.querySelectorAll('#positions tbody tr, #positions .card').length"


async def test_in_a_browser_the_page_needs_the_login_and_keeps_it_for_its_refresh(
    daemon_url: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """Chromium over TLS (trusting exactly the server's key): no login and a wrong one get a 401 and
    no book; the right one, given as a person gives it (the login dialog), gets the page, and its
    live refresh (a fetch every 2 s) is let in too — the banner that says the daemon does not
    answer stays off."""
    url, _, cert = daemon_url
    host = url.removeprefix("https://")
    async with chromium(tmp_path, (f"--ignore-certificate-errors-spki-list={_spki_sha256(cert)}",)) as b:
        for who in ("", f"{USER}:wrong@"):
            await b.open(f"https://{who}{host}/status")
            assert await b.evaluate(_STATUS) == 401
            assert await b.evaluate(_ROWS) == 0
            assert PASSWORD not in await b.evaluate("document.documentElement.outerHTML")
        await b.open_with_login(f"{url}/status", USER, PASSWORD)  # as typed into the login dialog
        assert await b.evaluate(_STATUS) == 200
        assert await b.evaluate(_ROWS) > 0
        await asyncio.sleep(4.5)  # two refreshes of the live part
        assert await b.evaluate("document.getElementById('banner').textContent") == ""
        await b.screenshot(tmp_path / "status-tls.png")
