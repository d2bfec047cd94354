"""[http]: the exporter-toolkit web config file is read and checked, and a bind beyond loopback
without TLS and authentication is refused by name unless `allow_insecure_bind` says so."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.webconfig import load_web_config
from tests.support.tls import make_pki
from tests.support.webconfig import hash_password, write_web_config

PAIR = "tls_server_config:\n  cert_file: a\n  key_file: b\n"


def http(**kw: Any) -> dict[str, Any]:
    return {"http": kw}


def test_a_full_web_config_loads_as_exporter_toolkit_reads_it(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    path = write_web_config(
        tmp_path / "web.yml",
        pki,
        {"prometheus": "pw", "grafana": "pw2"},
        client_auth="VerifyClientCertIfGiven",
        min_version="TLS13",
    )
    cfg = load_web_config(str(path))
    assert cfg.tls is not None and cfg.tls.client_auth == ssl.CERT_OPTIONAL
    assert cfg.tls.min_version == ssl.TLSVersion.TLSv1_3 and cfg.tls.client_ca_file == str(pki.ca)
    assert sorted(cfg.users) == ["grafana", "prometheus"] and cfg.authenticates
    assert cfg.describe() == {"tls": True, "client_certificates": "CERT_OPTIONAL", "basic_auth_users": 2}
    assert "$2b$" not in repr(cfg), "hashes stay out of reprs (and so of logs)"


def test_relative_file_names_resolve_next_to_the_web_config(tmp_path: Path) -> None:
    make_pki(tmp_path)
    (tmp_path / "web.yml").write_text("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n")
    cfg = load_web_config(str(tmp_path / "web.yml"))
    assert cfg.tls is not None and cfg.tls.cert_file == str(tmp_path / "server.pem")


def test_mutual_tls_required_counts_as_authentication(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    required = write_web_config(tmp_path / "a.yml", pki, client_auth="RequireAndVerifyClientCert")
    optional = write_web_config(tmp_path / "b.yml", pki, client_auth="VerifyClientCertIfGiven")
    assert load_web_config(str(required)).authenticates
    assert not load_web_config(str(optional)).authenticates, "a client may still come without one"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tls_server_config:\n  cert_file: server.pem\n", "key_file is missing"),
        (f"{PAIR}  cipher_suites: [X]\n", "not supported"),
        (f"{PAIR}  client_auth_type: RequestClientCert\n", "nobody"),
        (f"{PAIR}  client_ca_file: ca.pem\n", "without a client_auth"),
        (f"{PAIR}  client_auth_type: RequireAndVerifyClientCert\n", "needs client_ca_file"),
        (f"{PAIR}  min_version: TLS9\n", "must be one of"),
        ("basic_auth_user:\n  a: b\n", "not a key of the web configuration file"),
        ("http_server_config:\n  http3: true\n", "not supported"),
        ("tls_server_config:\n  cert_file: nowhere.pem\n  key_file: nowhere.key\n", "cannot read"),
    ],
)
def test_what_perpmon_cannot_honour_is_refused_by_name(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "web.yml").write_text(text)
    with pytest.raises(ConfigError, match=reason) as err:
        load_web_config(str(tmp_path / "web.yml"))
    assert err.value.path == "http.web_config_file"


def test_a_password_where_the_hash_belongs_is_refused_without_echoing_it(tmp_path: Path) -> None:
    (tmp_path / "web.yml").write_text("basic_auth_users:\n  prometheus: hunter2-plain\n")
    with pytest.raises(ConfigError, match="not a bcrypt hash") as err:
        load_web_config(str(tmp_path / "web.yml"))
    assert "hunter2" not in str(err.value) and "prometheus" in str(err.value)


def test_broken_yaml_names_the_line_not_its_text(tmp_path: Path) -> None:
    hashed = hash_password("pw")
    (tmp_path / "web.yml").write_text(f"basic_auth_users:\n  a: [{hashed}\n")
    with pytest.raises(ConfigError, match="not valid YAML at line") as err:
        load_web_config(str(tmp_path / "web.yml"))
    assert hashed not in str(err.value)


def test_loopback_needs_nothing() -> None:
    for host in ("127.0.0.1", "::1", "localhost"):
        cfg, _ = parse_config(http(host=host))
        assert cfg.http.host == host and cfg.http.web_config_file is None


def test_beyond_loopback_without_tls_or_auth_is_refused_naming_the_risk(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(http(host="0.0.0.0"))
    assert err.value.path == "http.host"
    assert "no TLS" in err.value.reason and "no authentication" in err.value.reason
    assert "allow_insecure_bind" in err.value.reason
    pki = make_pki(tmp_path)
    tls_only = write_web_config(tmp_path / "tls.yml", pki)
    with pytest.raises(ConfigError, match="no authentication") as only_auth_missing:
        parse_config(http(host="0.0.0.0", web_config_file=str(tls_only)))
    assert "no TLS" not in only_auth_missing.value.reason
    auth_only = write_web_config(tmp_path / "auth.yml", None, {"p": "pw"})
    with pytest.raises(ConfigError, match="no TLS") as only_tls_missing:
        parse_config(http(host="10.0.0.5", web_config_file=str(auth_only)))
    assert "no authentication" not in only_tls_missing.value.reason
    with pytest.raises(ConfigError, match="no TLS"):
        parse_config(http(host="perpmon.internal", web_config_file=str(auth_only)))  # a name is not loopback


def test_beyond_loopback_with_tls_and_auth_or_the_explicit_waiver_starts(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    both = write_web_config(tmp_path / "both.yml", pki, {"p": "pw"})
    mtls = write_web_config(tmp_path / "mtls.yml", pki, client_auth="RequireAndVerifyClientCert")
    for path in (both, mtls):
        cfg, _ = parse_config(http(host="0.0.0.0", web_config_file=str(path)))
        assert cfg.http.web_config_file == str(path)
    waived, _ = parse_config(http(host="0.0.0.0", allow_insecure_bind=True))
    assert waived.http.allow_insecure_bind


def test_check_config_reads_the_web_config_file(tmp_path: Path) -> None:
    """A missing or broken file fails at config time (check-config), even on loopback."""
    with pytest.raises(ConfigError, match="cannot read"):
        parse_config(http(web_config_file=str(tmp_path / "missing.yml")))
