"""A deployed CO3 suite on the audit devnet with two finished proposals (token-weighted open vote with a
delegation; one-citizen-one-vote commit–reveal with an unrevealed commitment)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from co3chain.contracts import compiler
from co3chain.contracts.deploy import ArtifactSet, deploy_suite
from tests.audit.devnet import CHAIN_ID, USER_KEYS, VALIDATOR_KEYS, Devnet, DevnetProvider, addr


@dataclass
class GovScenario:
    devnet: Devnet
    w3: Web3
    manifest: dict[str, Any]
    contracts: dict[str, Any]
    token_proposal: int
    cr_proposal: int
    expected_token_tally: tuple[int, int, int]
    expected_cr_tally: tuple[int, int, int]
    #: one-citizen-one-vote proposal voted by a district group (citizens 0-2): electorate audit
    electorate_proposal: int = 0
    electorate: int = 0


def transact(w3: Web3, fn: Any, key: bytes) -> Any:
    sender = to_checksum_address(addr(key))
    tx = fn.build_transaction({"from": sender, "nonce": w3.eth.get_transaction_count(sender), "gas": 3_000_000,
                               "gasPrice": 0, "chainId": CHAIN_ID})
    raw = Account.from_key(key).sign_transaction(tx).raw_transaction
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))
    assert receipt["status"] == 1, f"{fn.fn_name} reverted"
    return receipt


def build_artifacts() -> ArtifactSet:
    """The committed artifacts when they match the working tree, else a (disk-cached) fresh compile."""
    if compiler.artifacts_are_fresh():
        return ArtifactSet.committed()
    return ArtifactSet.from_build(compiler.compile_project())


def build_scenario(arts: ArtifactSet) -> GovScenario:
    d = Devnet(n_validators=4)
    w3 = Web3(DevnetProvider(d))
    deployer = USER_KEYS[0]
    citizens = USER_KEYS[1:7]
    manifest = deploy_suite(w3, Account.from_key(deployer), oracle_signers=[to_checksum_address(addr(USER_KEYS[11]))],
                            oracle_threshold=1, validators=[to_checksum_address(addr(k)) for k in VALIDATOR_KEYS[:4]],
                            artifacts=arts, handover=False, voting_bounds=(0, 2**40, 1, 2**40))
    c = {name: w3.eth.contract(address=e["address"], abi=arts.artifact(name)["abi"])
         for name, e in manifest["contracts"].items()}
    token, registry, gov = c["CommonsToken"], c["CitizenRegistry"], c["CO3Governance"]
    transact(w3, token.functions.grantRole(keccak(text="MINTER_ROLE"), to_checksum_address(addr(deployer))), deployer)
    for i, k in enumerate(citizens):
        transact(w3, registry.functions.register(to_checksum_address(addr(k)), keccak(text=f"id-{i}"), d.now + 10**8),
                 deployer)
    amounts = [100, 250, 40, 70, 30]
    for k, amount in zip(citizens[:5], amounts, strict=True):
        transact(w3, token.functions.mint(to_checksum_address(addr(k)), amount), deployer)
    # citizen 4 delegates to citizen 3: citizen 3 then votes with 70 + 30.
    transact(w3, token.functions.delegate(to_checksum_address(addr(citizens[3]))), citizens[4])

    # A district of the deployer's PA (PA 1) with citizens 0-2: the electorate of the third proposal.
    rg = transact(w3, registry.functions.createGroup(0, keccak(text="district")), deployer)
    group_id = registry.events.GroupCreated().process_receipt(rg)[0]["args"]["groupId"]
    for k in citizens[:3]:
        transact(w3, registry.functions.addToGroup(group_id, to_checksum_address(addr(k))), deployer)
    electorate = (2 << 248) | group_id

    vs, ve, re_ = d.now + 20, d.now + 200, d.now + 400
    r1 = transact(w3, gov.functions.propose(0, 1, False, vs, ve, 0, "token vote"), deployer)
    r2 = transact(w3, gov.functions.propose(0, 0, True, vs, ve, re_, "commit-reveal vote"), deployer)
    p1 = gov.events.ProposalCreated().process_receipt(r1)[0]["args"]["proposalId"]
    p2 = gov.events.ProposalCreated().process_receipt(r2)[0]["args"]["proposalId"]
    r3 = transact(w3, gov.functions.proposeFor(0, electorate, (0, False, vs, ve, 0), [], [], [], "district vote"),
                  deployer)
    p3 = gov.events.ProposalCreated().process_receipt(r3)[0]["args"]["proposalId"]
    d.time_travel(vs + 1)
    # All four open votes in one block: an omitted log then hides behind a bloom that other logs explain.
    raws = []
    for k, support in zip(citizens[:4], [1, 0, 1, 1], strict=True):
        sender = to_checksum_address(addr(k))
        tx = gov.functions.castVote(p1, support).build_transaction(
            {"from": sender, "nonce": w3.eth.get_transaction_count(sender), "gas": 500_000, "gasPrice": 0,
             "chainId": CHAIN_ID})
        raws.append(bytes(Account.from_key(k).sign_transaction(tx).raw_transaction))
    d.produce(raws)
    for k in citizens[:2]:  # two district members vote For; citizen 3 is no member and could not vote
        transact(w3, gov.functions.castVote(p3, 1), k)
    salts = [keccak(text=f"salt-{i}") for i in range(3)]
    supports = [1, 0, 1]
    for k, s, salt in zip(citizens[:3], supports, salts, strict=True):
        commitment = keccak(abi_encode(["uint256", "address", "uint8", "bytes32"], [p2, addr(k), s, salt]))
        transact(w3, gov.functions.commitVote(p2, commitment), k)
    d.time_travel(ve + 1)
    for k, s, salt in zip(citizens[:2], supports[:2], salts[:2], strict=True):  # the third never reveals
        transact(w3, gov.functions.revealVote(p2, to_checksum_address(addr(k)), s, salt), deployer)
    d.time_travel(re_ + 1)
    return GovScenario(d, w3, manifest, c, p1, p2, (250, 100 + 40 + 100, 0), (1, 1, 0), p3, electorate)
