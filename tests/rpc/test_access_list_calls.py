"""eth_call / eth_estimateGas honour ``accessList`` (issue 15, bug 2).

Before the fix the list was parsed and dropped, so the estimate lacked the access-list intrinsic gas
(2,400 per address, 1,900 per key) and a type-1 transaction sent with it ran out of gas.
"""

from __future__ import annotations

from tests.rpc.conftest import USER_KEYS, Node
from tests.rpc.test_methods import A0, COUNT, deploy_counter, err, inc_data

OTHER = "0x" + "ab" * 20
KEYS = ["0x" + f"{i:064x}" for i in range(5)]


def test_estimate_includes_access_list_and_tx_succeeds(node: Node) -> None:
    addr = deploy_counter(node)
    access_list = [{"address": OTHER, "storageKeys": KEYS}, {"address": addr, "storageKeys": [KEYS[0]]}]
    call = {"from": A0, "to": addr, "data": inc_data(3)}
    plain = int(node.call("eth_estimateGas", call), 16)
    with_list = int(node.call("eth_estimateGas", {**call, "accessList": access_list}), 16)
    # 2 addresses + 6 keys of intrinsic gas; the counter's slot 0 starts warm (saves 2,000 on SLOAD)
    assert with_list > plain + 2 * 2400 + 6 * 1900 - 2100
    raw = node.sign(
        USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(3)[2:]), gas=with_list, accessList=access_list, type=1
    )
    h = node.call("eth_sendRawTransaction", raw)
    node.seal()
    receipt = node.call("eth_getTransactionReceipt", h)
    assert receipt["type"] == "0x1" and receipt["status"] == "0x1"
    assert int(receipt["gasUsed"], 16) <= with_list


def test_call_charges_access_list_intrinsic_gas(node: Node) -> None:
    addr = deploy_counter(node)
    access_list = [{"address": OTHER, "storageKeys": KEYS}]
    call = {"from": A0, "to": addr, "data": COUNT, "gas": hex(30_000)}
    assert int(node.call("eth_call", call), 16) == 0  # enough gas without the list
    e = err(node.rpc("eth_call", {**call, "accessList": access_list}))
    assert e["code"] == -32000 and "intrinsic gas" in e["message"].lower(), e
