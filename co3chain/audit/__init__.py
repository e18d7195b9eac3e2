"""Audit toolkit: verify a co3chain/Besu QBFT chain, a governance tally and deployed bytecode without
trusting the node that serves them.

Layers (one job each): :mod:`rpc` (batched JSON-RPC client over any transport), :mod:`headers` (header
JSON → RLP → QBFT/standard hash), :mod:`genesis_check` (block 0 rebuilt from the genesis file),
:mod:`chainverify` (pure verifier over header dicts: links, constants, seals, validator-set votes),
:mod:`replay` (re-execution of every block from the genesis with py-evm; checkpoints), :mod:`proofs`
(Merkle-Patricia proof checks for ``eth_getProof``), :mod:`receipts` (receipts-root and bloom checks, to
catch omitted logs), :mod:`proposal` (tally recomputation), :mod:`bytecode` / :mod:`contracts`
(Sourcify-style full-match verification), :mod:`powers` (role holders and the decisions behind rule
changes), :mod:`report` (findings, JSON), :mod:`plain` (plain-language verdicts, terminal and HTML) and
:mod:`cli` (``co3chain audit``).
"""

from co3chain.audit.report import AuditReport, Finding

__all__ = ["AuditReport", "Finding"]
