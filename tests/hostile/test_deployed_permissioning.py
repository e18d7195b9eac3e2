"""Finding 3, the default: after ``co3chain network up --deploy`` a consortium network admits transactions
only from allow-listed accounts. A fresh key's transaction is refused by the node; an account the deploy
allow-listed (a development oracle signer) and one given with ``--allow-account`` get theirs included;
validators keep sending (the deploy itself)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from co3chain.contracts.demo import dev_oracle_accounts
from co3chain.node import localnet
from co3chain.node.localnet import LocalnetError, rpc_call
from tests.network.netutil import free_port_block, wait_until

pytestmark = pytest.mark.slow

RELAYER = Account.from_key(b"\x5e" * 32)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    net_dir = tmp_path_factory.mktemp("permnet") / "net"
    try:
        summary = localnet.network_up(net_dir, 1, chain_id=4343, rpc_port=free_port_block(2),
                                      p2p_port=free_port_block(2), deploy=True, allow_accounts=(RELAYER.address,),
                                      base_fee=0,  # free gas: this test is about who may send, not fees
                                      timeout=120, say=lambda _m: None)
        yield summary
    finally:
        localnet.network_down(net_dir, say=lambda _m: None)


def _send(url: str, acct: Any, nonce: int = 0) -> str:
    tx = {"to": "0x000000000000000000000000000000000000dEaD", "value": 0, "gas": 21_000, "gasPrice": 0, "nonce": nonce, "chainId": 4343}
    return rpc_call(url, "eth_sendRawTransaction", "0x" + bytes(acct.sign_transaction(tx).raw_transaction).hex())


def test_deploy_turns_account_permissioning_on(deployed: dict[str, Any]) -> None:
    url = deployed["nodes"][0]["rpc"]
    perm = deployed["accountPermissioning"]
    assert perm["contract"] == deployed["contracts"]["ConsortiumValidators"]
    with pytest.raises(LocalnetError, match="not allow-listed"):
        _send(url, Account.from_key(b"\x77" * 32))
    for acct in (dev_oracle_accounts()[0], RELAYER):
        assert acct.address in perm["allowed"]
        tx_hash = _send(url, acct)
        receipt = wait_until(lambda h=tx_hash: rpc_call(url, "eth_getTransactionReceipt", h), 30, "receipt")
        assert receipt["status"] == "0x1"


def test_second_up_keeps_it_on_without_restarting(deployed: dict[str, Any], tmp_path: Path) -> None:
    net_dir = Path(deployed["dir"])
    pids = [n.pid() for n in localnet.load_nodes(net_dir)]
    again = localnet.network_up(net_dir, 1, deploy=True, say=lambda _m: None)
    assert again["accountPermissioning"]["contract"] == deployed["accountPermissioning"]["contract"]
    assert [n.pid() for n in localnet.load_nodes(net_dir)] == pids
    with pytest.raises(LocalnetError, match="not allow-listed"):
        _send(deployed["nodes"][0]["rpc"], Account.from_key(b"\x78" * 32))
