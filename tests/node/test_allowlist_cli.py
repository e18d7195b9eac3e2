"""``co3chain accounts allow|deny|list`` against anvil: allow-list votes need the majority (three validators),
can be withdrawn, and refusals name the contract's custom error. The old ``validators allow-account`` points here."""

from __future__ import annotations

import json

from click.testing import CliRunner
from eth_account import Account
from web3 import HTTPProvider, Web3

from co3chain.cli import cli
from co3chain.contracts.compiler import load_artifact
from co3chain.contracts.deploy import TxSender, encode_constructor_args
from tests.anvil import ANVIL_KEY, require_anvil, running_anvil

MEMBER_KEYS = [ANVIL_KEY, "0x" + "a1" * 32, "0x" + "a2" * 32]
USER = "0x" + "5e" * 20


def _deploy(url: str) -> str:
    w3 = Web3(HTTPProvider(url))
    funder = TxSender(w3, Account.from_key(ANVIL_KEY))
    for key in MEMBER_KEYS[1:]:
        funder.transact({"to": Account.from_key(key).address, "value": 10**18}, "funding")
    art = load_artifact("ConsortiumValidators")
    members = [Account.from_key(k).address for k in MEMBER_KEYS]
    data = "0x" + art["bytecode"].removeprefix("0x") + encode_constructor_args(art["abi"], [members]).hex()
    return str(funder.transact({"data": data}, "deploy")["contractAddress"])


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["accounts", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_allow_account_votes_apply_at_the_majority() -> None:
    require_anvil()
    with running_anvil() as url:
        contract = _deploy(url)
        common = ["--contract", contract, "--rpc", url]
        out = _run("allow", USER, "--dev-key", MEMBER_KEYS[0], *common)
        assert "recorded: 1 of 2 votes needed" in out and "not allowed" in out
        st = json.loads(_run("list", "--json", *common))
        assert st["accounts"] == [] and st["voteThreshold"] == 2
        assert st["pending"] == [{"account": Web3.to_checksum_address(USER), "change": "allow", "votes": 1}]
        out = _run("allow", USER, "--dev-key", MEMBER_KEYS[1], *common)
        assert "allowed (majority reached)" in out
        st = json.loads(_run("list", "--json", *common))
        assert st["accounts"] == [Web3.to_checksum_address(USER)] and st["pending"] == []

        # One vote to cut it off, withdrawn again: still allowed; a repeated vote fails with the reason.
        denied = CliRunner().invoke(cli, ["accounts", "deny", USER, "--dev-key", MEMBER_KEYS[2], "--json", *common])
        assert denied.exit_code == 0, denied.output
        voted = json.loads(denied.stdout)  # the raw-key warning goes to stderr
        assert voted["allowed"] is True and voted["applied"] is False and voted["votes"] == 1
        again = CliRunner().invoke(cli, ["accounts", "deny", USER, "--dev-key", MEMBER_KEYS[2], *common])
        assert again.exit_code == 1
        assert again.output.splitlines()[-1].startswith("error: refused by the contract: AlreadyVoted(")
        assert "withdrawn" in _run("deny", USER, "--withdraw", "--dev-key", MEMBER_KEYS[2], *common)
        assert "no pending changes" in _run("list", *common)
        outsider = CliRunner().invoke(cli, ["accounts", "allow", USER, "--dev-key", "0x" + "a3" * 32, *common])
        assert outsider.exit_code != 0 and "NotValidator" in outsider.output


def test_the_old_validators_commands_point_to_accounts() -> None:
    moved = CliRunner().invoke(cli, ["validators", "allow-account", USER, "--dev-key", MEMBER_KEYS[0]])
    assert moved.exit_code == 1 and "co3chain accounts allow" in moved.output
    listed = CliRunner().invoke(cli, ["validators", "accounts", "--json"])
    assert listed.exit_code == 1 and "co3chain accounts list" in listed.output
