"""Deploy CommonsTreasury and ParticipatoryBudget next to an existing suite and record them in its manifest.

Why a separate step from ``co3chain deploy``: the budget contracts only need the registry and the token
addresses, and a consortium may add participatory budgeting to a running deployment. The wiring follows the
trust model: the budget contract is the treasury's only payer; PA officers get PROPOSER_ROLE, the API
relayer RELAYER_ROLE; then DEFAULT_ADMIN_ROLE of both contracts goes to the consortium executor (timelock)
and the deployer renounces it, so no externally owned account can move treasury money afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eth_utils import keccak, to_checksum_address

from co3chain.contracts.deploy import (
    DEFAULT_ADMIN_ROLE,
    ArtifactSet,
    DeployError,
    TxSender,
    describe_constructor_args,
    encode_constructor_args,
    qbft_compatible,
    role_id,
)

BUDGET_CONTRACTS = ("CommonsTreasury", "ParticipatoryBudget")
#: Default shortest vote window of a budget round (seconds); development networks may pass minutes.
DEFAULT_MIN_VOTING_PERIOD = 86_400


def _plan_args(name: str, admin: str, addresses: Mapping[str, str], min_voting_period: int) -> list[Any]:
    if name == "CommonsTreasury":
        return [admin, addresses["CommonsToken"]]
    return [admin, addresses["CitizenRegistry"], addresses["CommoningAreas"], addresses["CommonsTreasury"],
            min_voting_period]


def deploy_budget(
    w3: Any,
    deployer: Any,
    manifest: Mapping[str, Any],
    *,
    executor: str | None,
    proposers: Sequence[str] = (),
    relayer: str | None = None,
    min_voting_period: int = DEFAULT_MIN_VOTING_PERIOD,
    artifacts: ArtifactSet | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Deploy and wire the two contracts; return a copy of ``manifest`` with them and their roles added.

    ``executor`` receives DEFAULT_ADMIN_ROLE of both contracts and the deployer renounces it; ``None`` keeps
    the deployer as admin (development networks only: the caller must say so to the user).
    """
    say = progress or (lambda _msg: None)
    if not 60 <= min_voting_period <= 90 * 86_400:
        raise DeployError(f"the minimum voting period must be 60 s to 90 days (got {min_voting_period})")
    qbft_compatible(w3)
    arts = artifacts or ArtifactSet.committed()
    contracts = dict(manifest.get("contracts") or {})
    for needed in ("CitizenRegistry", "CommonsToken", "CommoningAreas"):
        if needed not in contracts:
            raise DeployError(f"the manifest has no {needed}: deploy the suite first")
    present = [n for n in BUDGET_CONTRACTS if n in contracts]
    if present:
        raise DeployError(f"the manifest already has {', '.join(present)}")
    sender = TxSender(w3, deployer, decoder=arts.error_decoder())
    if int(manifest["chainId"]) != sender.chain_id:
        raise DeployError(f"the manifest is for chain {manifest['chainId']}, the node serves chain {sender.chain_id}")
    me = to_checksum_address(deployer.address)
    addresses = {name: to_checksum_address(entry["address"]) for name, entry in contracts.items()}
    roles: list[dict[str, Any]] = [dict(r) for r in manifest.get("roles") or []]
    bound: dict[str, Any] = {}
    for name in BUDGET_CONTRACTS:
        art = arts.artifact(name)
        args = _plan_args(name, me, addresses, min_voting_period)
        receipt = sender.transact({"data": art["bytecode"] + encode_constructor_args(art["abi"], args).hex()},
                                  f"deploying {name}")
        address = to_checksum_address(receipt["contractAddress"])
        code = bytes(w3.eth.get_code(address))
        if not code:
            raise DeployError(f"{name} deployment left no code at {address}")
        addresses[name] = address
        contracts[name] = {
            "address": address,
            "txHash": "0x" + bytes(receipt["transactionHash"]).hex(),
            "blockNumber": int(receipt["blockNumber"]),
            "gasUsed": int(receipt["gasUsed"]),
            "sourceName": art["sourceName"],
            "codeHash": "0x" + keccak(code).hex(),
            "constructorArgs": describe_constructor_args(art["abi"], args),
        }
        bound[name] = w3.eth.contract(address=address, abi=art["abi"])
        say(f"  {name:<22} {address}  block {receipt['blockNumber']}")

    grants = [("CommonsTreasury", "PAYER_ROLE", addresses["ParticipatoryBudget"], "ParticipatoryBudget")]
    grants += [("ParticipatoryBudget", "PROPOSER_ROLE", to_checksum_address(p), "PA officer") for p in proposers]
    if relayer:
        grants.append(("ParticipatoryBudget", "RELAYER_ROLE", to_checksum_address(relayer), "relayer"))
    if executor:
        grants += [(n, "DEFAULT_ADMIN_ROLE", to_checksum_address(executor), "executor") for n in BUDGET_CONTRACTS]
    for contract, role, account, label in grants:
        receipt = sender.call_fn(bound[contract], "grantRole", [role_id(role), account],
                                 f"granting {role} on {contract} to {label}")
        roles.append({"contract": contract, "role": role, "roleId": role_id(role), "account": account,
                      "label": label, "txHash": "0x" + bytes(receipt["transactionHash"]).hex()})
        say(f"  role {contract}.{role} -> {label} {account}")
    if executor:
        for name in BUDGET_CONTRACTS:
            sender.call_fn(bound[name], "renounceRole", [DEFAULT_ADMIN_ROLE, me],
                           f"renouncing the deployer's admin role on {name}")
            if bound[name].functions.hasRole(DEFAULT_ADMIN_ROLE, me).call():
                raise DeployError(f"the deployer still holds DEFAULT_ADMIN_ROLE on {name}")
            say(f"  deployer renounced DEFAULT_ADMIN_ROLE on {name}")
    else:
        for name in BUDGET_CONTRACTS:
            roles.append({"contract": name, "role": "DEFAULT_ADMIN_ROLE", "roleId": DEFAULT_ADMIN_ROLE,
                          "account": me, "label": "deployer", "txHash": contracts[name]["txHash"]})
    return {**manifest, "contracts": contracts, "roles": roles}
