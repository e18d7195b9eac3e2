"""``co3chain accounts allow|deny|list``: the on-chain account allow-list, from a PA operator's shell;
``co3chain accounts fund``: gas money for a new sender on a fixed-base-fee network.

Thin on purpose: it speaks ``ConsortiumValidators``' ABI over a node's JSON-RPC (``isAccountAllowed`` —
the call the node's own :mod:`co3chain.node.permissioning` makes — ``getAllowedAccounts``,
``getValidators``, ``allowAccount``) and leaves every rule to the contract: who may change the list
(its validators — or, as the contract evolves, a validator majority) is decided on-chain, and after the
transaction the CLI reports what the contract now answers, so a change still waiting for more votes
shows as "not allowed yet" rather than as success.

Accounts to allow before turning permissioning on (each PA's officer accounts apart): the API relayer
(``[relayer]`` in ``api.toml``) and the oracle submitter (``[submitter]`` or ``[signer]`` in
``oracle.toml``) — otherwise their transactions are refused with "sender not allow-listed".
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, is_hex_address, to_checksum_address

from co3chain.errors import Co3Error
from co3chain.keys import load_private_key, read_password
from co3chain.node.permissioning import IS_ACCOUNT_ALLOWED
from co3chain.node.validators_cli import RPC_OPTION, rpc_call

GET_ALLOWED = function_signature_to_4byte_selector("getAllowedAccounts()")
GET_VALIDATORS = function_signature_to_4byte_selector("getValidators()")
ALLOW_ACCOUNT = function_signature_to_4byte_selector("allowAccount(address,bool)")


def _address(text: str, what: str) -> str:
    if not is_hex_address(text):
        raise Co3Error(f"{what} {text!r} is not an address")
    return to_checksum_address(text)


def resolve_contract(contract: str | None, deployment: Path | None) -> str:
    """``--contract`` or ``ConsortiumValidators`` in a deployment manifest."""
    if contract:
        return _address(contract, "--contract")
    if deployment is None:
        raise Co3Error("give --contract ADDRESS or --deployment deployment.json")
    try:
        doc = json.loads(deployment.read_text(encoding="utf-8"))
        return _address(doc["contracts"]["ConsortiumValidators"]["address"], "ConsortiumValidators")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Co3Error(f"{deployment}: no ConsortiumValidators address ({exc})") from None


def _call(url: str, contract: str, data: bytes) -> bytes:
    code = rpc_call(url, "eth_getCode", contract, "latest")
    if code in (None, "0x", "0x0"):
        raise Co3Error(f"no contract at {contract} on {url} (not deployed yet?)")
    out = rpc_call(url, "eth_call", {"to": contract, "data": "0x" + data.hex()}, "latest")
    return bytes.fromhex(out[2:])


def is_allowed(url: str, contract: str, account: str) -> bool:
    raw = _call(url, contract, IS_ACCOUNT_ALLOWED + encode(["address"], [account]))
    return bool(decode(["bool"], raw)[0])


def allow_list(url: str, contract: str) -> dict[str, list[str]]:
    allowed = decode(["address[]"], _call(url, contract, GET_ALLOWED))[0]
    validators = decode(["address[]"], _call(url, contract, GET_VALIDATORS))[0]
    return {"validators": [to_checksum_address(a) for a in validators],
            "accounts": [to_checksum_address(a) for a in allowed]}


def set_allowed(url: str, contract: str, account: str, allowed: bool, key: bytes, timeout: float = 60.0) -> dict[str, Any]:
    """Send ``allowAccount(account, allowed)`` from ``key``; wait for the receipt; report the new answer."""
    sender = Account.from_key(key)
    data = ALLOW_ACCOUNT + encode(["address", "bool"], [account, allowed])
    call = {"from": sender.address, "to": contract, "data": "0x" + data.hex()}
    gas = int(rpc_call(url, "eth_estimateGas", call), 16)  # a revert (not a validator) surfaces here
    tx_hash, receipt = send_and_wait(url, key, {"to": contract, "data": data, "gas": gas + gas // 5}, timeout)
    now = is_allowed(url, contract, account)
    return {"account": account, "requested": allowed, "allowed": now, "tx": tx_hash,
            "block": int(receipt["blockNumber"], 16), "applied": now == allowed}


#: Gas money ``accounts fund`` sends by default: 10^21 wei = 10^18 gas at the 1000 wei base fee of new
#: networks, i.e. millions of blocks of transactions. It buys nothing but gas.
DEFAULT_GAS_MONEY = 10**21


def send_and_wait(url: str, key: bytes, fields: dict[str, Any], timeout: float = 60.0) -> tuple[str, dict[str, Any]]:
    """Sign ``fields`` (``to``, ``data``/``value``, ``gas``) from ``key`` at the node's gas price (its fixed
    base fee; 0 on a free-gas network), send it and wait for a successful receipt."""
    sender = Account.from_key(key)
    tx = {
        "value": 0, **fields,
        "gasPrice": int(rpc_call(url, "eth_gasPrice"), 16),  # the base fee (0 on a free-gas network)
        "nonce": int(rpc_call(url, "eth_getTransactionCount", sender.address, "pending"), 16),
        "chainId": int(rpc_call(url, "eth_chainId"), 16),
    }
    raw = Account.sign_transaction(tx, key).raw_transaction
    tx_hash = rpc_call(url, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
    deadline = time.monotonic() + timeout
    receipt = None
    while receipt is None:
        if time.monotonic() > deadline:
            raise Co3Error(f"transaction {tx_hash} not included within {timeout:.0f}s")
        time.sleep(0.2)
        receipt = rpc_call(url, "eth_getTransactionReceipt", tx_hash)
    if receipt.get("status") != "0x1":
        raise Co3Error(f"transaction {tx_hash} reverted in block {int(receipt['blockNumber'], 16)}")
    return tx_hash, receipt


def send_gas_money(url: str, account: str, wei: int, key: bytes, timeout: float = 60.0) -> dict[str, Any]:
    """Transfer ``wei`` of gas money from ``key`` to ``account``; report both balances afterwards.

    Why a command for it: on a fixed-base-fee network every sender needs a little gas money. A joining PA,
    a relayer or an oracle submitter gets it from any funded PA -- no minting, no central faucet.
    """
    if wei <= 0:
        raise Co3Error("--wei must be positive")
    tx_hash, receipt = send_and_wait(url, key, {"to": account, "value": wei, "gas": 21_000}, timeout)
    sender = Account.from_key(key).address
    return {"account": account, "wei": wei, "tx": tx_hash, "block": int(receipt["blockNumber"], 16),
            "balance": int(rpc_call(url, "eth_getBalance", account, "latest"), 16),
            "senderBalance": int(rpc_call(url, "eth_getBalance", sender, "latest"), 16)}


CONTRACT_OPTIONS = [
    click.option("--contract", default=None, help="ConsortiumValidators address."),
    click.option("--deployment", type=click.Path(path_type=Path, dir_okay=False), default=None,
                 help="deployment.json to read the ConsortiumValidators address from."),
]


def _contract_options(fn: Any) -> Any:
    for option in reversed(CONTRACT_OPTIONS):
        fn = option(fn)
    return fn


@click.group()
def accounts() -> None:
    """Account allow-list on ConsortiumValidators (who may send transactions) and gas money (fund)."""


@accounts.command("list")
@RPC_OPTION
@_contract_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def accounts_list(url: str, contract: str | None, deployment: Path | None, as_json: bool) -> None:
    """Validators (always allowed) and the accounts they allowed."""
    address = resolve_contract(contract, deployment)
    result = allow_list(url, address)
    if as_json:
        click.echo(json.dumps({"contract": address, **result}, indent=2))
        return
    click.echo(f"allow-list {address}")
    for v in result["validators"]:
        click.echo(f"  {v}  (validator)")
    for a in result["accounts"]:
        click.echo(f"  {a}")


def _change(url: str, contract: str | None, deployment: Path | None, account: str, allowed: bool,
            keystore: Path, password_file: Path | None, as_json: bool) -> None:
    address = resolve_contract(contract, deployment)
    who = _address(account, "account")
    key = load_private_key(keystore, read_password(password_file))
    result = set_allowed(url, address, who, allowed, key)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    state = "allowed" if result["allowed"] else "not allowed"
    note = "" if result["applied"] else " (the change needs more validators' approval)"
    click.echo(f"{who}: {state}{note}; tx {result['tx']} in block {result['block']}")


_KEY_OPTIONS = [
    click.option("--keystore", type=click.Path(path_type=Path, dir_okay=False), required=True,
                 help="This PA's validator keystore (key.json)."),
    click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
                 help="Keystore password file (else $CO3CHAIN_PASSWORD)."),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
]


def _key_options(fn: Any) -> Any:
    for option in reversed(_KEY_OPTIONS):
        fn = option(fn)
    return fn


@accounts.command("allow")
@click.argument("account")
@RPC_OPTION
@_contract_options
@_key_options
def accounts_allow(account: str, url: str, contract: str | None, deployment: Path | None, keystore: Path,
                   password_file: Path | None, as_json: bool) -> None:
    """Allow ACCOUNT to send transactions (signed with a validator key)."""
    _change(url, contract, deployment, account, True, keystore, password_file, as_json)


@accounts.command("deny")
@click.argument("account")
@RPC_OPTION
@_contract_options
@_key_options
def accounts_deny(account: str, url: str, contract: str | None, deployment: Path | None, keystore: Path,
                  password_file: Path | None, as_json: bool) -> None:
    """Take ACCOUNT off the allow-list (validators stay allowed while they are validators)."""
    _change(url, contract, deployment, account, False, keystore, password_file, as_json)


@accounts.command("fund")
@click.argument("account")
@RPC_OPTION
@click.option("--wei", type=int, default=DEFAULT_GAS_MONEY, show_default=True, help="Gas money to send.")
@_key_options
def accounts_fund(account: str, url: str, wei: int, keystore: Path, password_file: Path | None,
                  as_json: bool) -> None:
    """Send gas money to ACCOUNT (a joining PA, relayer, oracle submitter) from your own funded key."""
    who = _address(account, "account")
    key = load_private_key(keystore, read_password(password_file))
    result = send_gas_money(url, who, wei, key)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{who}: received {wei} wei (balance {result['balance']}); tx {result['tx']} "
               f"in block {result['block']}; your balance {result['senderBalance']}")
