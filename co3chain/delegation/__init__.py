"""Liquid delegation (issue 11 §4): EIP-712 messages, the counting rule as pure Python, and the audit's replay.

The contract is ``contracts/LiquidDelegation.sol``; docs/delegation.md explains the rule and its trust model.
"""
