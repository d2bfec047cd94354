"""A Binance USDⓈ-M / spot, Bybit v5 and OKX v5 venue simulator that unmodified ccxt clients talk to
over loopback.

  server.py           Simulator: the three aiohttp apps (futures, spot, Bybit), the tick, start/stop
  ccxt_urls.py        point_ccxt_at(): aim a ccxt client at the simulator (or any host)
  testing.py          helpers for tests that need a running simulator
  control.py          SimControl: the scenario handle (prices, shocks, faults, clock) tests script with
  admin.py            the same handle as JSON over HTTP on a loopback port of its own
  scenarios.py        named scenarios for `perpmon sim --scenario`
  standalone.py       `perpmon sim`: run it alone, print URLs and test keys
  listeners.py        the listening sockets (a fault can refuse connections for a while)
market side (every venue rides on it)
  replay.py           real 1-minute BTCUSDT perp bars as a piecewise-linear path
  synthetic.py        seeded GARCH(1,1)-t + jump paths for long runs (same PricePath interface)
  shocks.py           scripted market-wide moves (e.g. −20 % in one minute at t)
  basis.py            an exact OU process (Bybit's venue spread) and its OLS fit
  premium.py          the perp's premium over spot by regime: index, premium index, mark rule
  premium_fit.py      how premium.py's constants were fitted (re-run by a unit test)
  funding.py          the funding formula, settlement grid and history
  market.py           last, index, mark, books, funding per symbol, advanced by the clock
  playback.py         what a replay plays (archive, synthetic, built-in) and how it loops
  quotes.py           the published Quote per symbol and how it is written from the path
  symbols.py          the listed contracts
  klines.py           candles of the past path; rest_klines.py serves them in each venue's shape
shared account and wire pieces
  brackets.py         leverage brackets and the cum recursion
  book.py             accounts and positions (state), opened from config
  replies.py          JSON replies and venue errors
  limits.py           the venues' rate limits
  faults.py           failure injection for tests
  corrupt.py          bad prices (NaN, negative, zero, wrong JSON type) in well-formed frames
  ws_common.py        the socket plumbing both venues' hubs share
Binance USDⓈ-M and spot (binance/: the futures and spot hosts)
  binance/open_interest.py  synthetic open interest and its 5-minute history
  binance/margin.py         maintenance margin, margin balance, margin ratio
  binance/lp_solver.py      the liquidation price by bisection (not the closed form)
  binance/liquidation.py    closing what reached a 100 % margin ratio
  binance/accounts.py       AccountEngine: figures, funding, liquidations, user events
  binance/auth.py           HMAC signatures, timestamps, API keys
  binance/venue.py          what every handler shares
  binance/exchange_info.py  exchangeInfo payloads
  binance/rest_futures.py   public fapi endpoints
  binance/rest_account.py   signed fapi endpoints and listenKeys
  binance/account_payloads.py positionRisk / account / balance / brackets payloads
  binance/rest_spot.py      api/v3 and sapi endpoints
  binance/rest_extra.py     fapi depth, spot 24 h ticker, batchOrders cancel (ccxt's request log)
  binance/depth.py          book levels behind REST depth and the @depth<N> streams
  binance/streams.py        market stream payloads and cadences
  binance/ws.py             WebSocket layouts, SUBSCRIBE, fan-out, keep-alive
  binance/userstream.py     listenKeys and user-data delivery
  binance/events.py         ACCOUNT_UPDATE / ORDER_TRADE_UPDATE / MARGIN_CALL payloads
Bybit v5 (one host: REST and WebSocket, its own faults)
  bybit/venue.py      BybitVenue: market, engine, keys, faults, funding; rides on the Simulator's tick
  bybit/symbols.py    the listed linear perps (one hourly), risk-limit tiers, venue premium parameters
  bybit/market.py     the Binance prices × Bybit's own spread; its mark and funding on its own grid
  bybit/margin.py     mark-valued positionMM/IM (2025-09-02), isolated and cross liqPrice, bankruptcy price
  bybit/accounts.py   BybitAccountEngine: unified accounts, liquidations, funding, private pushes
  bybit/views.py      the position, wallet and liquidation views the engine publishes
  bybit/auth.py       X-BAPI-* signing, the `auth` op, retCode errors
  bybit/payloads.py   envelope, instruments, tickers, books, risk limits, funding
  bybit/account_payloads.py positions, executions, wallet, account info, key reads
  bybit/rest.py       /v5 REST endpoints
  bybit/ws.py         /v5/public/{linear,spot} tickers (snapshot, deltas) and /v5/private
"""
