"""Shared helpers for chain tests (also imported by the crash-test child process)."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_keys import keys
from eth_utils import to_checksum_address

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import Genesis, make_genesis, parse_genesis
from co3chain.chain.vm import QbftBlock
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import sign_commit_seal

CHAIN_ID = 1337
VALIDATOR_KEYS = [bytes([i]) * 32 for i in range(1, 5)]
USER_KEYS = [bytes([0x40 + i]) * 32 for i in range(4)]


def addr(key: bytes) -> bytes:
    return keys.PrivateKey(key).public_key.to_canonical_address()


USERS = [addr(k) for k in USER_KEYS]

# Test contract (hand-assembled runtime):
#   x = calldataload(0); if x == 0: revert(0xdeadbeef)
#   sstore(0, x); log1(mem[0:32] = x, topic = x); return x
PROBE_RUNTIME = bytes.fromhex(
    "6000358060145763deadbeef6000526004601cfd5b806000558060005260206000a160206000f3"
)
PROBE_ADDR = b"\xc0" * 20


def probe_initcode() -> bytes:
    n = len(PROBE_RUNTIME)
    return bytes.fromhex(f"60{n:02x}80600b6000396000f3") + PROBE_RUNTIME


def make_test_genesis(n_validators: int = 1, block_period: int = 1, **extra: Any) -> Genesis:
    vals = [addr(k) for k in VALIDATOR_KEYS[:n_validators]]
    alloc: dict[Any, Any] = {u: 10**24 for u in USERS}
    alloc[PROBE_ADDR] = {"balance": 0, "code": "0x" + PROBE_RUNTIME.hex(), "storage": {"0x0": "0x7"}}
    return parse_genesis(make_genesis(vals, CHAIN_ID, alloc, block_period=block_period, **extra))


def sorted_validator_keys(n: int) -> list[bytes]:
    return sorted(VALIDATOR_KEYS[:n], key=addr)


def sign_tx(key: bytes, chain: NodeChain, **fields: Any) -> bytes:
    """Raw signed tx bytes; legacy by default, EIP-1559 when ``maxFeePerGas`` is given."""
    tx: dict[str, Any] = {"nonce": 0, "gas": 100_000, "value": 0, "chainId": chain.chain_id, "data": b""}
    tx.update(fields)
    if "maxFeePerGas" not in tx and "gasPrice" not in tx:
        tx["gasPrice"] = 0
    if "to" in tx and isinstance(tx["to"], bytes):
        tx["to"] = to_checksum_address(tx["to"])
    return bytes(Account.from_key(key).sign_transaction(tx).raw_transaction)


def decode_tx(chain: NodeChain, raw: bytes) -> Any:
    return chain.vm_class.get_transaction_builder().decode(raw)


def seal_block(block: QbftBlock, signer_keys: list[bytes], round_: int = 0) -> QbftBlock:
    header = block.header
    extra = QbftExtraData.decode(header.extra_data).with_round(round_)
    unsealed = header.copy(extra_data=extra.with_seals([]).encode())
    seals = [sign_commit_seal(k, unsealed, round_) for k in signer_keys]
    return block.copy(header=unsealed.copy(extra_data=extra.with_seals(seals).encode()))


def produce(
    chain: NodeChain, raw_txs: list[bytes], signer_keys: list[bytes] | None = None, round_: int = 0
) -> Any:
    """Build a block from raw txs on the chain's head, seal it with ``signer_keys`` and import it."""
    vals = chain.validators_for_child(chain.head)
    keys_ = signer_keys if signer_keys is not None else [k for k in VALIDATOR_KEYS if addr(k) in vals]
    txs = [decode_tx(chain, r) for r in raw_txs]
    extra = QbftExtraData(validators=vals, round=round_).encode()
    res = chain.build_block(txs, addr(keys_[0]) if keys_ else vals[0], chain.head.timestamp + 1, extra)
    sealed = seal_block(res.block, keys_, round_)
    chain.import_block(sealed)
    return sealed, res


def produce_mixed_transfers(chain: NodeChain) -> Any:
    """A sealed block of three legacy transfers from ``USERS[0]`` and one EIP-1559 transfer from ``USERS[1]``
    on the chain's head (``produce``'s ``(sealed, result)``), every transaction included."""
    raws = [sign_tx(USER_KEYS[0], chain, nonce=n, to=USERS[1], value=1, gas=21_000) for n in range(3)]
    raws.append(sign_tx(USER_KEYS[1], chain, nonce=0, to=USERS[0], value=1, gas=21_000, maxFeePerGas=10**9,
                        maxPriorityFeePerGas=1))
    sealed, res = produce(chain, raws)
    assert len(res.included) == 4, res.rejected
    return sealed, res
