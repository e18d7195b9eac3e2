"""Consensus layer: QBFT (Besu-compatible) block format, hashing and the BFT state machine."""
