"""A registry + token + treasury + participatory-budget suite on eth-tester, wired as the deploy script does.

Actors: accounts[0] admin (stands for the executor), [1] registrar, [2] PA officer (PROPOSER_ROLE),
[3] relayer, [4] project payee, [5:] citizens registered one year ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract import Contract

from tests.contracts.suite_helpers import latest_time, next_block_at, role, send

DAY = 24 * 3600
AREA = 1  # created in build_budget_suite, managed by the officer
FUNDING = 10**24


@dataclass
class BudgetSuite:
    w3: Web3
    tester: Any
    admin: Any
    registrar: Any
    officer: Any
    relayer: Any
    payee: Any
    citizens: list[Any]
    registry: Contract
    token: Contract
    treasury: Contract
    pb: Contract

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def now(self) -> int:
        return latest_time(self.w3)

    def travel(self, timestamp: int) -> None:
        next_block_at(self.tester, timestamp)

    def create_round(
        self,
        costs: Sequence[int],
        *,
        budget: int,
        kind: int = 0,
        max_choices: int = 0,
        start_in: int = 10,
        window: int = 2 * DAY,
        area: int = AREA,
    ) -> tuple[int, int, int]:
        """Open a round; returns (round id, vote start, vote end)."""
        start = self.now() + start_in
        end = start + window
        projects = [(c, self.payee.address, Web3.keccak(text=f"project {i}")) for i, c in enumerate(costs)]
        fn = self.pb.functions.createRound(area, budget, start, end, kind, max_choices, b"\x11" * 32, projects)
        send(fn, self.officer)
        return int(self.pb.functions.roundCount().call()), start, end


def build_budget_suite(w3: Web3, accounts: list[Any], deploy: Callable[..., Contract], tester: Any) -> BudgetSuite:
    admin, registrar, officer, relayer, payee = accounts[:5]
    citizens = accounts[5:]
    registry = deploy("CitizenRegistry", admin.address, sender=admin)
    token = deploy("CommonsToken", admin.address, sender=admin)
    areas = deploy("CommoningAreas", admin.address, sender=admin)
    treasury = deploy("CommonsTreasury", admin.address, token.address, sender=admin)
    pb = deploy("ParticipatoryBudget", admin.address, registry.address, areas.address, treasury.address, DAY,
                sender=admin)
    send(areas.functions.grantRole(role("AREA_MANAGER_ROLE"), admin.address), admin)
    send(areas.functions.createArea(officer.address, b"\x01" * 32, "ipfs://area-1"), admin)  # AREA
    send(areas.functions.createArea(registrar.address, b"\x02" * 32, "ipfs://area-2"), admin)  # another PA's
    send(registry.functions.grantRole(role("REGISTRAR_ROLE"), registrar.address), admin)
    for account in (registrar, officer):  # both act for PA 1: area rounds are voted by PA 1's citizens
        send(registry.functions.setAccountPa(account.address, 1), admin)
    send(treasury.functions.grantRole(role("PAYER_ROLE"), pb.address), admin)
    send(pb.functions.grantRole(role("PROPOSER_ROLE"), officer.address), admin)
    send(pb.functions.grantRole(role("RELAYER_ROLE"), relayer.address), admin)
    # Funding: the admin (the executor in production) mints to itself only in this test wiring.
    send(token.functions.grantRole(role("MINTER_ROLE"), admin.address), admin)
    send(token.functions.mint(admin.address, FUNDING), admin)
    send(token.functions.approve(treasury.address, FUNDING), admin)
    send(treasury.functions.deposit(FUNDING), admin)
    send(treasury.functions.assignBudget(AREA, FUNDING // 2), admin)
    expiry = latest_time(w3) + 365 * DAY
    for i, c in enumerate(citizens):
        send(registry.functions.register(c.address, Web3.keccak(text=f"id-{i}"), expiry), registrar)
    return BudgetSuite(w3, tester, admin, registrar, officer, relayer, payee, citizens, registry, token, treasury, pb)


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


def _log_json(lg: Any) -> dict[str, Any]:
    return {
        "address": lg["address"],
        "topics": [_hex(t) for t in lg["topics"]],
        "data": _hex(lg["data"]),
        "blockNumber": hex(lg["blockNumber"]),
        "blockHash": _hex(lg["blockHash"]),
        "logIndex": hex(lg["logIndex"]),
        "transactionHash": _hex(lg["transactionHash"]),
    }


def _answer(w3: Web3, method: str, params: list[Any]) -> Any:
    if method == "eth_chainId":
        return hex(w3.eth.chain_id)
    if method == "eth_blockNumber":
        return hex(w3.eth.block_number)
    if method == "eth_getBlockByNumber":
        block = w3.eth.get_block(int(params[0], 16))
        return {"number": hex(block["number"]), "timestamp": hex(block["timestamp"])}
    if method == "eth_call":
        call = {"to": Web3.to_checksum_address(params[0]["to"]), "data": params[0]["data"]}
        return _hex(w3.eth.call(call, int(params[1], 16)))
    if method == "eth_getLogs":
        q = params[0]
        topics = [t for t in q["topics"]]
        flt = {"address": Web3.to_checksum_address(q["address"]), "topics": topics,
               "fromBlock": int(q["fromBlock"], 16), "toBlock": int(q["toBlock"], 16)}
        return [_log_json(lg) for lg in w3.eth.get_logs(flt)]
    raise AssertionError(f"the budget audit does not call {method}")


def rpc_transport(w3: Web3, tamper: Callable[[str, Any], Any] | None = None) -> Callable[[Any], Any]:
    """A JSON-RPC transport over eth-tester for co3chain.audit.rpc.RpcClient; ``tamper(method, result)``
    may rewrite answers to play a lying node."""

    def one(req: dict[str, Any]) -> dict[str, Any]:
        result = _answer(w3, req["method"], req["params"])
        if tamper is not None:
            result = tamper(req["method"], result)
        return {"jsonrpc": "2.0", "id": req["id"], "result": result}

    def send(payload: Any) -> Any:
        return [one(r) for r in payload] if isinstance(payload, list) else one(payload)

    return send


def manifest_of(suite: BudgetSuite) -> dict[str, Any]:
    """The part of a deployment manifest the budget audit and tools read."""
    return {
        "chainId": suite.chain_id,
        "contracts": {
            "CitizenRegistry": {"address": suite.registry.address},
            "CommonsToken": {"address": suite.token.address},
            "CommonsTreasury": {"address": suite.treasury.address},
            "ParticipatoryBudget": {"address": suite.pb.address},
        },
    }
