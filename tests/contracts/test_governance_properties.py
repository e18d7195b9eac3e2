"""Property: for any sequence of voters, supports and weights, in any counting mode, with or without
commit–reveal, the on-chain tally equals (a) the tally recomputed from ``VoteCast``/``VoteRevealed`` events
and (b) the sum expected from the weights the test handed out; the final state follows from them.

This is what the audit toolkit relies on: events alone must be enough to recompute every tally.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from co3chain.contracts.governance_typed_data import (
    CountingMode,
    ProposalState,
    sign_commitment,
    vote_commitment,
)
from co3chain.electorates import pa_electorate
from tests.contracts.suite_helpers import reverts, send
from tests.contracts.test_governance import Gov, area_domain, build_gov

voter_spec = st.fixed_dictionaries(
    {
        "weight": st.integers(min_value=1, max_value=10**24),
        "support": st.integers(min_value=0, max_value=2),
        "reveal": st.booleans(),
        "retry": st.booleans(),  # try to vote a second time (must revert, tally unchanged)
    }
)

_keys = itertools.count()


@pytest.fixture
def gov_env(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Gov:
    """One deployment per test; every Hypothesis example uses a new proposal and new voter keys."""
    return build_gov(w3, tester, accounts, deploy)


def _fresh_key() -> bytes:
    return bytes(Web3.keccak(text=f"co3-gov-property-voter-{next(_keys)}"))


def _give_weight(g: Gov, mode: CountingMode, address: str, weight: int, n: int) -> None:
    g.register(address, n)  # every counting mode requires an eligible citizen
    if mode == CountingMode.ONE_CITIZEN_ONE_VOTE:
        return
    if mode == CountingMode.TOKEN_WEIGHTED:
        send(g.token.functions.mint(address, weight), g.admin)  # first mint self-delegates
    else:
        # At least 10**6: a tiny award floors to 0 after seconds of decay, and a zero weight cannot vote.
        send(g.reputation.functions.award(address, area_domain(g.area_id), weight % 10**12 + 10**6), g.admin)


def _expected_weight(g: Gov, mode: CountingMode, address: str, weight: int, snapshot: int) -> int:
    if mode == CountingMode.ONE_CITIZEN_ONE_VOTE:
        return 1
    if mode == CountingMode.TOKEN_WEIGHTED:
        return weight
    # Decay is the reputation contract's business (tested there): read the decayed value it reports.
    return g.reputation.functions.getPastScore(address, area_domain(g.area_id), snapshot).call()


def _tally_from_events(g: Gov, pid: int, from_block: int) -> list[int]:
    tally = [0, 0, 0]
    for name in ("VoteCast", "VoteRevealed"):
        event = getattr(g.gov.events, name)
        for log in event.get_logs(from_block=from_block, argument_filters={"proposalId": pid}):
            tally[log.args.support] += log.args.weight
    return tally


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mode=st.sampled_from(list(CountingMode)),
    commit_reveal=st.booleans(),
    quorum_numerator=st.integers(min_value=0, max_value=100),
    voters=st.lists(voter_spec, min_size=1, max_size=5),
)
def test_tally_equals_events_and_expected_sum(
    gov_env: Gov,
    mode: CountingMode,
    commit_reveal: bool,
    quorum_numerator: int,
    voters: list[dict[str, Any]],
) -> None:
    g = gov_env
    keys = [_fresh_key() for _ in voters]
    addresses = [Account.from_key(k).address for k in keys]
    for n, (address, spec) in enumerate(zip(addresses, voters, strict=True)):
        _give_weight(g, mode, address, spec["weight"], n)
    send(g.gov.functions.setQuorumNumerator(quorum_numerator), g.admin)
    first_block = g.w3.eth.block_number
    pid, start, end, reveal_end = g.propose(
        area_id=g.area_id, mode=mode, commit_reveal=commit_reveal, start_in=2, description=f"p{first_block}"
    )
    g.goto(start + 1)

    salts = [bytes(Web3.keccak(k)) for k in keys]
    for key, address, salt, spec in zip(keys, addresses, salts, voters, strict=True):
        if commit_reveal:
            commitment = vote_commitment(pid, address, spec["support"], salt)
            sig = sign_commitment(
                key, g.chain_id, g.gov.address, proposal_id=pid, commitment=commitment, nonce=0
            )
            send(g.gov.functions.commitVoteBySig(pid, commitment, address, 0, sig), g.relayer)
            assert g.votes(pid) == (0, 0, 0)  # hidden until revealed
        else:
            g.vote_by_sig(key, pid, spec["support"])
        if spec["retry"]:
            before = g.votes(pid)
            with reverts("AlreadyVoted(address,uint256)", address, pid):
                if commit_reveal:
                    other = vote_commitment(pid, address, (spec["support"] + 1) % 3, salt)
                    sig = sign_commitment(
                        key, g.chain_id, g.gov.address, proposal_id=pid, commitment=other, nonce=1
                    )
                    g.gov.functions.commitVoteBySig(pid, other, address, 1, sig).transact(
                        {"from": g.relayer.address}
                    )
                else:
                    g.vote_by_sig(key, pid, (spec["support"] + 1) % 3, nonce=1)
            assert g.votes(pid) == before

    counted = [True] * len(voters)
    if commit_reveal:
        assert g.votes(pid) == (0, 0, 0)
        g.goto(end + 1)
        for address, salt, spec in zip(addresses, salts, voters, strict=True):
            if spec["reveal"]:
                send(g.gov.functions.revealVote(pid, address, spec["support"], salt), g.relayer)
        counted = [spec["reveal"] for spec in voters]
        g.goto(reveal_end + 1)
    else:
        g.goto(end + 1)

    expected = [0, 0, 0]
    for address, spec, is_counted in zip(addresses, voters, counted, strict=True):
        if is_counted:
            expected[spec["support"]] += _expected_weight(g, mode, address, spec["weight"], start)
    on_chain = list(g.votes(pid))
    assert on_chain == _tally_from_events(g, pid, first_block) == expected

    # The final state follows from the recomputed tally and the quorum read at voteStart. An area proposal is
    # voted by the managing PA's citizens (pa:1): in every mode its quorum is a head count of For + Abstain
    # voters over the eligible members at the snapshot (docs/electorates.md).
    assert g.gov.functions.proposalElectorate(pid).call() == pa_electorate(1)
    total = g.registry.functions.getPastElectorateSize(pa_electorate(1), start).call()
    assert total == g.registry.functions.getPastEligibleCount(start).call()  # every test citizen is PA 1's
    quorum = -(-quorum_numerator * total // 100)
    assert g.gov.functions.quorum(pid).call() == quorum
    against, for_, abstain = expected
    # Committed but unrevealed weight counts against.
    unrevealed = sum(_expected_weight(g, mode, a, spec["weight"], start)
                     for a, spec, c in zip(addresses, voters, counted, strict=True) if not c)
    assert g.gov.functions.unrevealedVotes(pid).call() == unrevealed
    supporters = sum(1 for spec, c in zip(voters, counted, strict=True) if c and spec["support"] != 0)
    succeeded = supporters >= quorum and for_ > against + unrevealed
    assert g.state(pid) == (ProposalState.SUCCEEDED if succeeded else ProposalState.DEFEATED)
