"""Cross-field checks a schema cannot say: names unique, references resolve, keys that go in pairs
or belong to one type, files that must load. Each raises ConfigError with the key path."""

from __future__ import annotations

import ssl

from monitor.config.records import (
    AccountConfig,
    Config,
    EvaluationConfig,
    HttpConfig,
    MqttConfig,
    ReceiverConfig,
    RuleConfig,
    SimulatorConfig,
    VenueConfig,
)
from monitor.errors import ConfigError
from monitor.venues import VENUES, Venue, simulated_as, spoken, venue_of


def _check_http(h: HttpConfig) -> None:
    """The web config loads, and a bind beyond loopback has TLS and authentication (monitor/webconfig.py)."""
    from monitor.webconfig import bind_problem, load_web_config

    web = load_web_config(h.web_config_file) if h.web_config_file is not None else None
    problem = bind_problem(h.host, web, h.allow_insecure_bind)
    if problem:
        raise ConfigError("http.host", problem)
    if h.external_url is not None:
        _check_external_url(h.external_url)


def _check_external_url(url: str) -> None:
    """An http(s) URL of a host, without a login or a query: it is printed into every alert."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("http.external_url", f"must be an http:// or https:// URL of a host, got {url!r}")
    if parts.username or parts.password:
        raise ConfigError("http.external_url", "must not carry a login: it is printed into every alert")
    if parts.query or parts.fragment:
        raise ConfigError("http.external_url", "must not carry a query or a fragment")


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
        _check_account_access(a, venue_of(venues[a.venue]), spoken(venues[a.venue]), f"accounts[{i}]")
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
    by_address = {x.simulated_as for x in VENUES if x.reads_by_address}  # Hyperliquid's
    for i, sa in enumerate(cfg.simulator.accounts):
        keyed = sa.venue not in by_address
        for key in ("api_key_env", "api_secret_env"):
            if keyed and getattr(sa, key) is None:
                raise ConfigError(f"simulator.accounts[{i}].{key}", f"required on the simulated {sa.venue}")
            if not keyed and getattr(sa, key) is not None:
                raise ConfigError(
                    f"simulator.accounts[{i}].{key}", f"the simulated {sa.venue} reads by address: no key"
                )
        if sa.venue == "okx" and sa.api_password_env is None:  # an OKX key is key, secret and passphrase
            raise ConfigError(f"simulator.accounts[{i}].api_password_env", "an OKX key needs its passphrase")
        for j, p in enumerate(sa.positions):
            if p.qty == 0:
                raise ConfigError(f"simulator.accounts[{i}].positions[{j}].qty", "must not be zero")
    _check_universe(cfg)
    _check_replay(cfg.simulator)


def _check_replay(sim: SimulatorConfig) -> None:
    """A replay folder is read and checked with the config: a bad file stops start-up with its line.

    The simulator is imported only when it is enabled: a production start loads none of it.
    """
    if not sim.enabled:
        return
    from monitor.sim.archive import ArchiveError, load_user_replay, user_paths
    from monitor.sim.replay import EVENTS

    if sim.replay in EVENTS:
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


def _check_account_access(a: AccountConfig, venue_kind: Venue, venue: Venue, path: str) -> None:
    """A keyed venue needs both key variables; a venue read by address needs the address and no key."""
    if venue.reads_by_address:
        if venue_kind.by_exchange_id:
            why = f"the generic ccxt collector reads with a key; {venue.name} reads by address: use its kind"
            raise ConfigError(f"{path}.venue", why)
        if a.address is None:
            why = f"{venue.name} accounts are read by wallet address (0x and 40 hex digits)"
            raise ConfigError(f"{path}.address", why)
        for key in ("api_key_env", "api_secret_env", "api_password_env"):
            if getattr(a, key) is not None:
                why = f"{venue.name} reads need no key (the address is public): perpmon holds no unused key"
                raise ConfigError(f"{path}.{key}", why)
        return
    if a.address is not None:
        raise ConfigError(
            f"{path}.address", f"only for venues read by address; {venue.name} reads with a key"
        )
    for key in ("api_key_env", "api_secret_env"):
        if getattr(a, key) is None:
            why = f"required: the variable holding the account's {venue.name} API key or secret"
            raise ConfigError(f"{path}.{key}", why)


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
        *rest, last = [x.name for x in sims]
        names = f"{', '.join(rest)} and {last}" if rest else last
        ids = ", ".join(x.ccxt_ids[0] for x in sims)
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
