"""Typed, closed configuration, checked before anything connects.

`config.toml` is decoded into frozen msgspec structs with unknown keys forbidden and every number
constrained, so a typo or a negative size fails at start with the key path and the reason
(`perpmon check-config` does only that). Secrets are never in the file: it names environment
variables, which are read here and wrapped in `Secret`.
"""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from monitor.errors import ConfigError
from monitor.secret import Secret, url_problem
from monitor.venues import VENUES, Kind, Simulated, simulated_as, venue_of

__all__ = [
    "AccountConfig",
    "Config",
    "EvaluationConfig",
    "HoldingConfig",
    "HttpConfig",
    "LevelConfig",
    "LogConfig",
    "MqttConfig",
    "ProxyHedgeConfig",
    "ReceiverConfig",
    "RuleConfig",
    "ShardConfig",
    "SimAccountConfig",
    "SimPositionConfig",
    "SimulatorConfig",
    "VenueConfig",
    "load_config",
    "mqtt_tls_context",
    "parse_config",
]

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
Fraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Symbol = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,32}$")]
SymbolOrAll = Annotated[str, msgspec.Meta(pattern=r"^([A-Z0-9]{2,32}|\*)$")]  # "*": all the venue lists
Asset = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,16}$")]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z_][A-Z0-9_]*$")]
CcxtId = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9]{1,31}$")]


class _Cfg(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class LogConfig(_Cfg, frozen=True, kw_only=True):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "console", "json"] = "auto"  # auto: console on a TTY, JSON otherwise


class HttpConfig(_Cfg, frozen=True, kw_only=True):
    host: str = "127.0.0.1"  # binding elsewhere is an explicit choice
    port: Port = 9108
    # exporter-toolkit web config (TLS, client CA, bcrypt basic-auth users), re-read on SIGHUP
    web_config_file: str | None = None
    allow_insecure_bind: bool = False  # serve beyond loopback without TLS and auth: refused otherwise


def _check_http(h: HttpConfig) -> None:
    """The web config loads, and a bind beyond loopback has TLS and authentication (monitor/webconfig.py)."""
    from monitor.webconfig import bind_problem, load_web_config

    web = load_web_config(h.web_config_file) if h.web_config_file is not None else None
    problem = bind_problem(h.host, web, h.allow_insecure_bind)
    if problem:
        raise ConfigError("http.host", problem)


class SimPositionConfig(_Cfg, frozen=True, kw_only=True):
    symbol: Symbol
    qty: float  # signed base units: long > 0, short < 0
    entry_price: PositiveFloat | None = None  # None: the replay's first mark
    leverage: PositiveFloat = 10.0
    margin_mode: Literal["cross", "isolated"] = "cross"
    isolated_wallet: NonNegativeFloat = 0.0
    side: Literal["BOTH", "LONG", "SHORT"] = "BOTH"


ApiPermission = Literal[
    "enableReading",
    "enableFutures",
    "enableSpotAndMarginTrading",
    "enableWithdrawals",
    "enableInternalTransfer",
    "enableMargin",
    "permitsUniversalTransfer",
    "enableVanillaOptions",
    "enableFixApiTrade",
    "enableFixReadOnly",
    "enablePortfolioMarginTrading",
    "ipRestrict",
]


class SimAccountConfig(_Cfg, frozen=True, kw_only=True):
    name: Name
    api_key_env: EnvName
    api_secret_env: EnvName
    wallet_usdt: NonNegativeFloat  # the cross wallet; isolated wallets come on top of it
    # other assets in the futures wallet (USDC, BNB, BTC …): listed per asset; in single-asset mode
    # they are not USDT margin, so the USDT totals and the liquidation engine ignore them
    other_assets: dict[Asset, NonNegativeFloat] = {}
    positions: tuple[SimPositionConfig, ...] = ()
    # which simulated venue holds the account: Binance USDⓈ-M (fapi) or Bybit v5 (unified, linear)
    venue: Simulated = "binance"
    # the flags `GET /sapi/v1/account/apiRestrictions` reports true for this key (others false)
    permissions: tuple[ApiPermission, ...] = ("enableReading",)


class SimulatorConfig(_Cfg, frozen=True, kw_only=True):
    enabled: bool = False
    host: str = "127.0.0.1"
    futures_port: Port = 0  # fapi + fstream; 0: any free port
    spot_port: Port = 0  # api + stream (spot is another host at the real venue)
    bybit_port: Port = 0  # Bybit v5 REST (/v5/...) and WebSocket (/v5/public/..., /v5/private) on one port
    tick_s: PositiveFloat = 1.0  # wall seconds between market updates (markPrice@1s cadence)
    # a built-in window (crash-2021-05-19 | crash-2020-03-12 | crash-2024-08-05), or a folder of
    # Binance public-data-archive files to replay (monitor/sim/archive.py), checked at start
    replay: str = "crash-2021-05-19"
    # "synthetic": a seeded GARCH-t path with jumps from the replay's first price (monitor/sim/synthetic.py)
    path: Literal["replay", "synthetic"] = "replay"
    synthetic_days: PositiveFloat = 30.0  # length of a synthetic path (it loops like a replay)
    speed: PositiveFloat = 60.0  # replay seconds per wall second
    # at the path's end: "bounce" plays it back to the start and on again (no price jumps; `true`
    # means this), "restart" starts over (one jump per pass), "stop" (`false`) holds the last prices
    loop: bool | Literal["bounce", "restart", "stop"] = "bounce"
    seed: int = 7
    accounts: tuple[SimAccountConfig, ...] = ()
    ws_ping_s: PositiveFloat = 180.0  # the venue pings every 3 min
    ws_pong_timeout_s: PositiveFloat = 600.0  # and drops a peer silent for 10 min
    listen_key_ttl_s: PositiveFloat = 3600.0  # a listenKey lives 60 min unless kept alive
    ws_max_age_s: PositiveFloat = 86_400.0  # the venue cuts every connection at 24 h
    # the loopback admin API (monitor/sim/admin.py: shocks, pins, faults). The daemon serves it on
    # 127.0.0.1:admin_port when > 0 (0: off); `perpmon sim` always does (0: any free port)
    admin_port: Port = 0
    # a desk-sized world (monitor/sim/universe.py): this many generated contracts U0001USDT … beside
    # the four real ones, and this many generated accounts u001 … holding this many positions over
    # them (keys derived from `seed`; the daemon watches them on its simulated Binance venue). 0: off
    universe_symbols: Annotated[int, msgspec.Meta(ge=0, le=5000)] = 0
    universe_positions: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    universe_accounts: Annotated[int, msgspec.Meta(ge=0, le=999)] = 0


class VenueConfig(_Cfg, frozen=True, kw_only=True):
    name: Name  # the `venue` label
    # binanceusdm / bybit: the native collectors (Bybit v5 linear USDT perps + spot); ccxt: the generic
    # ccxt.pro collector for `exchange`
    kind: Kind = "binanceusdm"  # the entries of monitor/venues.py
    exchange: CcxtId | None = None  # kind = "ccxt": the ccxt exchange id (okx, bybit, binanceusdm …)
    spot_exchange: CcxtId | None = None  # kind = "ccxt": ccxt id for spot books (default: `exchange`)
    simulator: bool = False  # point at the embedded simulator instead of the real venue
    # perpetuals to watch; "*": every USDT perpetual the venue lists (its exchangeInfo /
    # instruments-info at start, new listings at each reference refresh), plus any named beside it
    symbols: tuple[SymbolOrAll, ...]
    spot_symbols: tuple[SymbolOrAll, ...] = ()  # spot books for basis ("*" is refused: name them)
    perp_books: bool = True  # perpetual book tops too (binanceusdm: @bookTicker on /public)
    # perp book levels kept for the cost to close (binanceusdm: @depth<N>@500ms; bybit: orderbook.50);
    # 0: top of book only, and a close larger than the best level is insufficient_depth
    depth_levels: Literal[0, 5, 10, 20] = 20
    # at start and after a gap, fetch candles and settled funding to fill the grids (collectors/backfill.py)
    backfill: bool = True
    rest_url: str | None = None  # overrides for testnets or proxies
    ws_url: str | None = None
    spot_rest_url: str | None = None
    spot_ws_url: str | None = None
    poll_s: PositiveFloat = 5.0  # account snapshot over REST while no user data stream is live
    stale_after_s: PositiveFloat = 10.0  # silence limit of event-driven streams (books), upper bound
    stale_cadences: Annotated[float, msgspec.Meta(ge=1.0)] = 3.0  # periodic streams: N × cadence
    user_stream: bool = True  # binanceusdm: account deltas over the user data stream (listenKey)
    reconcile_s: PositiveFloat = 15.0  # REST reconciliation while the user data stream is live
    listen_key_keepalive_s: Annotated[float, msgspec.Meta(gt=0, le=3000)] = 1800.0  # key lives 60 min
    max_streams_per_connection: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 200  # venue cap: 1024
    subscribe_messages_per_s: Annotated[float, msgspec.Meta(gt=0, le=10)] = 4.0  # venue cap: 10/s
    connection_max_age_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 82_800.0  # before the 24 h cut


class AccountConfig(_Cfg, frozen=True, kw_only=True):
    name: Name
    venue: Name
    api_key_env: EnvName
    api_secret_env: EnvName
    api_password_env: EnvName | None = None  # venues whose keys have a passphrase (okx)
    # a key that can trade or transfer is refused at start unless this is true; withdrawal: never
    allow_trading_key: bool = False


class HoldingConfig(_Cfg, frozen=True, kw_only=True):
    name: Name
    asset: Asset
    quantity: PositiveFloat
    price_venue: Name
    price_symbol: Symbol  # spot symbol whose mid values the holding


class MqttConfig(_Cfg, frozen=True, kw_only=True):
    """The MQTT broker for pushed holdings (and, later, alert topics)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 1883
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    topic_prefix: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_/-]{1,64}$")] = "perpmon"
    client_id: Name = "perpmon"
    tls: bool = False  # TLS to the broker (usually port 8883); the chain is always verified
    ca_file: str | None = None  # PEM CA bundle; None: the system's trust store
    cert_file: str | None = None  # client certificate (PEM) for brokers that require one; needs key_file
    key_file: str | None = None
    tls_insecure: bool = False  # skip only the host-name check (a broker reached by IP); never the chain
    max_age_s: PositiveFloat | None = None  # a pushed holding not updated for this long: figures not fresh


class ProxyHedgeConfig(_Cfg, frozen=True, kw_only=True):
    """Hedge holdings of `asset` with the perpetual `symbol` on `venue` (beta hedge, risk-formulas §1)."""

    asset: Asset  # the holdings to hedge, valued at their own spot book
    venue: Name
    symbol: Symbol  # the proxy perpetual (its mark returns)
    window: Annotated[int, msgspec.Meta(ge=20, le=100_000)] = 500  # aligned returns in the regression
    fraction: Annotated[float, msgspec.Meta(gt=0, le=2)] = 1.0  # hedge fraction h: q_B = −h·β·V_A/P_B


class EvaluationConfig(_Cfg, frozen=True, kw_only=True):
    interval_s: PositiveFloat = 1.0
    volatility_sample_s: PositiveFloat = 60.0  # returns on this grid, never tick to tick
    ewma_lambda: Fraction = 0.94
    horizon_s: PositiveFloat = 86_400.0  # distance in sigma over this horizon
    history_points: Annotated[int, msgspec.Meta(ge=16, le=1_000_000)] = 4096
    stress_interval_s: PositiveFloat = 60.0  # the stress scenario figures are recomputed this often
    # frame-driven ticks (monitor/frames.py): a frame that moves a mark, a book or an account runs a
    # tick at once, not on the next interval_s slot; frames within frame_coalesce_ms evaluate once,
    # and those ticks use at most frame_cpu_share of one core. false: the periodic grid only
    on_frame: bool = True
    frame_coalesce_ms: Annotated[float, msgspec.Meta(ge=0, le=1000)] = 2.0
    frame_cpu_share: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.5
    # the PerpmonWatchdog dead-man's switch is re-sent this often (routed only to receivers that ask
    # for it, and to Alertmanager); 0 turns it off
    heartbeat_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 60.0
    # A figure a rule watches that stays NaN this long raises FigureUnavailable (never a silence);
    # longer than a feed reconnect (StaleFeed tells that), far shorter than a run to liquidation
    unavailable_for_s: NonNegativeFloat = 30.0
    # ... or this long when its reason means "warming up" (not_fitted_yet, empty_history, …): the
    # first GARCH fit needs garch_min_obs × volatility_sample_s (100 × 60 s) plus a refit
    unavailable_warmup_s: NonNegativeFloat = 7200.0
    # slow models (monitor/refit.py): GARCH(1,1)-t and OU basis fits, return history, Monte Carlo
    refit_s: Annotated[float, msgspec.Meta(ge=1)] = 300.0  # refit this often, off the event loop
    garch_min_obs: Annotated[int, msgspec.Meta(ge=30)] = 100  # returns needed before a GARCH fit
    var_confidences: tuple[Fraction, ...] = (0.95, 0.99)  # VaR/ES levels (the `confidence` label)
    var_horizon_s: PositiveFloat = 86_400.0  # VaR/ES horizon; at least one volatility sample
    mc_paths: Annotated[int, msgspec.Meta(ge=100, le=1_000_000)] = 10_000  # Monte Carlo paths, at most
    mc_seed: int = 0  # the same paths every refit: changes in MC VaR come from the book, not the dice
    # CPU the slow models may use, as a fraction of one core averaged over time (monitor/refit.py):
    # fits are paced to it, markets refitted round-robin (stalest first), and Monte Carlo runs the
    # paths (at most mc_paths, never fewer than mc_min_paths) that what is left of it pays for
    model_cpu_budget: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.25
    mc_min_paths: Annotated[int, msgspec.Meta(ge=100, le=1_000_000)] = 1_000  # fewer would be noise
    target_vol: PositiveFloat = 0.20  # annualised volatility target (hedge and sizing advice)
    shock: Fraction = 0.20  # top-up needed to survive this adverse price move (0.2 = 20 %)
    proxy_hedges: tuple[ProxyHedgeConfig, ...] = ()  # beta hedges with R² (e.g. an altcoin with BTC)


class LevelConfig(_Cfg, frozen=True, kw_only=True):
    severity: Literal["info", "warning", "critical", "page"]
    threshold: float  # enter level
    clear: float | None = None  # exit level (hysteresis); None: the threshold itself
    # how long the value must stay across this level before the alert fires at it; None: the rule's
    # for_s. A critical level with 0 fires on the first tick that crosses it (monitor/rules/engine.py)
    for_s: NonNegativeFloat | None = None


class RuleConfig(_Cfg, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]  # alertname
    figure: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*$")]
    op: Literal["<", "<=", ">", ">="]
    levels: tuple[LevelConfig, ...]
    for_s: NonNegativeFloat = 0.0
    repeat_s: NonNegativeFloat = 0.0  # 0: never repeat
    match: dict[str, str] = {}  # label equality matchers: venue, account, symbol, side, asset
    summary: str = ""
    runbook: str = ""  # URL or text copied into the alert's `runbook` annotation
    # FigureUnavailable after the figure is NaN this long (monitor/rules/unavailable.py); None: the
    # `[evaluation] unavailable_for_s` default; inf: never (a figure NaN by design for this rule)
    unavailable_for_s: NonNegativeFloat | None = None


class ReceiverConfig(_Cfg, frozen=True, kw_only=True):
    name: Name
    type: Literal["console", "webhook", "slack", "discord", "telegram", "ntfy", "mqtt", "alertmanager"]
    url_env: EnvName | None = None  # webhook URL from this variable (it carries tokens)
    chat_id: str | None = None  # telegram: the chat or group to post to
    messages_per_minute: PositiveFloat | None = None  # chat rate limit; None: the integration's default
    timeout_s: PositiveFloat = 10.0
    match: dict[str, str] = {}  # only alerts whose labels equal these
    group_by: tuple[str, ...] = ("alertname",)  # one message per tick per distinct value of these labels
    # mqtt: the broker (plain TCP), the topic prefix, and the variables holding credentials (both or neither)
    host: str | None = None
    port: Port | None = None  # None: 1883
    topic_prefix: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_/-]{1,64}$")] | None = None  # "perpmon"
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    client_id: Name | None = None  # None: perpmon-notify-<name> (never the holdings collector's id)
    # alertmanager: re-send the firing set this often (its docs: every 30 s to 3 min); None: 60
    resend_s: Annotated[float, msgspec.Meta(ge=1, le=600)] | None = None


class ShardConfig(_Cfg, frozen=True, kw_only=True):
    """Which slice of the accounts this instance watches; `perpmon run --shard I/N` overrides it."""

    index: Annotated[int, msgspec.Meta(ge=0)] = 0
    count: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 1  # 1: one instance watches everything


class Config(_Cfg, frozen=True, kw_only=True):
    log: LogConfig = LogConfig()
    http: HttpConfig = HttpConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    venues: tuple[VenueConfig, ...] = ()
    accounts: tuple[AccountConfig, ...] = ()
    holdings: tuple[HoldingConfig, ...] = ()
    mqtt: MqttConfig = MqttConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    rules: tuple[RuleConfig, ...] = ()
    receivers: tuple[ReceiverConfig, ...] = ()
    state_dir: str = "var"  # outbox and other durable state
    shard: ShardConfig = ShardConfig()


_PATH_RE = re.compile(r"at `\$(.*)`")
_UNKNOWN_RE = re.compile(r"unknown field `([^`]*)`")


def _key_path(msg: str) -> tuple[str, str]:
    """Turn msgspec's "Expected ... - at `$.a[0].b`" into ("a[0].b", "Expected ...")."""
    m = _PATH_RE.search(msg)
    path = m.group(1).lstrip(".") if m else ""
    reason = msg[: m.start()].rstrip(" -") if m else msg
    unknown = _UNKNOWN_RE.search(reason)
    if unknown:  # name the offending key itself, not its parent
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        reason = "unknown key (check the spelling; see config.toml for every key)"
    return path, reason


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> tuple[Config, Secrets]:
    """Validate decoded TOML and resolve the secret variables it names."""
    try:
        cfg = msgspec.convert(dict(data), Config, strict=True)
    except msgspec.ValidationError as exc:
        path, reason = _key_path(str(exc))
        raise ConfigError(path, reason) from None
    _check_references(cfg)
    secrets = _read_secrets(cfg, os.environ if env is None else env)
    return _with_universe_accounts(cfg, secrets)


def _with_universe_accounts(cfg: Config, secrets: Secrets) -> tuple[Config, Secrets]:
    """The generated simulator accounts, watched on the first simulated Binance venue with their
    derived keys (monitor/sim/universe.py); a config without such a venue leaves them to `perpmon sim`."""
    s = cfg.simulator
    venue = next((v for v in cfg.venues if v.simulator and simulated_as(v) == "binance"), None)
    if not (s.enabled and s.universe_accounts and venue is not None):
        return cfg, secrets
    from monitor.sim.universe import universe_account_names, universe_keys

    names = universe_account_names(s.universe_accounts)
    added = tuple(
        AccountConfig(
            name=n,
            venue=venue.name,
            api_key_env="PERPMON_UNIVERSE_KEY",  # never read: the keys are derived
            api_secret_env="PERPMON_UNIVERSE_SECRET",
        )
        for n in names
    )
    keys = {n: tuple(Secret(x) for x in universe_keys(s.seed, n)) for n in names}
    api = secrets.api_keys | {n: (k[0], k[1]) for n, k in keys.items()}
    sim = secrets.sim_keys | {n: (k[0], k[1]) for n, k in keys.items()}
    return (
        msgspec.structs.replace(cfg, accounts=cfg.accounts + added),
        msgspec.structs.replace(secrets, api_keys=api, sim_keys=sim),
    )


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> tuple[Config, Secrets]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError("", f"cannot read {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"{p} is not valid TOML: {exc}") from None
    return parse_config(data, env)


class Secrets(msgspec.Struct, frozen=True, kw_only=True):
    """Secrets resolved from the environment, by owner name."""

    api_keys: dict[str, tuple[Secret, Secret]]  # account name → (key, secret)
    sim_keys: dict[str, tuple[Secret, Secret]]  # simulator account name → (key, secret)
    receiver_urls: dict[str, Secret]  # receiver name → URL
    mqtt_credentials: tuple[Secret, Secret] | None = None  # (username, password)
    api_passwords: dict[str, Secret] = {}  # account name → key passphrase (okx)
    receiver_credentials: dict[str, tuple[Secret, Secret]] = {}  # mqtt receiver name → (username, password)

    def all(self) -> list[Secret]:
        out: list[Secret] = [s for pair in self.api_keys.values() for s in pair]
        out += list(self.api_passwords.values())
        out += [s for pair in self.sim_keys.values() for s in pair]
        out += list(self.receiver_urls.values())
        if self.mqtt_credentials is not None:
            out += list(self.mqtt_credentials)
        out += [s for pair in self.receiver_credentials.values() for s in pair]
        return out


def _env(env: Mapping[str, str], path: str, name: str) -> Secret:
    value = env.get(name, "")
    if not value:
        raise ConfigError(path, f"environment variable {name} is not set (secrets never live in the file)")
    return Secret(value)


def _read_secrets(cfg: Config, env: Mapping[str, str]) -> Secrets:
    api = {
        a.name: (
            _env(env, f"accounts[{i}].api_key_env", a.api_key_env),
            _env(env, f"accounts[{i}].api_secret_env", a.api_secret_env),
        )
        for i, a in enumerate(cfg.accounts)
    }
    sim: dict[str, tuple[Secret, Secret]] = {}
    if cfg.simulator.enabled:
        sim = {
            a.name: (
                _env(env, f"simulator.accounts[{i}].api_key_env", a.api_key_env),
                _env(env, f"simulator.accounts[{i}].api_secret_env", a.api_secret_env),
            )
            for i, a in enumerate(cfg.simulator.accounts)
        }
    urls = {
        r.name: _receiver_url(env, f"receivers[{i}].url_env", r.url_env, r.type)
        for i, r in enumerate(cfg.receivers)
        if r.url_env is not None
    }
    creds = None
    m = cfg.mqtt
    if m.enabled and m.password_env is not None and m.username_env is None:
        raise ConfigError("mqtt.username_env", "a password needs the variable holding its username")
    if m.enabled and m.username_env is not None:
        if m.password_env is None:
            raise ConfigError("mqtt.password_env", "a username needs the variable holding its password")
        creds = (
            _env(env, "mqtt.username_env", m.username_env),
            _env(env, "mqtt.password_env", m.password_env),
        )
    passwords = {
        a.name: _env(env, f"accounts[{i}].api_password_env", a.api_password_env)
        for i, a in enumerate(cfg.accounts)
        if a.api_password_env is not None
    }
    return Secrets(
        api_keys=api,
        sim_keys=sim,
        receiver_urls=urls,
        mqtt_credentials=creds,
        api_passwords=passwords,
        receiver_credentials=_receiver_credentials(cfg, env),
    )


def _receiver_url(env: Mapping[str, str], path: str, name: str, kind: str) -> Secret:
    """The receiver's URL, refused here when it cannot work; the reason names the variable, never the URL."""
    url = _env(env, path, name)
    problem = url_problem(url.reveal()) if kind not in ("console", "mqtt") else ""
    if problem:
        raise ConfigError(path, f"the URL in {name} cannot be used: {problem}")
    return url


def _receiver_credentials(cfg: Config, env: Mapping[str, str]) -> dict[str, tuple[Secret, Secret]]:
    """(username, password) of receivers that log in with them (mqtt); `_check_receiver` paired the names."""
    return {
        r.name: (
            _env(env, f"receivers[{i}].username_env", r.username_env),
            _env(env, f"receivers[{i}].password_env", r.password_env),
        )
        for i, r in enumerate(cfg.receivers)
        if r.username_env is not None and r.password_env is not None
    }


def _unique(items: list[str], path: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(items):
        if name in seen:
            raise ConfigError(f"{path}[{i}].name", f"duplicate name {name!r}")
        seen.add(name)


def _check_references(cfg: Config) -> None:
    """Cross-field rules a schema cannot say: names unique, references resolve."""
    _unique([v.name for v in cfg.venues], "venues")
    _unique([a.name for a in cfg.accounts], "accounts")
    _unique([h.name for h in cfg.holdings], "holdings")
    _unique([r.name for r in cfg.receivers], "receivers")
    _unique([a.name for a in cfg.simulator.accounts], "simulator.accounts")
    if cfg.shard.index >= cfg.shard.count:
        raise ConfigError("shard.index", f"must be below shard.count ({cfg.shard.count})")
    venues = {v.name: v for v in cfg.venues}
    for i, v in enumerate(cfg.venues):
        if not v.symbols:
            raise ConfigError(f"venues[{i}].symbols", "list at least one perpetual symbol")
        if "*" in v.spot_symbols:
            raise ConfigError(
                f"venues[{i}].spot_symbols",
                '"*" would subscribe every spot book the venue lists; name the ones basis and holdings use',
            )
        if v.simulator and not cfg.simulator.enabled:
            raise ConfigError(f"venues[{i}].simulator", "needs simulator.enabled = true")
        _check_venue_kind(v, f"venues[{i}]")
    for i, a in enumerate(cfg.accounts):
        if a.venue not in venues:
            raise ConfigError(f"accounts[{i}].venue", f"no venue named {a.venue!r}")
    for i, h in enumerate(cfg.holdings):
        if h.price_venue not in venues:
            raise ConfigError(f"holdings[{i}].price_venue", f"no venue named {h.price_venue!r}")
        if h.price_symbol not in venues[h.price_venue].spot_symbols:
            raise ConfigError(
                f"holdings[{i}].price_symbol", f"{h.price_symbol} is not in that venue's spot_symbols"
            )
    _check_mqtt(cfg.mqtt)
    _check_http(cfg.http)
    for i, r in enumerate(cfg.receivers):
        _check_receiver(r, f"receivers[{i}]")
        if r.type not in ("console", "mqtt") and r.url_env is None:
            what = "bot API URL with its token" if r.type == "telegram" else "URL"
            raise ConfigError(
                f"receivers[{i}].url_env", f"a {r.type} receiver needs the variable holding its {what}"
            )
        if r.type == "telegram" and not r.chat_id:
            raise ConfigError(f"receivers[{i}].chat_id", "a telegram receiver needs the chat to post to")
    for i, rule in enumerate(cfg.rules):
        _check_rule(rule, f"rules[{i}]")
    _check_evaluation(cfg.evaluation)
    _check_proxy_hedges(cfg)
    sim_names = {a.name for a in cfg.simulator.accounts}
    for i, a in enumerate(cfg.accounts):
        if venues[a.venue].simulator and a.name not in sim_names:
            raise ConfigError(
                f"accounts[{i}].name", "a simulated venue's account must be in simulator.accounts"
            )
        sim_venue = simulated_as(venues[a.venue])
        held = {x.name: x.venue for x in cfg.simulator.accounts}
        if venues[a.venue].simulator and sim_venue and held.get(a.name, sim_venue) != sim_venue:
            raise ConfigError(
                f"accounts[{i}].venue",
                f"simulator account {a.name!r} is on the simulated {held[a.name]}, not on {sim_venue}",
            )
    for i, sa in enumerate(cfg.simulator.accounts):
        for j, p in enumerate(sa.positions):
            if p.qty == 0:
                raise ConfigError(f"simulator.accounts[{i}].positions[{j}].qty", "must not be zero")
    _check_universe(cfg)
    _check_replay(cfg.simulator)


def _check_replay(sim: SimulatorConfig) -> None:
    """A replay folder is read and checked with the config: a bad file stops start-up with its line."""
    from monitor.sim.archive import ArchiveError, load_user_replay, user_paths
    from monitor.sim.replay import EVENTS

    if not sim.enabled or sim.replay in EVENTS:
        return
    try:
        symbols = [s.symbol for s in user_paths(load_user_replay(sim.replay)).specs]
    except ArchiveError as e:
        raise ConfigError("simulator.replay", str(e)) from None
    for i, a in enumerate(sim.accounts):
        for j, p in enumerate(a.positions):
            if p.symbol not in symbols:
                raise ConfigError(
                    f"simulator.accounts[{i}].positions[{j}].symbol",
                    f"{p.symbol} is not in the replay (its files hold {', '.join(symbols)})",
                )


def _check_universe(cfg: Config) -> None:
    """Generated positions need generated accounts and contracts, and fit one per symbol per account."""
    s = cfg.simulator
    if s.universe_positions and not s.universe_accounts:
        raise ConfigError("simulator.universe_accounts", "universe_positions need accounts to hold them")
    if s.universe_positions and not s.universe_symbols:
        raise ConfigError("simulator.universe_symbols", "universe_positions need generated symbols")
    if s.universe_positions > s.universe_accounts * s.universe_symbols:
        raise ConfigError(
            "simulator.universe_positions",
            f"at most one position per symbol per account: {s.universe_accounts} × {s.universe_symbols}",
        )
    taken = {a.name for a in s.accounts} | {a.name for a in cfg.accounts}
    if s.universe_accounts:
        from monitor.sim.universe import universe_account_names

        clash = taken & set(universe_account_names(s.universe_accounts))
        if clash:
            raise ConfigError("simulator.universe_accounts", f"{sorted(clash)[0]!r} is a generated name")


def _check_mqtt(m: MqttConfig) -> None:
    """TLS keys only with `tls`; certificate and key in pairs; the files load (only when enabled)."""
    for key in ("ca_file", "cert_file", "key_file", "tls_insecure"):
        if getattr(m, key) and not m.tls:
            raise ConfigError(f"mqtt.{key}", "needs mqtt.tls = true")
    if (m.cert_file is None) != (m.key_file is None):
        missing = "key_file" if m.key_file is None else "cert_file"
        raise ConfigError(f"mqtt.{missing}", "a client certificate and its key go together")
    if m.enabled:
        mqtt_tls_context(m)


def mqtt_tls_context(m: MqttConfig) -> ssl.SSLContext | None:
    """The TLS context for the holdings broker, or None for plain TCP; ConfigError names the bad file.

    Built once at config time (so `check-config` reads every file) and again by the collector.
    """
    if not m.tls:
        return None
    for key in ("ca_file", "cert_file", "key_file"):
        path = getattr(m, key)
        if path is None:
            continue
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise ConfigError(f"mqtt.{key}", f"cannot read {path}: {exc.strerror}") from None
    try:
        ctx = ssl.create_default_context(cafile=m.ca_file)
    except ssl.SSLError as exc:
        raise ConfigError("mqtt.ca_file", f"not a PEM CA bundle ({exc.reason})") from None
    if m.cert_file is not None and m.key_file is not None:
        try:
            # the empty password: an encrypted key fails here instead of prompting on a terminal
            ctx.load_cert_chain(m.cert_file, m.key_file, password=lambda: b"")
        except ssl.SSLError as exc:
            detail = exc.reason or "PEM error; the key must not be encrypted"
            why = f"certificate and key do not load as a pair ({detail})"
            raise ConfigError("mqtt.cert_file", why) from None
    ctx.check_hostname = not m.tls_insecure
    return ctx


def _check_venue_kind(v: VenueConfig, path: str) -> None:
    """`kind = "ccxt"` names a ccxt.pro exchange; a native kind takes no exchange id."""
    own = venue_of(v)
    if not own.by_exchange_id:
        for key in ("exchange", "spot_exchange"):
            if getattr(v, key) is not None:
                raise ConfigError(f"{path}.{key}", 'only for kind = "ccxt"')
        for key in ("spot_rest_url", "spot_ws_url"):
            if not own.spot_host and getattr(v, key) is not None:
                raise ConfigError(
                    f"{path}.{key}", f"{own.name} serves spot on its one host: use rest_url / ws_url"
                )
        return
    if v.exchange is None:
        raise ConfigError(f"{path}.exchange", 'kind = "ccxt" needs the ccxt exchange id (e.g. "okx")')
    import ccxt.pro  # only configs that use the generic collector pay for this import

    for key in ("exchange", "spot_exchange"):
        name = getattr(v, key)
        if name is not None and name not in ccxt.pro.exchanges:
            raise ConfigError(f"{path}.{key}", f"ccxt.pro has no exchange {name!r}")
    if v.simulator and simulated_as(v) is None:
        sims = [x for x in VENUES if x.simulated_as]
        names, ids = " and ".join(x.name for x in sims), ", ".join(x.ccxt_ids[0] for x in sims)
        raise ConfigError(f"{path}.exchange", f"the simulator speaks {names} only ({ids})")


def _check_evaluation(ev: EvaluationConfig) -> None:
    """VaR needs distinct levels and a horizon of at least one return sample."""
    if not ev.var_confidences:
        raise ConfigError("evaluation.var_confidences", "give at least one confidence, e.g. [0.95, 0.99]")
    if len(set(ev.var_confidences)) != len(ev.var_confidences):
        raise ConfigError("evaluation.var_confidences", "duplicate confidence")
    if ev.var_horizon_s < ev.volatility_sample_s:
        raise ConfigError("evaluation.var_horizon_s", "must be at least volatility_sample_s (one return)")


def _check_proxy_hedges(cfg: Config) -> None:
    venues = {v.name: v for v in cfg.venues}
    for i, ph in enumerate(cfg.evaluation.proxy_hedges):
        path = f"evaluation.proxy_hedges[{i}]"
        if ph.venue not in venues:
            raise ConfigError(f"{path}.venue", f"no venue named {ph.venue!r}")
        if ph.symbol not in venues[ph.venue].symbols and "*" not in venues[ph.venue].symbols:
            raise ConfigError(f"{path}.symbol", f"{ph.symbol} is not in that venue's symbols")


_MQTT_ONLY = ("host", "port", "topic_prefix", "username_env", "password_env", "client_id")


def _check_receiver(r: ReceiverConfig, path: str) -> None:
    """Keys that belong to one receiver type are refused on the others, so a typo'd type cannot hide."""
    for key in _MQTT_ONLY:
        if r.type != "mqtt" and getattr(r, key) is not None:
            raise ConfigError(f"{path}.{key}", 'only for type = "mqtt"')
    if r.type != "alertmanager" and r.resend_s is not None:
        raise ConfigError(f"{path}.resend_s", 'only for type = "alertmanager"')
    if r.type != "mqtt":
        return
    if r.url_env is not None:
        raise ConfigError(f"{path}.url_env", "an mqtt receiver takes host, port, username_env, password_env")
    if not r.host:
        raise ConfigError(f"{path}.host", "an mqtt receiver needs the broker's host")
    if (r.username_env is None) != (r.password_env is None):
        missing = "password_env" if r.password_env is None else "username_env"
        raise ConfigError(f"{path}.{missing}", "give both username_env and password_env, or neither")


_LABELS = {"venue", "account", "symbol", "side", "asset", "stream", "scenario", "method", "confidence"}


def _check_rule(rule: RuleConfig, path: str) -> None:
    from monitor.figures import CATALOG

    if rule.figure not in CATALOG:
        raise ConfigError(
            f"{path}.figure", f"unknown figure {rule.figure!r}; see monitor/figures.py for the names"
        )
    if not rule.levels:
        raise ConfigError(f"{path}.levels", "give at least one level")
    for k in rule.match:
        if k not in _LABELS:
            raise ConfigError(f"{path}.match.{k}", f"unknown label; use one of {sorted(_LABELS)}")
    below = rule.op in ("<", "<=")
    prev: float | None = None
    for j, lv in enumerate(rule.levels):
        if lv.clear is not None and (lv.clear < lv.threshold if below else lv.clear > lv.threshold):
            side = "above" if below else "below"
            raise ConfigError(f"{path}.levels[{j}].clear", f"must be {side} the threshold (hysteresis)")
        if prev is not None and (lv.threshold > prev if below else lv.threshold < prev):
            raise ConfigError(f"{path}.levels[{j}].threshold", "levels must get more severe in order")
        prev = lv.threshold
