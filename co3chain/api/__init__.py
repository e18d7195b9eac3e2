"""The thin HTTP API of co3chain: versioned REST under ``/v1``, a relayer for citizens' EIP-712 actions,
an event indexer into SQLite and an SSE feed. ``co3chain api serve`` assembles it from ``api.toml``."""
