"""``co3chain validators propose|discard|list|status``: validator-set governance for PA operators.

Everything goes through a node's JSON-RPC (``--rpc``), so an operator can run it from any machine that
reaches the node. A vote takes effect once ⌊n/2⌋+1 validators have cast it in the blocks they propose;
``status`` shows where each pending change stands.
"""

from __future__ import annotations

import json
from typing import Any

import click
from eth_utils import is_hex_address, to_checksum_address

from co3chain.errors import Co3Error
from co3chain.node.localnet import LocalnetError
from co3chain.node.localnet import rpc_call as _rpc

RPC_OPTION = click.option("--rpc", "url", default="http://127.0.0.1:8545", show_default=True, help="Node JSON-RPC URL.")


def rpc_call(url: str, method: str, *params: Any) -> Any:
    try:
        return _rpc(url, method, *params)
    except LocalnetError as exc:
        raise Co3Error(str(exc)) from None


def _address(text: str) -> str:
    if not is_hex_address(text):
        raise Co3Error(f"{text!r} is not an address")
    return to_checksum_address(text)


def validator_status(url: str, blocks: int = 100) -> dict[str, Any]:
    """Validators, this node's pending votes and per-validator proposal counts over the last ``blocks``."""
    head = int(rpc_call(url, "eth_blockNumber"), 16)
    validators = [to_checksum_address(v) for v in rpc_call(url, "qbft_getValidatorsByBlockNumber", "latest")]
    pending = rpc_call(url, "qbft_getPendingVotes") or {}
    start = max(head - blocks + 1, 1)
    metrics = rpc_call(url, "qbft_getSignerMetrics", hex(start), hex(head)) if head >= 1 else []
    threshold = len(validators) // 2 + 1
    return {
        "head": head,
        "validators": validators,
        "voteThreshold": threshold,
        "pendingVotes": {to_checksum_address(a): ("add" if add else "remove") for a, add in pending.items()},
        "signers": [
            {
                "address": to_checksum_address(m["address"]),
                "proposed": int(m["proposedBlockCount"], 16),
                "lastProposed": int(m["lastProposedBlockNumber"], 16),
                "validator": to_checksum_address(m["address"]) in validators,
            }
            for m in metrics
        ],
        "window": [start, head],
    }


@click.group()
def validators() -> None:
    """Inspect and vote on the QBFT validator set through a node's RPC."""


@validators.command("list")
@RPC_OPTION
@click.option("--block", default="latest", show_default=True, help="Block number or tag.")
@click.option("--json", "as_json", is_flag=True)
def validators_list(url: str, block: str, as_json: bool) -> None:
    """Validators recorded in a block's extraData."""
    tag = hex(int(block)) if block.isdigit() else block
    vals = [to_checksum_address(v) for v in rpc_call(url, "qbft_getValidatorsByBlockNumber", tag)]
    click.echo(json.dumps(vals) if as_json else "\n".join(vals))


@validators.command("propose")
@click.argument("address")
@click.option("--add/--remove", "add", default=True, help="Vote to add (default) or remove ADDRESS.")
@RPC_OPTION
def validators_propose(address: str, add: bool, url: str) -> None:
    """Cast this node's vote to add or remove ADDRESS (qbft_proposeValidatorVote).

    The node puts the vote into the blocks it proposes; an add vote is only cast while the new
    validator's node is connected and synced, so the network never waits for an offline validator.
    """
    checksum = _address(address)
    rpc_call(url, "qbft_proposeValidatorVote", checksum, add)
    st = validator_status(url, blocks=1)
    click.echo(f"vote to {'add' if add else 'remove'} {checksum} recorded; it applies once "
               f"{st['voteThreshold']} of {len(st['validators'])} validators vote the same way")


@validators.command("discard")
@click.argument("address")
@RPC_OPTION
def validators_discard(address: str, url: str) -> None:
    """Withdraw this node's pending vote on ADDRESS (qbft_discardValidatorVote)."""
    checksum = _address(address)
    had = rpc_call(url, "qbft_discardValidatorVote", checksum)
    click.echo(f"vote on {checksum} discarded" if had else f"no pending vote on {checksum}")


@validators.command("status")
@RPC_OPTION
@click.option("--blocks", default=100, show_default=True, help="Window for the proposal counts.")
@click.option("--json", "as_json", is_flag=True)
def validators_status(url: str, blocks: int, as_json: bool) -> None:
    """Validator set, pending votes of this node, and blocks proposed per validator."""
    st = validator_status(url, blocks)
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    click.echo(f"head #{st['head']}: {len(st['validators'])} validator(s), a change needs {st['voteThreshold']} votes")
    for s in st["signers"]:
        role = "validator" if s["validator"] else "former  "
        click.echo(f"  {s['address']}  {role}  proposed {s['proposed']:>4} of blocks {st['window'][0]}-"
                   f"{st['window'][1]}  last #{s['lastProposed']}")
    if st["pendingVotes"]:
        click.echo("pending votes of this node:")
        for address, kind in st["pendingVotes"].items():
            click.echo(f"  {kind:<6} {address}")
    else:
        click.echo("no pending votes on this node")


# -- the on-chain account allow-list (ConsortiumValidators) -----------------------------------------------

CONTRACT_OPTIONS = [
    click.option("--contract", "contract_address", help="ConsortiumValidators address."),
    click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False),
                 help="Deployment manifest to read the ConsortiumValidators address from (default deployment.json)."),
]


def _with_contract_options(fn: Any) -> Any:
    for option in reversed(CONTRACT_OPTIONS):
        fn = option(fn)
    return fn


def _allowlist_contract(w3: Any, contract_address: str | None, manifest_path: str | None) -> Any:
    """The ``ConsortiumValidators`` contract object, from ``--contract`` or the deployment manifest."""
    from co3chain.contracts.deploy import ArtifactSet, load_manifest

    if contract_address is None:
        manifest = load_manifest(manifest_path or "deployment.json")
        try:
            contract_address = str(manifest["contracts"]["ConsortiumValidators"]["address"])
        except (KeyError, TypeError):
            raise Co3Error("the manifest has no ConsortiumValidators contract: give --contract") from None
    address = _address(contract_address)
    if not w3.eth.get_code(address):
        raise Co3Error(f"no contract at {address} on this chain")
    abi = ArtifactSet.committed().artifact("ConsortiumValidators")["abi"]
    return w3.eth.contract(address=address, abi=abi)


def allowlist_status(contract: Any) -> dict[str, Any]:
    """Allowed accounts, pending allow-list changes with their vote counts, and the majority needed."""
    f = contract.functions
    accounts, directions = f.getPendingAccountChanges().call()
    return {
        "contract": contract.address,
        "validators": [to_checksum_address(v) for v in f.getValidators().call()],
        "voteThreshold": int(f.voteThreshold().call()),
        "allowed": [to_checksum_address(a) for a in f.getAllowedAccounts().call()],
        "pending": [
            {"account": to_checksum_address(a), "change": "allow" if allowed else "refuse",
             "votes": int(f.accountVotesFor(a, allowed).call())}
            for a, allowed in zip(accounts, directions, strict=True)
        ],
    }


@validators.command("allow-account")
@click.argument("address")
@click.option("--allow/--refuse", "allowed", default=True, help="Vote to allow (default) or to refuse ADDRESS.")
@click.option("--withdraw", is_flag=True, help="Withdraw this validator's pending vote instead of casting one.")
@_with_contract_options
@click.option("--key-file", type=click.Path(dir_okay=False), help="This PA's validator keystore (v3 JSON).")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the keystore password.")
@click.option("--dev-key", help="Validator private key as hex (development networks only).")
@RPC_OPTION
def validators_allow_account(address: str, allowed: bool, withdraw: bool, contract_address: str | None,
                             manifest_path: str | None, key_file: str | None, password_file: str | None,
                             dev_key: str | None, url: str) -> None:
    """Vote (as a validator of ConsortiumValidators) that ADDRESS may or may not send transactions.

    The change applies once a majority (⌊n/2⌋+1) of the contract's validators cast the same vote: one PA
    alone can neither admit an account nor cut one off.
    """
    from co3chain.contracts.cli import _signing_account, _web3
    from co3chain.contracts.deploy import ArtifactSet, TxSender

    account = _address(address)
    signer = _signing_account(key_file, password_file, dev_key)
    w3 = _web3(url)
    contract = _allowlist_contract(w3, contract_address, manifest_path)
    sender = TxSender(w3, signer, decoder=ArtifactSet.committed().error_decoder())
    direction = "allow" if allowed else "refuse"
    if withdraw:
        sender.call_fn(contract, "withdrawAccountVote", [account, allowed], f"withdrawing the vote to {direction}")
        click.echo(f"vote to {direction} {account} withdrawn")
        return
    receipt = sender.call_fn(contract, "allowAccount", [account, allowed], f"voting to {direction} {account}")
    applied = contract.events.AccountAllowed().process_receipt(receipt, errors=_discard())
    if applied:
        click.echo(f"{account} is now {'allowed' if allowed else 'refused'} (majority reached with this vote)")
        return
    votes = int(contract.functions.accountVotesFor(account, allowed).call())
    needed = int(contract.functions.voteThreshold().call())
    click.echo(f"vote to {direction} {account} recorded: {votes} of {needed} votes needed")


@validators.command("accounts")
@_with_contract_options
@RPC_OPTION
@click.option("--json", "as_json", is_flag=True)
def validators_accounts(contract_address: str | None, manifest_path: str | None, url: str, as_json: bool) -> None:
    """The on-chain account allow-list: allowed accounts and pending changes with their votes."""
    from co3chain.contracts.cli import _web3

    st = allowlist_status(_allowlist_contract(_web3(url), contract_address, manifest_path))
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    click.echo(f"{st['contract']}: {len(st['validators'])} validator(s), a change needs {st['voteThreshold']} votes")
    click.echo(f"allowed accounts ({len(st['allowed'])}; validators are always allowed):")
    for a in st["allowed"]:
        click.echo(f"  {a}")
    if st["pending"]:
        click.echo("pending changes:")
        for p in st["pending"]:
            click.echo(f"  {p['change']:<6} {p['account']}  {p['votes']}/{st['voteThreshold']} votes")
    else:
        click.echo("no pending changes")


def _discard() -> Any:
    from web3.logs import DISCARD

    return DISCARD
