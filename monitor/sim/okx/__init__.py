"""The simulated OKX v5 (USDT-margined swaps): REST `/api/v5/...` and WebSocket `/ws/v5/{public,private}`
on one port, riding on the simulator's replayed market (`venue.OkxVenue`)."""
