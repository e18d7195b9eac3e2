"""The CO3 oracle: authenticated webhooks → durable SQLite queue → validation → M-of-N signing → chain.

Why a separate package: the oracle is the only bridge from off-chain observations (AR check-ins, geolocated
social-network events) to on-chain rewards, so every step that turns an HTTP request into tokens lives in one
place that can be reviewed on its own.  See ``docs/oracle.md`` for the operator guide.
"""
