"""Audit toolkit: verify a co3chain/Besu QBFT chain, a governance tally and deployed bytecode without
trusting the node that serves them.

Layers (one job each): :mod:`rpc` (batched JSON-RPC client over any transport), :mod:`headers` (header
JSON → RLP → QBFT/standard hash), :mod:`chainverify` (pure verifier over header dicts: links, constants,
seals, validator-set votes), :mod:`proofs` (Merkle-Patricia proof checks for ``eth_getProof``),
:mod:`receipts` (receipts-root and bloom checks, to catch omitted logs), :mod:`proposal` (tally
recomputation), :mod:`bytecode` / :mod:`contracts` (Sourcify-style full-match verification),
:mod:`report` (JSON + self-contained HTML) and :mod:`cli` (``co3chain audit``).
"""

from co3chain.audit.report import AuditReport, Finding

__all__ = ["AuditReport", "Finding"]
