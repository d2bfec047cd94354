"""/metrics over TLS with basic auth from an exporter-toolkit web config, as a client sees it.

The listener is real (aiohttp on loopback), the certificates are generated per test, and every
refusal is checked from the client side: a 401, or a handshake that fails.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import structlog
from prometheus_client import CollectorRegistry, Gauge

from monitor.errors import ConfigError
from monitor.http import HttpServer
from tests.support.tls import Pki, make_pki, reissue_server
from tests.support.webconfig import write_web_config

pytestmark = pytest.mark.integration

USER, PASSWORD = "prometheus", "scrape-pw-9f31c2"


@asynccontextmanager
async def serving(
    web_config: Path | None, watch_s: float = 0.0, host: str = "127.0.0.1"
) -> AsyncIterator[HttpServer]:
    registry = CollectorRegistry()
    Gauge("perpmon_test_book_usd", "A figure only an authorised scrape may read.", registry=registry).set(42)
    server = HttpServer(
        host=host,
        port=0,
        registry=registry,
        health=lambda: (True, {"tasks": ["collector.binance.account.desk-a"]}),  # names the book
        web_config_file=None if web_config is None else str(web_config),
        watch_s=watch_s,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def client_ctx(pki: Pki, *, cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert:
        ctx.load_cert_chain(pki.client_cert, pki.client_key)
    return ctx


def basic(auth: tuple[str, str] | None) -> dict[str, str]:
    return {} if auth is None else {"Authorization": aiohttp.encode_basic_auth(*auth)}


async def get(
    url: str, ctx: ssl.SSLContext | None = None, auth: tuple[str, str] | None = None
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, ssl=ctx if ctx is not None else False, headers=basic(auth)) as r,
    ):
        return r.status, await r.text()


async def peer_serial(port: int, pki: Pki) -> int:
    """The serial of the certificate a fresh handshake is given."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx(pki))
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        await writer.wait_closed()
    from cryptography import x509

    return int(x509.load_der_x509_certificate(der).serial_number)


async def test_tls_with_basic_auth_serves_only_the_right_login(tmp_path: Path) -> None:
    """Right login: the series. No login, wrong password, unknown user: 401. Plain HTTP: no answer."""
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    async with serving(cfg) as server:
        base = f"https://127.0.0.1:{server.bound_port}"
        assert server.scheme == "https"
        status, body = await get(f"{base}/metrics", client_ctx(pki), (USER, PASSWORD))
        assert status == 200 and "perpmon_test_book_usd 42.0" in body
        for auth in (None, (USER, "wrong"), ("nobody", PASSWORD), (USER, PASSWORD + "x")):
            status, body = await get(f"{base}/metrics", client_ctx(pki), auth)
            assert status == 401 and "perpmon_test_book_usd" not in body, auth
        assert (await get(f"{base}/", client_ctx(pki)))[0] == 401, "every route but the probe is gated"
        status, body = await get(f"{base}/healthz", client_ctx(pki))
        assert status == 200 and json.loads(body) == {"status": "ok"}, "a probe carries no login"
        status, body = await get(f"{base}/healthz", client_ctx(pki), (USER, PASSWORD))
        assert status == 200 and json.loads(body)["tasks"] == ["collector.binance.account.desk-a"]
        with pytest.raises(aiohttp.ClientError):  # plain HTTP to the TLS port: the handshake fails
            await get(f"http://127.0.0.1:{server.bound_port}/metrics", auth=(USER, PASSWORD))
        with pytest.raises(aiohttp.ClientConnectorCertificateError):  # a client that trusts another CA
            await get(f"{base}/metrics", ssl.create_default_context(), (USER, PASSWORD))


async def test_mutual_tls_refuses_a_client_without_a_certificate(tmp_path: Path) -> None:
    """RequireAndVerifyClientCert: no certificate, no handshake; the CA's client certificate gets in."""
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, client_auth="RequireAndVerifyClientCert")
    async with serving(cfg) as server:
        url = f"https://127.0.0.1:{server.bound_port}/metrics"
        status, body = await get(url, client_ctx(pki, cert=True))
        assert status == 200 and "perpmon_test_book_usd" in body
        with pytest.raises(aiohttp.ClientError):
            await get(url, client_ctx(pki))


async def test_allowed_sans_refuse_a_certificate_the_ca_signed_for_someone_else(tmp_path: Path) -> None:
    """client_allowed_sans: a verified client certificate whose names are not listed gets a 403."""
    pki = make_pki(tmp_path)
    cfg = write_web_config(
        tmp_path / "web.yml",
        pki,
        client_auth="RequireAndVerifyClientCert",
        client_allowed_sans=["prometheus.monitoring"],
    )
    async with serving(cfg) as server:
        status, body = await get(f"https://127.0.0.1:{server.bound_port}/metrics", client_ctx(pki, cert=True))
        assert status == 403 and "perpmon_test_book_usd" not in body


async def test_reload_rotates_the_certificate_and_users_on_the_same_listener(tmp_path: Path) -> None:
    """A renewed pair and a changed password are served after the reload; the socket never closes,
    and a connection opened before it carries on."""
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    async with serving(cfg) as server:
        port = server.bound_port
        before = await peer_serial(port, pki)
        async with aiohttp.ClientSession() as kept:  # one keep-alive connection across the reload
            url, auth = f"https://127.0.0.1:{port}/metrics", basic((USER, PASSWORD))
            async with kept.get(url, ssl=client_ctx(pki), headers=auth) as r:
                assert r.status == 200
            serial = reissue_server(pki, ("perpmon.rotated",))
            write_web_config(cfg, pki, {USER: "new-pw-0c77aa"})
            await server.reload_web_config()
            assert serial != before and await peer_serial(port, pki) == serial
            assert server.bound_port == port
            async with kept.get(url, ssl=client_ctx(pki), headers=auth) as r:
                assert r.status == 401, "the old password is refused on the old connection too"
        assert (await get(url, client_ctx(pki), (USER, "new-pw-0c77aa")))[0] == 200


async def test_a_broken_reload_keeps_serving_the_old_config(tmp_path: Path) -> None:
    """A key that does not match its certificate refuses the reload; the old pair keeps serving."""
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    async with serving(cfg) as server:
        before = await peer_serial(server.bound_port, pki)
        pki.server_key.write_bytes(pki.client_key.read_bytes())  # the wrong key for the certificate
        with pytest.raises(ConfigError, match="do not load as a pair"):
            await server.reload_web_config()
        assert await peer_serial(server.bound_port, pki) == before
        url = f"https://127.0.0.1:{server.bound_port}/metrics"
        assert (await get(url, client_ctx(pki), (USER, PASSWORD)))[0] == 200


async def test_no_secret_in_logs_responses_or_errors(tmp_path: Path) -> None:
    """Passwords sent, the key file's bytes and the hashes: in no log line, response or error."""
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    hashed = cfg.read_text().split(f"{USER}: ")[1].strip().strip("'\"")
    key_body = "".join(pki.server_key.read_text().splitlines()[1:-1])
    seen: list[str] = []
    with structlog.testing.capture_logs() as logs:
        async with serving(cfg) as server:
            base = f"https://127.0.0.1:{server.bound_port}"
            for auth in ((USER, "guess-" + PASSWORD), ("nobody", PASSWORD), (USER, PASSWORD)):
                seen.append((await get(f"{base}/metrics", client_ctx(pki), auth))[1])
            seen.append((await get(f"{base}/healthz", client_ctx(pki)))[1])
            key_text = pki.server_key.read_text()
            pki.server_key.write_text(key_text.replace(key_text.splitlines()[1], "", 1))  # a garbled key
            for bad in (
                f"basic_auth_users:\n  {USER}: {PASSWORD}\n",  # a password where the hash belongs
                f"basic_auth_users: [{hashed}\n",  # YAML that does not parse, around a hash
                cfg.read_text(),  # the garbled key
            ):
                (tmp_path / "bad.yml").write_text(bad)
                server._listener._file = str(tmp_path / "bad.yml")
                with pytest.raises(ConfigError) as err:
                    await server.reload_web_config()
                seen.append(str(err.value))
    seen += [repr(e) for e in logs]
    for s in seen:
        for secret in (PASSWORD, hashed, key_body[:40], key_body[-40:]):
            assert secret not in s, (secret, s)


async def test_a_renewal_on_disk_is_served_without_a_signal(tmp_path: Path) -> None:
    """The watch (Kubernetes: cert-manager renews, nobody signals): a renewed pair is picked up; a
    broken one is logged once, however many polls see it, and the old pair keeps serving."""
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    with structlog.testing.capture_logs() as logs:
        async with serving(cfg, watch_s=0.05) as server:
            first = await peer_serial(server.bound_port, pki)
            serial = reissue_server(pki, ("perpmon.renewed",))
            for _ in range(200):
                if await peer_serial(server.bound_port, pki) == serial:
                    break
                await asyncio.sleep(0.05)
            assert serial != first and await peer_serial(server.bound_port, pki) == serial
            pki.server_key.write_bytes(pki.client_key.read_bytes())  # a half-written renewal
            for _ in range(200):
                if any(e["log_level"] == "error" for e in logs):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # ten more polls of the same broken files
            assert await peer_serial(server.bound_port, pki) == serial
    refused = [e for e in logs if e["log_level"] == "error"]
    assert len(refused) == 1 and "do not load as a pair" in refused[0]["error"], logs


async def test_a_login_costs_one_bcrypt_check_however_many_scrapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache: ten scrapes with the right login run bcrypt once; each wrong one runs it again."""
    import monitor.webauth as webauth

    calls: list[bool] = []
    real = webauth._check

    def counting(password: bytes, hashed: bytes | None) -> bool:
        calls.append(real(password, hashed))
        return calls[-1]

    monkeypatch.setattr(webauth, "_check", counting)
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    async with serving(cfg) as server:
        url = f"https://127.0.0.1:{server.bound_port}/metrics"
        for _ in range(10):
            assert (await get(url, client_ctx(pki), (USER, PASSWORD)))[0] == 200
        assert calls == [True]
        for _ in range(3):
            assert (await get(url, client_ctx(pki), (USER, "wrong")))[0] == 401
        assert calls == [True, False, False, False], "a refusal is never cached"
        write_web_config(cfg, pki, {USER: PASSWORD})  # the same password, a new hash (new salt)
        await server.reload_web_config()
        assert (await get(url, client_ctx(pki), (USER, PASSWORD)))[0] == 200
        assert len(calls) == 5, "a changed hash misses the cache"


async def test_a_scrape_that_timed_out_during_its_check_still_warms_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a loaded box the first bcrypt check can outlast Prometheus' scrape timeout; the next
    scrape must not pay it again (or every scrape would time out, for ever)."""
    import threading

    import monitor.webauth as webauth

    release, calls = threading.Event(), []
    real = webauth._check

    def slow(password: bytes, hashed: bytes | None) -> bool:
        calls.append(1)
        release.wait(10)  # slower than the client's patience below
        return real(password, hashed)

    monkeypatch.setattr(webauth, "_check", slow)
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    async with serving(cfg) as server:
        url = f"https://127.0.0.1:{server.bound_port}/metrics"
        impatient = aiohttp.ClientTimeout(total=0.3)
        async with aiohttp.ClientSession(timeout=impatient) as http:
            with pytest.raises(asyncio.TimeoutError):
                await http.get(url, ssl=client_ctx(pki), headers=basic((USER, PASSWORD)))
        release.set()
        for _ in range(100):  # the abandoned check finishes in its thread
            await asyncio.sleep(0.02)
            if len(server._listener.gate._ok):
                break
        assert (await get(url, client_ctx(pki), (USER, PASSWORD)))[0] == 200
        assert calls == [1], "the second scrape was served from the cache"


async def test_a_reload_cannot_strip_tls_or_auth_from_a_bind_beyond_loopback(tmp_path: Path) -> None:
    """On 0.0.0.0 a web config without users (or without TLS) is refused at reload as at start."""
    pki = make_pki(tmp_path)
    cfg = write_web_config(tmp_path / "web.yml", pki, {USER: PASSWORD})
    async with serving(cfg, host="0.0.0.0") as server:
        url = f"https://127.0.0.1:{server.bound_port}/metrics"
        write_web_config(cfg, pki)  # TLS only: anyone could read the book
        with pytest.raises(ConfigError, match="no authentication"):
            await server.reload_web_config()
        write_web_config(cfg, None, {USER: PASSWORD})  # a login only: the password in clear text
        with pytest.raises(ConfigError, match="no TLS"):
            await server.reload_web_config()
        assert (await get(url, client_ctx(pki)))[0] == 401, "the old config keeps serving"
        assert (await get(url, client_ctx(pki), (USER, PASSWORD)))[0] == 200
