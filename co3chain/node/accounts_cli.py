"""``co3chain accounts allow|deny|list``: the on-chain account allow-list, from a PA operator's shell;
``co3chain accounts fund``: gas money for a new sender on a fixed-base-fee network.

The one allow-list CLI (``co3chain validators allow-account|accounts`` were a second copy and now only point
here). A change applies once a majority of the contract's validators cast the same vote, so ``allow`` and
``deny`` report the votes so far; ``--withdraw`` takes this validator's pending vote back.

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
from co3chain.node.permissioning import IS_ACCOUNT_ALLOWED
from co3chain.node.rpcclient import RpcCallError, rpc_call
from co3chain.node.validators_cli import RPC_OPTION

GET_ALLOWED = function_signature_to_4byte_selector("getAllowedAccounts()")
GET_VALIDATORS = function_signature_to_4byte_selector("getValidators()")
ALLOW_ACCOUNT = function_signature_to_4byte_selector("allowAccount(address,bool)")
WITHDRAW_VOTE = function_signature_to_4byte_selector("withdrawAccountVote(address,bool)")
GET_PENDING = function_signature_to_4byte_selector("getPendingAccountChanges()")
VOTES_FOR = function_signature_to_4byte_selector("accountVotesFor(address,bool)")
VOTE_THRESHOLD = function_signature_to_4byte_selector("voteThreshold()")


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


def _uint(url: str, contract: str, data: bytes) -> int:
    return int(decode(["uint256"], _call(url, contract, data))[0])


def allow_list(url: str, contract: str) -> dict[str, Any]:
    """Validators (always allowed), allowed accounts, the votes a change needs, and pending changes."""
    allowed = decode(["address[]"], _call(url, contract, GET_ALLOWED))[0]
    validators = decode(["address[]"], _call(url, contract, GET_VALIDATORS))[0]
    accounts, directions = decode(["address[]", "bool[]"], _call(url, contract, GET_PENDING))
    pending = [{"account": to_checksum_address(a), "change": "allow" if up else "refuse",
                "votes": _uint(url, contract, VOTES_FOR + encode(["address", "bool"], [a, up]))}
               for a, up in zip(accounts, directions, strict=True)]
    return {"validators": [to_checksum_address(a) for a in validators],
            "accounts": [to_checksum_address(a) for a in allowed],
            "voteThreshold": _uint(url, contract, VOTE_THRESHOLD), "pending": pending}


def _estimate(url: str, call: dict[str, Any]) -> int:
    """``eth_estimateGas`` of ``call``; a refusal becomes one line naming the contract's custom error."""
    try:
        return int(rpc_call(url, "eth_estimateGas", call), 16)
    except RpcCallError as exc:
        if exc.code is None:
            raise  # the node was not reached: say so as it is
        from co3chain.contracts.deploy import ArtifactSet

        reason = ArtifactSet.committed().error_decoder().decode(exc.data) if isinstance(exc.data, str) else None
        raise Co3Error(f"refused by the contract: {reason or exc.rpc_message}") from None


def set_allowed(url: str, contract: str, account: str, allowed: bool, key: bytes, timeout: float = 60.0,
                withdraw: bool = False) -> dict[str, Any]:
    """Vote ``allowAccount(account, allowed)`` from ``key`` (or take that vote back with ``withdraw``); wait for
    the receipt; report what the contract now answers and the votes the change has."""
    sender = Account.from_key(key)
    data = (WITHDRAW_VOTE if withdraw else ALLOW_ACCOUNT) + encode(["address", "bool"], [account, allowed])
    gas = _estimate(url, {"from": sender.address, "to": contract, "data": "0x" + data.hex()})
    tx_hash, receipt = send_and_wait(url, key, {"to": contract, "data": data, "gas": gas + gas // 5}, timeout)
    now = is_allowed(url, contract, account)
    return {"account": account, "requested": allowed, "withdrawn": withdraw, "allowed": now, "tx": tx_hash,
            "block": int(receipt["blockNumber"], 16), "applied": not withdraw and now == allowed,
            "votes": _uint(url, contract, VOTES_FOR + encode(["address", "bool"], [account, allowed])),
            "voteThreshold": _uint(url, contract, VOTE_THRESHOLD)}


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
    """Validators (always allowed), the accounts they allowed, and pending changes with their votes."""
    address = resolve_contract(contract, deployment)
    result = allow_list(url, address)
    if as_json:
        click.echo(json.dumps({"contract": address, **result}, indent=2))
        return
    click.echo(f"allow-list {address}: {len(result['validators'])} validator(s), a change needs "
               f"{result['voteThreshold']} votes")
    for v in result["validators"]:
        click.echo(f"  {v}  (validator)")
    for a in result["accounts"]:
        click.echo(f"  {a}")
    if result["pending"]:
        click.echo("pending changes:")
        for p in result["pending"]:
            click.echo(f"  {p['change']:<6} {p['account']}  {p['votes']}/{result['voteThreshold']} votes")
    else:
        click.echo("no pending changes")


def _signing_key(keystore: Path | None, password_file: Path | None, dev_key: str | None) -> bytes:
    from co3chain.keys import account_from_options

    def warn(message: str) -> None:
        click.echo(message, err=True)

    signer = account_from_options(str(keystore) if keystore else None,
                                  str(password_file) if password_file else None, dev_key, warn)
    return bytes(signer.key)


def _change(url: str, contract: str | None, deployment: Path | None, account: str, allowed: bool,
            keystore: Path | None, password_file: Path | None, dev_key: str | None, withdraw: bool,
            as_json: bool) -> None:
    address = resolve_contract(contract, deployment)
    who = _address(account, "account")
    key = _signing_key(keystore, password_file, dev_key)
    result = set_allowed(url, address, who, allowed, key, withdraw=withdraw)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    direction = "allow" if allowed else "refuse"
    where = f"tx {result['tx']} in block {result['block']}"
    if withdraw:
        click.echo(f"vote to {direction} {who} withdrawn ({result['votes']} of {result['voteThreshold']} votes "
                   f"remain); {where}")
    elif result["applied"]:
        click.echo(f"{who}: {'allowed' if allowed else 'not allowed'} (majority reached); {where}")
    else:
        click.echo(f"{who}: {'allowed' if result['allowed'] else 'not allowed'} — vote to {direction} recorded: "
                   f"{result['votes']} of {result['voteThreshold']} votes needed; {where}")


_KEY_OPTIONS = [
    click.option("--keystore", "--key-file", "keystore", type=click.Path(path_type=Path, dir_okay=False),
                 default=None, help="This PA's validator keystore (key.json)."),
    click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
                 help="Keystore password file (else $CO3CHAIN_PASSWORD)."),
    click.option("--dev-key", default=None, help="Raw private key as hex (development networks only)."),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
]


def _key_options(fn: Any) -> Any:
    for option in reversed(_KEY_OPTIONS):
        fn = option(fn)
    return fn


_WITHDRAW = click.option("--withdraw", is_flag=True, help="Take this validator's pending vote back instead.")


@accounts.command("allow")
@click.argument("account")
@RPC_OPTION
@_contract_options
@_key_options
@_WITHDRAW
def accounts_allow(account: str, url: str, contract: str | None, deployment: Path | None, keystore: Path | None,
                   password_file: Path | None, dev_key: str | None, as_json: bool, withdraw: bool) -> None:
    """Vote (as a validator) that ACCOUNT may send transactions; applies at the validators' majority."""
    _change(url, contract, deployment, account, True, keystore, password_file, dev_key, withdraw, as_json)


@accounts.command("deny")
@click.argument("account")
@RPC_OPTION
@_contract_options
@_key_options
@_WITHDRAW
def accounts_deny(account: str, url: str, contract: str | None, deployment: Path | None, keystore: Path | None,
                  password_file: Path | None, dev_key: str | None, as_json: bool, withdraw: bool) -> None:
    """Vote to take ACCOUNT off the allow-list (validators stay allowed while they are validators)."""
    _change(url, contract, deployment, account, False, keystore, password_file, dev_key, withdraw, as_json)


@accounts.command("fund")
@click.argument("account")
@RPC_OPTION
@click.option("--wei", type=int, default=DEFAULT_GAS_MONEY, show_default=True, help="Gas money to send.")
@_key_options
def accounts_fund(account: str, url: str, wei: int, keystore: Path | None, password_file: Path | None,
                  dev_key: str | None, as_json: bool) -> None:
    """Send gas money to ACCOUNT (a joining PA, relayer, oracle submitter) from your own funded key."""
    who = _address(account, "account")
    key = _signing_key(keystore, password_file, dev_key)
    result = send_gas_money(url, who, wei, key)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{who}: received {wei} wei (balance {result['balance']}); tx {result['tx']} "
               f"in block {result['block']}; your balance {result['senderBalance']}")
