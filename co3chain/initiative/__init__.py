"""Citizen initiatives: content hashing, EIP-712 messages, indexing, audit and CLI for CitizenInitiatives."""
