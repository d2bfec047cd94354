"""Key permissions: withdrawal never, trading and transfer only when allowed, no whitelist warned."""

from __future__ import annotations

import pytest

from monitor.collectors.keys import (
    KeyPermissions,
    KeyRefusedError,
    binance_permissions,
    bybit_permissions,
    judge_key,
    okx_permissions,
)

READ_ONLY = {
    "ipRestrict": True,
    "createTime": 1698645219000,
    "enableReading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "enableMargin": False,
    "enableFutures": False,
    "permitsUniversalTransfer": False,
    "enableVanillaOptions": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": False,
    "enableSpotAndMarginTrading": False,
    "enablePortfolioMarginTrading": False,
}


def test_read_only_whitelisted_key_passes_silently() -> None:
    """A reading key bound to IPs: accepted, nothing to warn about."""
    assert judge_key("desk", "accounts[0]", binance_permissions(READ_ONLY), allow_trading=False) == []


def test_withdrawal_is_refused_even_when_trading_is_allowed() -> None:
    """enableWithdrawals: refused whatever the config says; the message names the account."""
    perms = binance_permissions({**READ_ONLY, "enableWithdrawals": True})
    with pytest.raises(KeyRefusedError) as err:
        judge_key("desk", "accounts[0]", perms, allow_trading=True)
    assert (
        err.value.path == "accounts[0]"
        and "'desk'" in err.value.reason
        and "enableWithdrawals" in err.value.reason
    )


@pytest.mark.parametrize("flag", ["enableFutures", "enableSpotAndMarginTrading", "enableInternalTransfer"])
def test_trading_or_transfer_needs_allow_trading_key(flag: str) -> None:
    """A key that can trade or move funds is refused by default and accepted with a warning when allowed."""
    perms = binance_permissions({**READ_ONLY, flag: True})
    with pytest.raises(KeyRefusedError) as err:
        judge_key("desk", "accounts[2]", perms, allow_trading=False)
    assert err.value.path == "accounts[2].allow_trading_key" and flag in err.value.reason
    assert any(flag in w for w in judge_key("desk", "accounts[2]", perms, allow_trading=True))


def test_no_ip_whitelist_is_a_warning() -> None:
    """ipRestrict false: accepted, with a warning naming the account."""
    warnings = judge_key(
        "desk", "accounts[0]", binance_permissions({**READ_ONLY, "ipRestrict": False}), False
    )
    assert warnings == ["account 'desk': the API key has no IP whitelist"]


def test_unverifiable_venue_is_refused_unless_accepted() -> None:
    """Where perpmon cannot read permissions, the key is taken only with allow_trading_key."""
    with pytest.raises(KeyRefusedError):
        judge_key("desk", "accounts[0]", KeyPermissions(verified=False), allow_trading=False)
    assert judge_key("desk", "accounts[0]", KeyPermissions(verified=False), allow_trading=True) == []


def test_okx_and_bybit_permission_payloads() -> None:
    """OKX `perm` and Bybit `readOnly`/`permissions`/`ips` map to the same verdict."""
    okx = okx_permissions({"code": "0", "data": [{"perm": "read_only,trade", "ip": ""}]})
    assert (okx.trade, okx.withdraw, okx.ip_restricted) == (("trade",), (), False)
    assert okx_permissions({"data": [{"perm": "read_only,withdraw", "ip": "1.2.3.4"}]}).withdraw == (
        "withdraw",
    )
    ro = bybit_permissions(
        {"result": {"readOnly": 1, "ips": ["10.0.0.1"], "permissions": {"ContractTrade": []}}}
    )
    assert (ro.trade, ro.transfer, ro.withdraw, ro.ip_restricted) == ((), (), (), True)
    rw = bybit_permissions(
        {"result": {"readOnly": 0, "ips": ["*"], "permissions": {"Wallet": ["AccountTransfer", "Withdraw"]}}}
    )
    assert rw.trade == ("readOnly=0",) and rw.transfer == ("Wallet.AccountTransfer",)
    assert rw.withdraw == ("Wallet.Withdraw",) and rw.ip_restricted is False
