"""Rolling state: fixed-memory history and the latest snapshot of everything collected."""
