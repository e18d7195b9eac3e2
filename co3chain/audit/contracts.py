"""``co3chain audit contracts``: recompile the recorded sources with the recorded settings and compare every
deployed contract with the result (Sourcify-style full match), decode constructor arguments from the creation
transaction, and prove the deployed code hash against a sealed state root.

Order matters: source hashes are checked against the manifest *before* compiling, so a mismatch says "these are
not the audited sources" instead of an unexplained bytecode difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_hash.auto import keccak

from co3chain.audit.anchor import fetch_anchor
from co3chain.audit.bytecode import FULL, PARTIAL, compare_runtime
from co3chain.audit.proofs import ProofError, verify_account
from co3chain.audit.report import AuditReport
from co3chain.audit.rpc import RpcClient, RpcError, hex_bytes
from co3chain.contracts import compiler
from co3chain.errors import Co3Error

#: Per-contract outputs the audits need (storageLayout serves the proposal audit's proofs).
AUDIT_OUTPUTS = [
    "abi",
    "evm.bytecode.object",
    "evm.bytecode.linkReferences",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
    "storageLayout",
]


class ContractsAuditError(Co3Error):
    """The contracts audit cannot run (manifest unusable, compiler missing or of another version)."""


def read_sources(manifest: Mapping[str, Any], root: Path, report: AuditReport) -> dict[str, str] | None:
    """Sources named in the manifest, read from ``root``; hash mismatches/missing files become findings."""
    recorded = manifest.get("sources")
    if not isinstance(recorded, dict) or not recorded:
        raise ContractsAuditError("the manifest records no sources")
    sources: dict[str, str] = {}
    ok = True
    for unit, want in sorted(recorded.items()):
        try:
            text = compiler._read_source(root, unit)
        except compiler.CompilerError:
            report.add("source-missing", f"{unit} is not under {root}")
            ok = False
            continue
        got = compiler.source_hash(text)
        if got.lower() != str(want).lower():
            report.add("source-hash", f"{unit}: keccak {got} differs from the manifest's {want}")
            ok = False
        sources[unit] = text
    return sources if ok else None


def compile_sources(manifest: Mapping[str, Any], sources: dict[str, str], root: Path) -> dict[str, Any]:
    """Run the pinned solc on ``sources`` with the manifest's settings (must be the manifest's version)."""
    recorded = manifest.get("compiler") or {}
    version = compiler.solc_version(root)
    if str(recorded.get("version")) != version:
        raise ContractsAuditError(
            f"the manifest was compiled with solc {recorded.get('version')}, the installed solcjs is {version}"
        )
    settings = dict(recorded.get("settings") or {})
    settings["outputSelection"] = {"*": {"": ["ast"], "*": AUDIT_OUTPUTS}}
    return compiler.run_solcjs({"language": "Solidity", "sources": {u: {"content": t} for u, t in sources.items()},
                                "settings": settings}, root)


def find_contract(output: Mapping[str, Any], name: str, source_name: str | None = None) -> dict[str, Any]:
    units = [source_name] if source_name else sorted(output.get("contracts", {}))
    for unit in units:
        data = output.get("contracts", {}).get(unit, {}).get(name)
        if data is not None:
            return data
    raise ContractsAuditError(f"the compiler produced no contract {name}")


def ast_names(output: Mapping[str, Any]) -> dict[int, str]:
    """AST id → ``Contract.variable`` for every state variable (to name immutables)."""
    names: dict[int, str] = {}

    def walk(node: Any, contract: str) -> None:
        if isinstance(node, dict):
            if node.get("nodeType") == "ContractDefinition":
                contract = node.get("name", contract)
            if node.get("nodeType") == "VariableDeclaration" and node.get("stateVariable") and "id" in node:
                names[int(node["id"])] = f"{contract}.{node.get('name')}"
            for v in node.values():
                walk(v, contract)
        elif isinstance(node, list):
            for v in node:
                walk(v, contract)

    for src in output.get("sources", {}).values():
        walk(src.get("ast"), "")
    return names


def storage_slots(contract_output: Mapping[str, Any]) -> dict[str, int]:
    """State variable label → base slot, from the compiler's storage layout."""
    layout = contract_output.get("storageLayout") or {}
    return {item["label"]: int(item["slot"]) for item in layout.get("storage", [])}


def _constructor_types(abi: list[dict[str, Any]]) -> list[tuple[str, str]]:
    for item in abi:
        if item.get("type") == "constructor":
            return [(i.get("name") or f"arg{n}", _abi_type(i)) for n, i in enumerate(item.get("inputs", []))]
    return []


def _abi_type(item: Mapping[str, Any]) -> str:
    t = str(item["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item.get("components", [])) + ")" + t[5:]
    return t


def _jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def audit_contracts(
    client: RpcClient, manifest: Mapping[str, Any], root: Path = compiler.REPO_ROOT, block: int | None = None,
    *, bytecode: bool = True, powers: bool = True,
) -> AuditReport:
    """Verify every contract of the manifest (``bytecode``) and who holds its powers (``powers``); returns the
    report (errors make ``passed`` false)."""
    contracts = manifest.get("contracts")
    if not isinstance(contracts, dict) or not contracts:
        raise ContractsAuditError("the manifest lists no contracts")
    report = AuditReport("contracts" if bytecode else "powers",
                         {"chainId": manifest.get("chainId"), "compiler": manifest.get("compiler"),
                          "sourceRoot": str(root), "contracts": sorted(contracts)})
    from co3chain.audit.powers import address_names

    report.names = {"0x" + a.hex(): n for a, n in address_names(manifest).items()}
    try:
        chain_id = int(client.call("eth_chainId"), 16)
    except (RpcError, TypeError, ValueError) as exc:
        raise ContractsAuditError(f"cannot read the chain id: {exc}") from None
    if manifest.get("chainId") is not None and int(manifest["chainId"]) != chain_id:
        report.add("chain-id", f"the manifest is for chain {manifest['chainId']}, the node serves chain {chain_id}")
        return report
    sources = read_sources(manifest, root, report)
    output = compile_sources(manifest, sources, root) if sources is not None else None
    anchor = fetch_anchor(client, block)
    report.findings.extend(anchor.findings)
    report.subject["anchorBlock"] = anchor.number
    if bytecode:
        if output is None:
            return report
        names = ast_names(output)
        full = 0
        for name, entry in sorted(contracts.items()):
            full += _audit_one(client, report, output, names, anchor, name, entry)
        report.stats.update({"contracts": len(contracts), "fullMatches": full, "anchorSealed": anchor.sealed})
    if powers:
        from co3chain.audit.powers import audit_powers

        abis: dict[str, Any] = {}
        if output is not None:
            for name, entry in contracts.items():
                try:
                    abis[name] = find_contract(output, name, entry.get("sourceName"))["abi"]
                except ContractsAuditError:
                    continue
        else:
            report.add("powers-abi", "the sources do not match the manifest: parameter changes are listed only for "
                                     "role and ownership events", severity="warning")
        audit_powers(client, manifest, report, anchor.number, abis, (sources or {}).values())
    return report


def _audit_one(client: RpcClient, report: AuditReport, output: Mapping[str, Any], names: dict[int, str],
               anchor: Any, name: str, entry: Mapping[str, Any]) -> int:
    address_hex = str(entry.get("address", ""))
    try:
        address = hex_bytes(address_hex, f"{name} address", 20)
    except RpcError as exc:
        report.add("manifest", str(exc))
        return 0
    item: dict[str, Any] = {"contract": name, "address": address_hex}
    report.checked.append(item)
    compiled = find_contract(output, name, entry.get("sourceName"))
    code = hex_bytes(client.call("eth_getCode", address_hex, hex(anchor.number)), "code")
    if not code:
        report.add("no-code", f"{name}: no code at {address_hex}")
        item["match"] = "no code"
        return 0
    # The code the node returned must be the code the sealed state commits to.
    try:
        proof = client.call("eth_getProof", address_hex, [], hex(anchor.number))
        account = verify_account(anchor.state_root, address, proof)
        if account.code_hash != keccak(code):
            report.add("code-proof", f"{name}: eth_getCode differs from the code hash proven in block {anchor.number}",
                       anchor.number)
        item["codeHashProven"] = True
    except (RpcError, ProofError) as exc:
        report.add("code-proof", f"{name}: {exc}", anchor.number)
    cmp = compare_runtime(code, bytes.fromhex(compiled["evm"]["deployedBytecode"]["object"]),
                          compiled["evm"]["deployedBytecode"].get("immutableReferences", {}))
    item["match"] = cmp.status
    item["metadata"] = cmp.onchain_metadata
    item["immutables"] = {names.get(int(k), f"ast#{k}"): v for k, v in cmp.immutables.items()}
    if cmp.status == PARTIAL:
        report.add("metadata-mismatch", f"{name}: {cmp.detail}", details={"onchain": cmp.onchain_metadata,
                                                                          "compiled": cmp.compiled_metadata})
    elif cmp.status != FULL:
        report.add("bytecode-mismatch", f"{name}: {cmp.detail}")
    _check_creation(client, report, compiled, name, address_hex, entry, item)
    return 1 if cmp.status == FULL else 0


def _check_creation(client: RpcClient, report: AuditReport, compiled: Mapping[str, Any], name: str,
                    address_hex: str, entry: Mapping[str, Any], item: dict[str, Any]) -> None:
    tx_hash = entry.get("txHash")
    if not tx_hash:
        report.add("creation-tx", f"{name}: the manifest records no creation transaction", severity="warning")
        return
    tx, receipt = client.batch([("eth_getTransactionByHash", (tx_hash,)), ("eth_getTransactionReceipt", (tx_hash,))])
    if tx is None or receipt is None:
        report.add("creation-tx", f"{name}: the node does not know creation transaction {tx_hash}")
        return
    if tx.get("to") is not None or str(receipt.get("contractAddress") or "").lower() != address_hex.lower():
        report.add("creation-tx", f"{name}: {tx_hash} did not create {address_hex}")
        return
    data = hex_bytes(tx.get("input") or tx.get("data") or "0x", "input")
    creation = bytes.fromhex(compiled["evm"]["bytecode"]["object"])
    if not data.startswith(creation):
        report.add("creation-code-mismatch", f"{name}: the creation transaction does not start with the compiled "
                                             "creation code")
        return
    args = data[len(creation):]
    item["constructorArgsEncoded"] = "0x" + args.hex()
    types = _constructor_types(compiled["abi"])
    try:
        values = abi_decode([t for _, t in types], args) if types else ()
        if not types and args:
            raise ValueError(f"{len(args)} trailing bytes but the constructor takes no arguments")
    except Exception as exc:  # eth_abi raises several unrelated types for bad data
        report.add("constructor-args", f"{name}: cannot decode constructor arguments: {exc}")
        return
    item["constructorArgs"] = {n: _jsonable(v) for (n, _), v in zip(types, values, strict=True)}
    recorded = (entry.get("constructorArgs") or {}).get("encoded") if isinstance(entry.get("constructorArgs"), dict) else None
    if recorded is not None and str(recorded).lower() != "0x" + args.hex():
        report.add("constructor-args", f"{name}: constructor arguments in the creation tx differ from the manifest")
