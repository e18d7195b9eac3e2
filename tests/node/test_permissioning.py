"""Account permissioning: static lists, the on-chain ConsortiumValidators allow-list, the bootstrap rule,
pool admission, eviction on revocation, and rejection of proposals carrying a refused sender's tx."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import rlp
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import GenesisError, load_genesis, make_genesis, parse_genesis
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.contracts.compiler import load_artifact
from co3chain.keys import load_private_key, read_password
from co3chain.node.cli import init_network
from co3chain.node.config import ConfigError, NodeConfig, RpcConfig, load_config, parse_config
from co3chain.node.permissioning import AccountNotPermitted, AccountPermissioning
from co3chain.node.qbft_driver import DriverSettings, EvmBlock, QbftDriver
from co3chain.node.service import NodeService
from co3chain.node.txpool import SERVER_ERROR, TxPool, TxPoolError
from tests.chain.helpers import (
    CHAIN_ID,
    PROBE_ADDR,
    USER_KEYS,
    USERS,
    VALIDATOR_KEYS,
    addr,
    decode_tx,
    make_test_genesis,
    produce,
    seal_block,
    sign_tx,
)
from tests.node.procs import NodeProcess, free_port

VKEY = VALIDATOR_KEYS[0]
VALIDATOR = addr(VKEY)


def contract_address(deployer: bytes, nonce: int) -> bytes:
    """CREATE address: where the deployer's ``nonce``-th transaction puts its contract."""
    return keccak(rlp.encode([deployer, nonce]))[12:]


#: The validator deploys ConsortiumValidators with its first transaction.
CONTRACT = contract_address(VALIDATOR, 0)


def deploy_tx(chain: NodeChain, key: bytes = VKEY, members: list[bytes] | None = None) -> bytes:
    """The validator's first transaction: deploy ConsortiumValidators(members or [validator])."""
    art = load_artifact("ConsortiumValidators")
    code = bytes.fromhex(art["bytecode"].removeprefix("0x")) + encode(["address[]"], [members or [addr(key)]])
    return sign_tx(key, chain, nonce=0, gas=5_000_000, data=code)


def allow_tx(chain: NodeChain, nonce: int, account: bytes, allowed: bool, key: bytes = VKEY,
             contract: bytes | None = None) -> bytes:
    """A vote of ``key`` (a member of the contract) to allow or refuse ``account``."""
    data = function_signature_to_4byte_selector("allowAccount(address,bool)") + encode(
        ["address", "bool"], [account, allowed]
    )
    to = contract or contract_address(addr(key), 0)
    return sign_tx(key, chain, nonce=nonce, to=to, gas=300_000, data=data)


def transfer(chain: NodeChain, key: bytes, nonce: int = 0) -> bytes:
    return sign_tx(key, chain, nonce=nonce, to=b"\x11" * 20, value=0)


def setup(**genesis_extra: Any) -> tuple[NodeChain, TxPool, AccountPermissioning]:
    """In-memory chain (one validator) + pool wired exactly as the node service does it."""
    genesis = make_test_genesis(account_permissioning_contract=CONTRACT, **genesis_extra)
    chain = NodeChain.open(None, genesis)
    cfg = NodeConfig(path=None, data_dir=None, genesis=Path("genesis.json"))
    perm = AccountPermissioning.from_config(chain, genesis, cfg)
    assert perm is not None
    pool = TxPool(chain, allowlist=perm)
    perm.attach_pool(pool)
    chain.add_import_listener(pool.on_block_imported)
    chain.add_import_listener(perm.on_block_imported)
    return chain, pool, perm


def refused(pool: TxPool, raw: bytes) -> TxPoolError:
    with pytest.raises(TxPoolError) as exc:
        pool.add(raw)
    return exc.value


def mine(chain: NodeChain, pool: TxPool) -> Any:
    """Seal the pool's pending transactions into the next block (as the single-validator producer)."""
    txs = pool.select_for_block(chain.head.gas_limit)
    extra = QbftExtraData(validators=chain.validators_for_child(chain.head)).encode()
    res = chain.build_block(txs, VALIDATOR, chain.head.timestamp + 1, extra)
    assert not res.rejected, res.rejected
    sealed = seal_block(res.block, [VKEY])
    chain.import_block(sealed)
    return sealed


# -- bootstrap rule ---------------------------------------------------------------------------------------
def test_before_deployment_no_static_list_allows_everyone() -> None:
    chain, pool, perm = setup()
    assert not perm.uses_contract()
    pool.add(transfer(chain, USER_KEYS[1]))
    assert perm.is_allowed(USERS[2])


def test_before_deployment_genesis_list_applies_and_validators_always_pass() -> None:
    chain, pool, perm = setup(account_allowlist=[USERS[0]])
    pool.add(transfer(chain, USER_KEYS[0]))
    err = refused(pool, transfer(chain, USER_KEYS[1]))
    assert (err.code, err.message) == (SERVER_ERROR, "sender not allow-listed")
    pool.add(deploy_tx(chain))  # the validator is not in the genesis list, yet may deploy
    mine(chain, pool)
    assert perm.uses_contract()
    # from the deployment block on, the contract decides: USERS[0] (genesis-listed) is now refused
    assert refused(pool, transfer(chain, USER_KEYS[0], 1)).message == "sender not allow-listed"


def test_local_list_only_filters_this_nodes_admission_in_fallback() -> None:
    genesis = make_test_genesis()
    chain = NodeChain.open(None, genesis)
    cfg = NodeConfig(path=None, data_dir=None, genesis=Path("g.json"), allowed_accounts=(USERS[0],))
    perm = AccountPermissioning.from_config(chain, genesis, cfg)
    assert perm is not None
    assert perm(USERS[0]) and not perm(USERS[1]) and perm(VALIDATOR)
    assert perm.is_allowed(USERS[1])  # the network rule (blocks) ignores node-local lists


def test_nothing_configured_means_no_permissioning() -> None:
    genesis = make_test_genesis()
    chain = NodeChain.open(None, genesis)
    cfg = NodeConfig(path=None, data_dir=None, genesis=Path("g.json"))
    assert AccountPermissioning.from_config(chain, genesis, cfg) is None


# -- on-chain allow-list ----------------------------------------------------------------------------------
def test_on_chain_allow_then_revoke() -> None:
    chain, pool, perm = setup()
    pool.add(deploy_tx(chain))
    mine(chain, pool)
    assert chain.state_at().get_code(CONTRACT) and perm.uses_contract()

    err = refused(pool, transfer(chain, USER_KEYS[1]))
    assert (err.code, err.message) == (SERVER_ERROR, "sender not allow-listed")

    pool.add(allow_tx(chain, 1, USERS[1], True))
    assert refused(pool, transfer(chain, USER_KEYS[1])).message == "sender not allow-listed"  # not yet
    mine(chain, pool)
    pool.add(transfer(chain, USER_KEYS[1]))  # accepted after the block that allowed it
    mine(chain, pool)
    assert chain.state_at().get_nonce(USERS[1]) == 1

    # a tx admitted while allowed, then revoked before it is mined: evicted with the revocation block
    queued = transfer(chain, USER_KEYS[1], 1)
    pool.add(queued)
    revoke = decode_tx(chain, allow_tx(chain, 2, USERS[1], False))
    block, _ = produce(chain, [allow_tx(chain, 2, USERS[1], False)], [VKEY])
    assert revoke.hash in {t.hash for t in block.transactions}
    assert decode_tx(chain, queued).hash not in pool
    assert refused(pool, transfer(chain, USER_KEYS[1], 1)).message == "sender not allow-listed"
    assert perm(VALIDATOR)  # validators are always allowed


def test_one_member_alone_cannot_change_the_allow_list() -> None:
    """Issue 10, defect 3 at the node: with three PA members in the contract, one vote admits nobody and
    cuts nobody off; the second (the majority) does, and the node follows from that block on."""
    chain, pool, perm = setup()
    members = [VALIDATOR, USERS[2], USERS[3]]
    pool.add(deploy_tx(chain, members=members))
    mine(chain, pool)
    assert perm(USERS[2]) and perm(USERS[3])  # members of the contract are allowed
    assert not perm(USERS[1])

    pool.add(allow_tx(chain, 1, USERS[1], True))  # the node's validator votes alone
    mine(chain, pool)
    assert refused(pool, transfer(chain, USER_KEYS[1])).message == "sender not allow-listed"
    pool.add(allow_tx(chain, 0, USERS[1], True, key=USER_KEYS[2], contract=CONTRACT))  # 2 of 3
    mine(chain, pool)
    pool.add(transfer(chain, USER_KEYS[1]))
    mine(chain, pool)
    assert chain.state_at().get_nonce(USERS[1]) == 1

    # A single member cannot cut the account (e.g. the relayer) off either.
    pool.add(allow_tx(chain, 1, USERS[1], False, key=USER_KEYS[3], contract=CONTRACT))
    mine(chain, pool)
    pool.add(transfer(chain, USER_KEYS[1], 1))
    mine(chain, pool)
    assert chain.state_at().get_nonce(USERS[1]) == 2


def test_verdicts_are_cached_per_block_and_carried_over_unrelated_blocks() -> None:
    chain, pool, perm = setup()
    pool.add(deploy_tx(chain))
    mine(chain, pool)
    calls: list[bytes] = []
    real = perm._ask_contract

    def spy(sender: bytes, header: Any) -> bool:
        calls.append(sender)
        return real(sender, header)

    perm._ask_contract = spy  # type: ignore[method-assign]
    for _ in range(3):
        assert not perm(USERS[2])
    assert calls == [USERS[2]]  # once per sender per block
    produce(chain, [transfer(chain, VKEY, 1)], [VKEY])  # no log from the contract: verdict carried over
    assert not perm(USERS[2]) and calls == [USERS[2]]
    produce(chain, [allow_tx(chain, 2, USERS[3], True)], [VKEY])  # the allow-list changed: asked again
    assert not perm(USERS[2]) and perm(USERS[3])
    assert calls.count(USERS[2]) == 2


def test_wrong_contract_fails_closed_for_accounts_but_not_validators() -> None:
    genesis = make_test_genesis(account_permissioning_contract=PROBE_ADDR)  # code, but no isAccountAllowed
    chain = NodeChain.open(None, genesis)
    perm = AccountPermissioning(chain, contract=PROBE_ADDR)
    assert perm.uses_contract()
    assert not perm(USERS[0]) and perm(VALIDATOR)


# -- block validation -------------------------------------------------------------------------------------
def proposal(chain: NodeChain, raw_txs: list[bytes]) -> Any:
    vals = chain.validators_for_child(chain.head)
    extra = QbftExtraData(validators=vals).encode()
    res = chain.build_block([decode_tx(chain, r) for r in raw_txs], VALIDATOR, chain.head.timestamp + 1, extra)
    assert not res.rejected
    return res.block


def test_proposal_with_refused_sender_is_rejected(tmp_path: Path) -> None:
    chain, pool, perm = setup()
    produce(chain, [deploy_tx(chain)], [VKEY])
    bad = proposal(chain, [transfer(chain, USER_KEYS[2])])
    with pytest.raises(AccountNotPermitted, match="not allowed by account permissioning"):
        perm.check_block(bad)
    good = proposal(chain, [transfer(chain, VKEY, 1)])
    perm.check_block(good)

    driver = QbftDriver(chain, pool, VKEY, DriverSettings(p2p_port=0, data_dir=tmp_path))
    driver.permissioning = perm
    assert driver.validate_block(EvmBlock(good)) is True
    assert driver.validate_block(EvmBlock(bad)) is False
    # the builder side: a refused sender's txs are left out, the others kept
    txs = [decode_tx(chain, transfer(chain, USER_KEYS[2])), decode_tx(chain, transfer(chain, VKEY, 1))]
    assert [t.hash for t in perm.filter_transactions(txs)] == [txs[1].hash]
    # the proposer's block filler applies it (a pool without the admission check, as after an on-chain
    # revocation): the refused sender's transaction stays out of the block and is not offered again
    open_pool = TxPool(chain)
    driver.filler.txpool = open_pool
    for tx in txs:
        open_pool.add_transaction(tx)
    builder = driver.filler.open(chain.head.timestamp + 1, QbftExtraData(validators=[VALIDATOR]).encode())
    assert driver.filler.fill(builder) == 1
    assert [t.hash for t in builder.included] == [txs[1].hash] and not builder.rejected
    assert txs[0].hash in builder.seen and driver.filler.fill(builder) == 0


def test_proposal_before_deployment_uses_the_genesis_list() -> None:
    chain, _pool, perm = setup(account_allowlist=[USERS[0]])
    perm.check_block(proposal(chain, [transfer(chain, USER_KEYS[0]), deploy_tx(chain)]))
    with pytest.raises(AccountNotPermitted):
        perm.check_block(proposal(chain, [transfer(chain, USER_KEYS[1])]))


# -- configuration ----------------------------------------------------------------------------------------
def test_config_and_genesis_keys(tmp_path: Path) -> None:
    c = "0x" + CONTRACT.hex()
    cfg = parse_config({"node": {"genesis": "g.json"}, "permissions": {"contract": c}}, tmp_path)
    assert cfg.permissioning_contract == CONTRACT
    with pytest.raises(ConfigError, match="contract"):
        parse_config({"node": {"genesis": "g.json"}, "permissions": {"contract": "0x12"}}, tmp_path)
    g = make_genesis([VALIDATOR], CHAIN_ID, account_permissioning_contract=CONTRACT)
    assert g["config"]["co3chain"]["accountPermissioningContract"] == to_checksum_address(CONTRACT)
    assert parse_genesis(g).account_permissioning_contract == CONTRACT
    g["config"]["co3chain"]["accountPermissioningContract"] = 5
    with pytest.raises(GenesisError, match="accountPermissioningContract"):
        parse_genesis(g)

    genesis = make_test_genesis(account_permissioning_contract=CONTRACT)
    chain = NodeChain.open(None, genesis)
    other = dataclasses.replace(cfg, permissioning_contract=b"\x22" * 20)
    with pytest.raises(ConfigError, match="differs from genesis"):
        AccountPermissioning.from_config(chain, genesis, other)
    assert AccountPermissioning.from_config(chain, genesis, cfg).contract == CONTRACT  # type: ignore[union-attr]


# -- the node service over JSON-RPC -----------------------------------------------------------------------
def _jsonrpc(url: str, method: str, *params: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return httpx.post(url, json=body, timeout=30).json()


def _wait_receipt(url: str, tx_hash: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = _jsonrpc(url, "eth_getTransactionReceipt", tx_hash)["result"]
        if r is not None:
            return r
        time.sleep(0.2)
    raise AssertionError(f"no receipt for {tx_hash}")


def _scenario_over_rpc(url: str, chain: NodeChain, vkey: bytes) -> None:
    """Deploy (bootstrap rule), refuse, allow, accept, revoke, refuse — all through eth_sendRawTransaction."""
    user = USER_KEYS[1]

    def send(raw: bytes) -> dict[str, Any]:
        return _jsonrpc(url, "eth_sendRawTransaction", "0x" + raw.hex())

    r = send(deploy_tx(chain, vkey))
    assert _wait_receipt(url, r["result"])["status"] == "0x1"
    err = send(transfer(chain, user))["error"]
    assert err == {"code": -32000, "message": "sender not allow-listed"}
    r = send(allow_tx(chain, 1, addr(user), True, vkey))
    assert _wait_receipt(url, r["result"])["status"] == "0x1"
    r = send(transfer(chain, user))
    assert _wait_receipt(url, r["result"])["status"] == "0x1"
    r = send(allow_tx(chain, 2, addr(user), False, vkey))
    assert _wait_receipt(url, r["result"])["status"] == "0x1"
    assert send(transfer(chain, user, 1))["error"]["message"] == "sender not allow-listed"


def _permissioned_network(tmp_path: Path) -> tuple[Path, bytes]:
    """A one-validator network whose node config names the (future) contract address."""
    init_network(
        tmp_path / "net", 1, CHAIN_ID, rpc_port=free_port(), p2p_port=free_port(), alloc=dict.fromkeys(USERS, 10**24)
    )
    node_dir = tmp_path / "net" / "node1"
    key = load_private_key(node_dir / "key.json", read_password(node_dir / "password"))
    cfg_path = node_dir / "config.toml"
    contract = contract_address(addr(key), 0)
    cfg_path.write_text(
        cfg_path.read_text() + f'\n[permissions]\ncontract = "{to_checksum_address(contract)}"\n'
    )
    assert tomllib.loads(cfg_path.read_text())["permissions"]["contract"]
    return cfg_path, key


def test_node_service_enforces_on_chain_allowlist_over_rpc(tmp_path: Path) -> None:
    cfg_path, key = _permissioned_network(tmp_path)
    cfg = dataclasses.replace(load_config(cfg_path), rpc=RpcConfig(host="127.0.0.1", port=0))

    async def run() -> None:
        svc = NodeService(cfg)
        await svc.start()
        try:
            assert svc.permissioning is not None and svc.producer is not None
            assert svc.producer.permissioning is svc.permissioning  # type: ignore[attr-defined]
            url = f"http://127.0.0.1:{svc.rpc_port}"
            await asyncio.to_thread(_scenario_over_rpc, url, svc.chain, key)
        finally:
            await svc.stop()

    asyncio.run(run())


@pytest.mark.slow
def test_node_process_enforces_on_chain_allowlist(tmp_path: Path) -> None:
    cfg_path, key = _permissioned_network(tmp_path)
    cfg = load_config(cfg_path)
    node = NodeProcess(cfg_path, f"http://127.0.0.1:{cfg.rpc.port}", tmp_path / "node.log")
    node.start()
    chain = NodeChain.open(None, load_genesis(cfg.genesis))  # only to sign with the right chain id
    try:
        _scenario_over_rpc(node.url, chain, key)
    finally:
        assert node.terminate() == 0
        chain.close()
