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
from co3chain.node.rpcclient import rpc_call

RPC_OPTION = click.option("--rpc", "url", default="http://127.0.0.1:8545", show_default=True, help="Node JSON-RPC URL.")


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


# -- the on-chain account allow-list moved to ``co3chain accounts`` (one CLI for it) ------------------------

_MOVED = {"context_settings": {"ignore_unknown_options": True, "allow_extra_args": True}, "hidden": True}


@validators.command("allow-account", **_MOVED)
def validators_allow_account() -> None:
    """Moved to ``co3chain accounts allow|deny``."""
    raise Co3Error("moved: use `co3chain accounts allow ADDRESS` or `co3chain accounts deny ADDRESS` "
                   "(same majority vote; --withdraw takes a vote back)")


@validators.command("accounts", **_MOVED)
def validators_accounts() -> None:
    """Moved to ``co3chain accounts list``."""
    raise Co3Error("moved: use `co3chain accounts list` (allowed accounts and pending changes with their votes)")


def _discard() -> Any:
    from web3.logs import DISCARD

    return DISCARD
