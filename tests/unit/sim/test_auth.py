"""Request signing as Binance checks it: raw bytes, timestamps, keys."""

from __future__ import annotations

import pytest

from monitor.secret import Secret
from monitor.sim.binance.auth import KeyRing, sign, split_signature, verify_signed
from monitor.sim.replies import VenueError

NOW = 1_700_000_000_000
KEYS = KeyRing({"alice": (Secret("alice-key"), Secret("alice-secret"))})


def _signed(payload: str, secret: str = "alice-secret") -> str:
    return f"{payload}&signature={sign(secret, payload)}"


def test_spot_docs_test_vector() -> None:
    """The HMAC-SHA256 example of binance-spot-api-docs/rest-api.md."""
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    assert sign(secret, payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_a_correctly_signed_query_names_its_account_and_params() -> None:
    req = verify_signed(
        KEYS, "alice-key", _signed(f"timestamp={NOW}&symbol=BTCUSDT&recvWindow=10000"), "", NOW
    )
    assert req.account == "alice"
    assert req.params == {"timestamp": str(NOW), "symbol": "BTCUSDT", "recvWindow": "10000"}


def test_signature_covers_query_then_body_as_received() -> None:
    """POST: the query string and the urlencoded body are concatenated with no separator."""
    query, body = "symbol=BTCUSDT", f"timestamp={NOW}&recvWindow=5000"
    sig = sign("alice-secret", query + body)
    req = verify_signed(KEYS, "alice-key", query, f"{body}&signature={sig}", NOW)
    assert req.params["symbol"] == "BTCUSDT"


def test_reordered_parameters_do_not_verify() -> None:
    """The check is on the raw string: the same parameters in another order are another payload."""
    good = f"timestamp={NOW}&symbol=BTCUSDT"
    sig = sign("alice-secret", good)
    with pytest.raises(VenueError) as err:
        verify_signed(KEYS, "alice-key", f"symbol=BTCUSDT&timestamp={NOW}&signature={sig}", "", NOW)
    assert err.value.code == -1022


@pytest.mark.parametrize(
    ("api_key", "query", "code", "status"),
    [
        ("alice-key", _signed(f"timestamp={NOW}", "wrong-secret"), -1022, 400),
        ("nobody", _signed(f"timestamp={NOW}"), -2015, 401),
        (None, _signed(f"timestamp={NOW}"), -2014, 401),
        ("alice-key", _signed("symbol=BTCUSDT"), -1102, 400),
        ("alice-key", f"timestamp={NOW}", -1102, 400),
        ("alice-key", _signed(f"timestamp={NOW - 5001}"), -1021, 400),
        ("alice-key", _signed(f"timestamp={NOW - 59_000}&recvWindow=60000"), None, 200),
        ("alice-key", _signed(f"timestamp={NOW + 1001}"), -1021, 400),
        ("alice-key", _signed(f"timestamp={NOW + 1000}"), None, 200),
        ("alice-key", _signed(f"timestamp={NOW}&recvWindow=60001"), -1131, 400),
    ],
)
def test_rejections_carry_the_venue_code(
    api_key: str | None, query: str, code: int | None, status: int
) -> None:
    """Each failed check answers with the code ccxt maps (-1021 InvalidNonce, -1022/-2015 auth)."""
    if code is None:
        assert verify_signed(KEYS, api_key, query, "", NOW).account == "alice"
        return
    with pytest.raises(VenueError) as err:
        verify_signed(KEYS, api_key, query, "", NOW)
    assert (err.value.code, err.value.status) == (code, status)


def test_split_signature_keeps_other_bytes_untouched() -> None:
    assert split_signature("a=%20x&signature=ab&b=1") == ("a=%20x&b=1", "ab")
    assert split_signature("") == ("", None)


def test_keyring_never_exposes_secrets_in_repr() -> None:
    assert "alice-secret" not in repr(KEYS.lookup("alice-key"))
