"""The typed records of `config.toml`, one frozen msgspec struct per section.

Unknown keys are forbidden and every number is constrained here, so a typo or a negative size fails
at decode time with the key path; what a schema cannot say (references, pairs of keys) is in
`checks.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from monitor.venues import Kind, Simulated

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Fraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Symbol = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9_]{1,31}$")]  # COIN-M: BTCUSD_PERP
# "*": all the venue lists
SymbolOrAll = Annotated[str, msgspec.Meta(pattern=r"^([A-Z0-9][A-Z0-9_]{1,31}|\*)$")]
Asset = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,16}$")]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z_][A-Z0-9_]*$")]
Address = Annotated[str, msgspec.Meta(pattern=r"^0x[0-9a-fA-F]{40}$")]  # a wallet (Hyperliquid)
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
    # where a person reaches this daemon (behind a proxy, a DNS name): alerts link to <external_url>/status
    external_url: str | None = None


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
    # its key's variables: required on the simulated Binance and Bybit; none on Hyperliquid (by address)
    api_key_env: EnvName | None = None
    api_secret_env: EnvName | None = None
    wallet_usdt: NonNegativeFloat  # the cross wallet; isolated wallets come on top of it
    # other assets in the futures wallet (USDC, BNB, BTC …): listed per asset; in single-asset mode
    # they are not USDT margin, so the USDT totals and the liquidation engine ignore them
    other_assets: dict[Asset, NonNegativeFloat] = {}
    positions: tuple[SimPositionConfig, ...] = ()
    # which simulated venue holds the account: Binance USDⓈ-M (fapi), Bybit v5 (unified, linear),
    # Binance COIN-M (dapi: `other_assets` are the coin wallets, positions' `qty` signed contracts),
    # Hyperliquid (read by address `sim.hyperliquid.accounts.hl_address(name)`: the key names go
    # unused) or OKX v5
    venue: Simulated = "binance"
    api_password_env: EnvName | None = None  # okx: the key's passphrase (required there)
    # okx: the account mode (`acctLv`): 2 single-currency margin (modelled); 3 multi-currency and
    # 4 portfolio margin are served so that perpmon can be seen naming them as not modelled
    okx_acct_lv: Literal[2, 3, 4] = 2
    # the flags `GET /sapi/v1/account/apiRestrictions` reports true for this key (others false)
    permissions: tuple[ApiPermission, ...] = ("enableReading",)


class SimLimitsConfig(_Cfg, frozen=True, kw_only=True):
    """The venues' own rate limits, as the simulator enforces them (monitor/sim/limits.py); the
    defaults are the published ones, tests set them low to reach a 429 in a few calls."""

    weight_per_min_futures: PositiveInt = 2400  # fapi REQUEST_WEIGHT per minute per IP
    weight_per_min_spot: PositiveInt = 6000  # api (spot) REQUEST_WEIGHT per minute per IP
    ban_s: PositiveFloat = 120.0  # the first 418 (IP ban) lasts 2 min, doubling per repeat up to 3 days
    ws_connects_per_5min: PositiveInt = 300  # Binance WebSocket connection attempts per 5 min per IP
    ws_connects_window_s: PositiveFloat = 300.0  # … over this window (tests shorten it)
    # a request or handshake arriving this soon (wall time) after a 429 was in flight when it went
    # out: answered 429 again, not banned; 0: every one inside the Retry-After earns the 418
    inflight_grace_s: NonNegativeFloat = 0.25
    funding_per_5min: PositiveInt = 500  # fapi fundingRate + fundingInfo calls per 5 min per IP (own bucket)
    ws_messages_per_s_futures: PositiveInt = 10  # incoming messages per second per connection
    ws_messages_per_s_spot: PositiveInt = 5
    bybit_ip_per_5s: PositiveInt = 600  # Bybit HTTP requests per 5 s per IP, then 403 for `bybit_ban_s`
    bybit_ban_s: PositiveFloat = 600.0
    bybit_ws_connects_per_5min: PositiveInt = 500  # Bybit WebSocket connection attempts per 5 min per IP
    bybit_api_per_s: NonNegativeInt = 0  # 0: each signed endpoint's documented per-UID limit; N: all N/s


class SimulatorConfig(_Cfg, frozen=True, kw_only=True):
    enabled: bool = False
    host: str = "127.0.0.1"
    futures_port: Port = 0  # fapi + fstream; 0: any free port
    spot_port: Port = 0  # api + stream (spot is another host at the real venue)
    bybit_port: Port = 0  # Bybit v5 REST (/v5/...) and WebSocket (/v5/public/..., /v5/private) on one port
    hyperliquid_port: Port = 0  # Hyperliquid `POST /info` and its `/ws` socket
    okx_port: Port = 0  # OKX v5 REST (/api/v5/...) and WebSocket (/ws/v5/public, /ws/v5/private) on one port
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
    limits: SimLimitsConfig = SimLimitsConfig()


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
    # the variables holding its API key and secret: required, except on a venue read by address
    api_key_env: EnvName | None = None
    api_secret_env: EnvName | None = None
    # a venue read by address (Hyperliquid): the wallet whose state is read. Public, not a secret: no key
    address: Address | None = None
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
