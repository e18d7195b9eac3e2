"""Deploy the CO3 contract suite, brownie-style (``def main()``) or as plain Python.

    .venv-brownie/bin/brownie run scripts/deploy.py --network co3-local
    .venv/bin/python scripts/deploy.py --rpc http://127.0.0.1:8545 --dev-key 0x...   (same options as
                                                                                  ``co3chain deploy``)

Why two paths in one file: operators who know brownie get its console, receipts and network management;
everyone else gets the same deployment through co3chain's own client.  Under brownie the contracts are not
compiled by brownie (it cannot download solc here): the committed artifacts are wrapped in brownie
``ContractContainer`` objects and deployed with ``account.deploy``; the constructor arguments, role plan and
manifest come from ``co3chain.contracts.deploy`` so both paths produce the same suite and manifest format.

Environment (brownie path): ``CO3CHAIN_DEV_KEY`` deployer key (default: brownie's first unlocked account,
else the public development key), ``CO3CHAIN_ORACLE_SIGNERS`` comma-separated addresses (default: the
development oracles), ``CO3CHAIN_ORACLE_THRESHOLD``, ``CO3CHAIN_MANIFEST`` output path (default
``deployment-<network>.json``), ``CO3CHAIN_ARTIFACTS`` artifacts directory (default: the committed ones),
``CO3CHAIN_TIMELOCK_DELAY`` seconds of the consortium timelock (default: two days). The council is the
validators; every admin role ends with the timelock, the deployer renounces.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def brownie_account() -> Any:
    """The deployer under brownie: CO3CHAIN_DEV_KEY, else an unlocked node account, else the dev key."""
    from brownie import accounts

    from co3chain.contracts.demo import DEV_DEPLOYER_KEY

    key = os.environ.get("CO3CHAIN_DEV_KEY")
    if key:
        return accounts.add(key)
    if len(accounts) > 0:
        return accounts[0]
    return accounts.add(DEV_DEPLOYER_KEY)


def brownie_container(name: str, artifact: dict[str, Any]) -> Any:
    """A brownie ``ContractContainer`` for one of our precompiled artifacts."""
    from brownie import project
    from brownie.network.contract import ContractContainer

    loaded = project.get_loaded_projects()
    if not loaded:
        raise RuntimeError("no brownie project loaded: run from the repository root with `brownie run`")
    build = {
        "contractName": name,
        "abi": artifact["abi"],
        "bytecode": artifact["bytecode"][2:],
        "deployedBytecode": artifact["deployedBytecode"][2:],
        "sourcePath": artifact["sourceName"],
        "type": "contract",
        "language": "Solidity",
        "natspec": {},
        "allSourcePaths": {},
        "pcMap": {},
        "dependencies": [],
        "offset": [0, 0],
    }
    return ContractContainer(loaded[0], build)


def _tx_fields(gas_price: int) -> dict[str, Any]:
    return {"gas_price": gas_price}


def deploy_with_brownie() -> dict[str, Any]:
    """Deploy through brownie accounts and containers; returns (and writes) the manifest."""
    from brownie import network, web3
    from eth_utils import keccak

    from co3chain.contracts import deploy as dep
    from co3chain.contracts.demo import dev_oracle_accounts

    account = brownie_account()
    signers = [s for s in os.environ.get("CO3CHAIN_ORACLE_SIGNERS", "").split(",") if s] or [
        a.address for a in dev_oracle_accounts()
    ]
    threshold = int(os.environ.get("CO3CHAIN_ORACLE_THRESHOLD", len(signers) // 2 + 1))
    params = dep.SuiteParams(
        deployer=account.address,
        oracle_signers=signers,
        oracle_threshold=threshold,
        validators=dep.node_validators(web3) or [account.address],
        relayer=account.address,
        timelock_delay=int(os.environ.get("CO3CHAIN_TIMELOCK_DELAY", dep.DEFAULT_TIMELOCK_DELAY)),
    )
    params.validate()
    arts = dep.ArtifactSet.committed()  # honours $CO3CHAIN_ARTIFACTS
    gas = _tx_fields(int(web3.eth.gas_price))
    addresses: dict[str, str] = {}
    entries: dict[str, dict[str, Any]] = {}
    deployed: dict[str, Any] = {}
    last_block = 0
    for name in dep.SUITE:
        art = arts.artifact(name)
        args = dep.constructor_args(name, params, addresses)
        contract = account.deploy(brownie_container(name, art), *args, **gas)
        tx = contract.tx
        addresses[name] = contract.address
        deployed[name] = contract
        last_block = int(tx.block_number)
        code = bytes(web3.eth.get_code(contract.address))
        entries[name] = {
            "address": contract.address,
            "txHash": tx.txid if tx.txid.startswith("0x") else "0x" + tx.txid,
            "blockNumber": last_block,
            "gasUsed": int(tx.gas_used),
            "sourceName": art["sourceName"],
            "codeHash": "0x" + keccak(code).hex(),
            "constructorArgs": dep.describe_constructor_args(art["abi"], args),
        }
    roles: list[dict[str, Any]] = []
    for name in dep.SUITE:
        if "hasRole" in deployed[name].signatures:
            roles.append({"contract": name, "role": "DEFAULT_ADMIN_ROLE", "roleId": dep.DEFAULT_ADMIN_ROLE,
                          "account": account.address, "label": "deployer", "txHash": entries[name]["txHash"]})
    abis = {n: arts.artifact(n)["abi"] for n in dep.SUITE}
    for grant in dep.role_plan(params, addresses, abis):
        contract = deployed[grant.contract]
        rid = dep.role_id(grant.role)
        record = {"contract": grant.contract, "role": grant.role, "roleId": rid, "account": grant.account,
                  "label": grant.label}
        if contract.hasRole(rid, grant.account):
            record["txHash"] = entries[grant.contract]["txHash"]
        else:
            tx = contract.grantRole(rid, grant.account, {"from": account, **gas})
            record["txHash"] = tx.txid if tx.txid.startswith("0x") else "0x" + tx.txid
            last_block = int(tx.block_number)
        if not contract.hasRole(rid, grant.account):
            raise RuntimeError(f"{grant.role} on {grant.contract} was not granted to {grant.account}")
        roles.append(record)
    for call in dep.wiring_calls(addresses):  # e.g. governance binds liquid delegation
        tx = getattr(deployed[call.contract], call.function)(*call.args, {"from": account, **gas})
        last_block = int(tx.block_number)
    # Hand every admin power to the consortium timelock; the deployer renounces (as co3chain deploy does).
    for step in dep.handover_plan(params, addresses, abis):
        contract = deployed[step.contract]
        rid = dep.role_id(step.role)
        fn = contract.grantRole if step.action == "grant" else contract.renounceRole
        tx = fn(rid, step.account, {"from": account, **gas})
        last_block = int(tx.block_number)
        if step.action == "grant":
            roles.append({"contract": step.contract, "role": step.role, "roleId": rid, "account": step.account,
                          "label": step.label, "txHash": tx.txid if tx.txid.startswith("0x") else "0x" + tx.txid})
    roles = [r for r in roles if r["role"] != "DEFAULT_ADMIN_ROLE" or r["label"] != "deployer"]
    problems = dep.check_handover(web3, addresses, abis, [account.address])
    if problems:
        raise RuntimeError("handover incomplete: " + "; ".join(problems))
    manifest = dep.build_manifest(
        chain_id=int(web3.eth.chain_id),
        deployer=account.address,
        network=f"brownie:{network.show_active()}",
        deployed_at=int(web3.eth.get_block(last_block)["timestamp"]),
        contracts=entries,
        roles=roles,
        build_info=arts.build_info,
    )
    out = os.environ.get("CO3CHAIN_MANIFEST") or f"deployment-{network.show_active()}.json"
    dep.save_manifest(manifest, out)
    print(f"deployed {len(entries)} contracts with brownie; manifest: {out}")
    return manifest


def main() -> None:
    """Entry point for ``brownie run`` and for plain Python (delegates to ``co3chain deploy``)."""
    from co3chain.contracts.scripting import in_brownie, run_cli

    if in_brownie():
        deploy_with_brownie()
        return
    from co3chain.contracts.cli import deploy_cmd

    run_cli(deploy_cmd, "scripts/deploy.py")


if __name__ == "__main__":
    main()
