"""The block whose state root the proposal and contracts audits trust.

Why a separate step: proofs are only as good as the root they verify against. The header is rebuilt from its
fields (the node's reported hash is ignored) and, on a QBFT chain, its commit seals must come from a quorum of
the validators listed in its extraData. That listed set is itself verified block by block by
``co3chain audit chain``; here a header with too few seals is reported, not trusted silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from co3chain.audit.headers import Header, header_from_json
from co3chain.audit.report import Finding
from co3chain.audit.rpc import RpcClient, RpcError, hex_int
from co3chain.consensus.qbft.extradata import ExtraDataError
from co3chain.consensus.qbft.hashing import SealError, quorum, recover_signer


@dataclass
class Anchor:
    header: Header
    sealed: bool  # QBFT header with a quorum of seals by its listed validators
    findings: list[Finding] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.header.number

    @property
    def state_root(self) -> bytes:
        return self.header.state_root


def fetch_anchor(client: RpcClient, block: int | None = None) -> Anchor:
    """Header of ``block`` (default: the node's head) with its seal check."""
    number = hex_int(client.call("eth_blockNumber"), "eth_blockNumber") if block is None else block
    raw = client.call("eth_getBlockByNumber", hex(number), False)
    if raw is None:
        raise RpcError(f"the node does not know block {number}")
    header = header_from_json(raw)
    return Anchor(header, *_check_seals(header))


def _check_seals(header: Header) -> tuple[bool, list[Finding]]:
    n = header.number
    try:
        extra = header.qbft()
    except ExtraDataError:
        return False, [Finding("unsealed-anchor", "block has no QBFT extraData (not a QBFT chain): its state root "
                                                  "is trusted as reported by the node", n, severity="warning")]
    if n == 0:
        return True, []
    digest = header.commit_seal_digest()
    valset = set(extra.validators)
    signers = set()
    for seal in extra.seals:
        try:
            signer = recover_signer(digest, seal)
        except SealError:
            continue
        if signer in valset:
            signers.add(signer)
    need = quorum(len(valset))
    if len(signers) < need:
        return False, [Finding("unsealed-anchor", f"anchor block has {len(signers)} valid seals, quorum is {need}", n)]
    return True, []
