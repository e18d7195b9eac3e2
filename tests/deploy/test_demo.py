"""The demo end to end against anvil: printed summary and on-chain state (balances, tallies, states)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from web3 import HTTPProvider, Web3

from co3chain.cli import cli
from co3chain.contracts import deploy as dep
from co3chain.contracts.demo import CITIZENS, TOKEN, dev_citizen_accounts

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

#: Expected (for, against, abstain) per proposal of the *second* run, in creation order (Demo.run's ballot
#: plan). After two runs the token weights are Alice 30, Bruno 20, Chiara 10, Dario 20, Elena 10 CO3:
#: For = Alice + Dario, Against = Bruno + Chiara + Elena.
EXPECTED_TALLIES = [
    ("Renovate the playground", (3, 1, 1), "Succeeded"),
    ("night lighting", (50 * TOKEN, 40 * TOKEN, 0), "Succeeded"),
]


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_demo_deploys_then_reuses_the_manifest(anvil_url: str, tmp_path: Path, use_suite_artifacts,
                                               monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "220")  # rich tables wide enough to keep descriptions on one line
    manifest_path = tmp_path / "deployment.json"

    first = _run(["demo", "--rpc", anvil_url, "--manifest", str(manifest_path)])
    assert first.exit_code == 0, first.output
    out = first.stdout
    assert "no deployment given: deploying the suite first" in out
    assert "9 AR check-ins attested by 2-of-3 oracles" in out
    lines = out.splitlines()
    row = next(line for line in lines if "Renovate the playground" in line and "OneCitizenOneVote" in line)
    assert [c.strip() for c in row.split("│")[4:9]] == ["3", "1", "1", "1", "Succeeded"]
    garden = next(line for line in lines if "community garden" in line and "ReputationWeighted" in line)
    assert garden.rstrip(" │").endswith("Defeated")
    alice = next(line for line in lines if line.startswith("│ Alice"))
    assert [c.strip() for c in alice.split("│")[3:5]] == ["3", "15.00"]
    assert "EIP-712 signature, relayed" in out and "direct transaction" in out
    # The residents-only area vote (issue 11): Dario is registered but no resident; his ballot is refused.
    area_vote = next(line for line in lines if line.startswith("Area vote"))
    assert "3 eligible" in area_vote and "Succeeded" in area_vote
    assert "Dario's ballot refused: NoVotingWeight" in out
    assert manifest_path.exists()

    manifest = dep.load_manifest(manifest_path)
    w3 = Web3(HTTPProvider(anvil_url))
    contracts = dep.contracts_from_manifest(w3, manifest)
    token, gov, registry = contracts["CommonsToken"], contracts["CO3Governance"], contracts["CitizenRegistry"]
    citizens = dev_citizen_accounts()
    for acct, (_, checkins, _) in zip(citizens, CITIZENS, strict=True):
        assert registry.functions.isCitizen(acct.address).call()
        assert token.functions.balanceOf(acct.address).call() == 5 * TOKEN * checkins
    assert token.functions.totalSupply().call() == 45 * TOKEN
    # the summary names each proposal's id, the argument of `co3chain audit proposal`
    assert "co3chain audit proposal ID" in out
    printed = [line.split()[1] for line in lines if line.startswith("  #")]
    assert len(printed) == 5 and all(len(pid) == 66 for pid in printed)
    # as in the table: Succeeded, Succeeded, Defeated, Executed (the quorum action), Canceled (council veto)
    assert [gov.functions.state(int(pid, 16)).call() for pid in printed] == [3, 3, 4, 8, 5]
    assert gov.functions.quorumNumerator().call() == 15  # changed by the executed proposal, via the timelock
    assert "Executed (timelock executed setQuorumNumerator(15))" in out
    assert "vetoed by the council: unlawful" in out
    vetoed = gov.events.ProposalVetoed().get_logs(from_block=0)
    assert [v["args"]["guardian"] for v in vetoed] == [contracts["ConsortiumCouncil"].address]
    # the deployer holds no admin role anywhere: the timelock does
    for c in contracts.values():
        if any(i.get("name") == "hasRole" for i in c.abi):
            assert not c.functions.hasRole(dep.role_id("DEFAULT_ADMIN_ROLE"), manifest["deployer"]).call()

    # the secret election: 3 of 4 PA trustees decrypted, the count matches the plan, and anyone can audit it
    assert "Secret election 1 (3 of 4 PA trustees decrypted; 4 encrypted ballots, one re-vote)" in out
    assert "co3chain audit ballot 1 --rpc URL --manifest FILE" in out
    sb = contracts["SecretBallot"]
    finals = sb.events.TallyFinalized().get_logs(from_block=0)
    assert len(finals) == 1 and sum(finals[0]["args"]["counts"]) == 3 and len(finals[0]["args"]["trusteeIndices"]) == 3
    audited = _run(["audit", "ballot", "1", "--rpc", anvil_url, "--manifest", str(manifest_path),
                    "--json", str(tmp_path / "ballot.json")])
    assert audited.exit_code == 0, audited.output
    assert audited.output.startswith("Audit passed: secret election 1 was counted correctly")
    assert json.loads((tmp_path / "ballot.json").read_text())["stats"]["counts"] == list(finals[0]["args"]["counts"])

    # second run on the same deployment, machine-readable
    second = _run(["demo", "--rpc", anvil_url, "--manifest", str(manifest_path), "--json"])
    assert second.exit_code == 0, second.output
    result = json.loads(second.stdout)
    assert result["area_id"] == 2 and result["activity_id"] == 2 and result["attestations"] == 9
    assert result["manifest"]["CO3Governance"] == gov.address
    assert [c["tokens"] for c in result["citizens"]] == [10 * TOKEN * n for _, n, _ in CITIZENS]
    for row, (text, tally, state) in zip(result["proposals"], EXPECTED_TALLIES, strict=False):
        assert text in row["description"]
        pid = int(row["proposal_id"], 16)
        against, for_, abstain = gov.functions.proposalVotes(pid).call()
        assert (for_, against, abstain) == tally
        assert (row["for_"], row["against"], row["abstain"]) == tally
        assert row["state"] == state
        assert gov.functions.state(pid).call() == ("Pending", "Active", "Revealing", "Succeeded", "Defeated").index(
            state
        )
    # reputation-weighted: Alice (3 check-ins) outweighs Chiara + Elena, so the proposal is defeated
    garden = result["proposals"][2]
    assert garden["mode"] == "ReputationWeighted" and garden["state"] == "Defeated"
    assert garden["against"] > garden["for_"] > 0
    secret = result["secret_election"]
    assert secret["electionId"] == 2 and secret["counts"] == secret["expected"] and secret["audit"]["ok"]
    relayed = [v["relayed"] for p in result["proposals"] for v in p["votes"]]
    assert relayed.count(False) == 2 and relayed.count(True) == 14


def test_demo_waits_for_real_time_without_evm_increase_time(anvil_url: str, suite_artifacts):
    """The real-node path: no time warp, short voting windows, blocks sealed on demand (anvil automine
    produces no empty blocks, like a chain that only seals blocks with transactions)."""
    import io

    from eth_account import Account
    from rich.console import Console

    from co3chain.contracts.demo import DEV_DEPLOYER_KEY, run_demo

    buffer = io.StringIO()
    progress: list[str] = []
    result = run_demo(
        Web3(HTTPProvider(anvil_url)), Account.from_key(DEV_DEPLOYER_KEY), artifacts=suite_artifacts,
        progress=progress.append, console=Console(file=buffer, width=200), warp=False, windows=(3, 6),
    )
    assert any(line.startswith("waiting for chain time to pass") for line in progress)
    assert [p.state for p in result.proposals] == ["Succeeded", "Succeeded", "Defeated", "Executed", "Canceled"]
    assert (result.proposals[0].for_, result.proposals[0].against, result.proposals[0].abstain) == (3, 1, 1)
    assert (result.proposals[1].for_, result.proposals[1].against) == (25 * TOKEN, 20 * TOKEN)
    assert "Renovate the playground of Parco del Valentino" in buffer.getvalue()
    assert result.secret_election is not None and result.secret_election["audit"]["ok"]
    assert result.secret_election["counts"] == result.secret_election["expected"]


def test_deploy_and_demo_with_an_unfunded_key_on_a_zero_fee_chain(zero_fee_anvil_url: str, tmp_path: Path,
                                                                  use_suite_artifacts,
                                                                  monkeypatch: pytest.MonkeyPatch):
    """On a zero-gas-price chain (like ours) nobody needs Ether: deploy and demo from a key with no balance."""
    from eth_utils import keccak
    from web3.eth import Eth

    # anvil accepts zero fees with these flags but still *suggests* a 1 gwei tip in eth_gasPrice; our node
    # suggests 0. Make the client see what our node answers (the transactions still go to anvil).
    monkeypatch.setattr(Eth, "gas_price", property(lambda self: 0))

    key = "0x" + keccak(text="a PA officer with an empty wallet").hex()
    manifest_path = tmp_path / "deployment.json"
    deployed = _run(["deploy", "--rpc", zero_fee_anvil_url, "--dev-key", key, "--out", str(manifest_path)])
    assert deployed.exit_code == 0, deployed.output
    demo = _run(["demo", "--rpc", zero_fee_anvil_url, "--dev-key", key, "--manifest", str(manifest_path), "--json"])
    assert demo.exit_code == 0, demo.output
    result = json.loads(demo.stdout)
    # `co3chain deploy` gave no relayer and kept no admin: the council (here the deployer alone) granted the
    # officer RELAYER_ROLE through the timelock (2-day delay, warped on anvil)
    assert "granted RELAYER_ROLE on CO3Governance to the PA officer" in demo.stderr
    assert "through the council and the timelock" in demo.stderr
    assert [p["state"] for p in result["proposals"]] == ["Succeeded", "Succeeded", "Defeated", "Executed", "Canceled"]
    w3 = Web3(HTTPProvider(zero_fee_anvil_url))
    officer = dep.load_manifest(manifest_path)["deployer"]
    assert w3.eth.get_balance(officer) == 0
    assert all(w3.eth.get_balance(a.address) == 0 for a in dev_citizen_accounts())
