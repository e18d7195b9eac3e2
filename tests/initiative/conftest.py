"""Fixtures for the citizen-initiative tests: the whole suite deployed by ``deploy_suite`` on eth-tester, with
two PAs' citizens registered, shared by a module and reset to a snapshot before each test.

Why the whole suite: an initiative only means something with the real registry (electorates, eligibility at a
snapshot) and the real governance (``proposeFor``), wired as the deploy script wires them (PROPOSER_ROLE on the
governance, RELAYER_ROLE). The deployer stays admin (``handover=False``) so tests can set thresholds directly,
as the timelock would after a council motion.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3

from co3chain.contracts import compiler
from co3chain.contracts.deploy import ArtifactSet, deploy_suite
from co3chain.initiative import typed_data as itd
from co3chain.initiative.content import Content, electorate_id
from tests.contracts.suite_helpers import events, role, send

DEPLOYER = Account.from_key(keccak(text="initiative test deployer"))
RELAYER = Account.from_key(keccak(text="initiative test relayer"))
REGISTRAR_B = Account.from_key(keccak(text="initiative test registrar of PA 2"))
#: Citizens 0..5 belong to PA 1, 6..7 to PA 2.
CITIZENS = [Account.from_key(keccak(text=f"initiative test citizen {i}")) for i in range(8)]
PA_A, PA_B = 1, 2
ELECTORATE_A, ELECTORATE_B = electorate_id("pa", PA_A), electorate_id("pa", PA_B)
DAY = 86_400
#: Deploy-time default threshold: 50 % of the electorate within 10 days.
DEFAULT_THRESHOLD = (1, 5000, 10 * DAY)


@pytest.fixture(scope="session")
def suite_artifacts() -> ArtifactSet:
    if compiler.artifacts_are_fresh():
        return ArtifactSet.committed()
    return ArtifactSet.from_build(compiler.compile_project())


@dataclass
class Chain:
    w3: Web3
    tester: EthereumTester
    manifest: dict[str, Any]
    ci: Any
    gov: Any
    registry: Any
    snapshots: list[Any] = field(default_factory=list)

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, timestamp: int) -> None:
        self.tester.time_travel(timestamp)

    # ---------------------------------------------------------------- initiative helpers
    def content(self, title: str = "Open the garden shed on Sundays", *, electorate: int = ELECTORATE_A,
                area: int = 0, mode: int = 0, period: int = DAY, actions: tuple = (), text: str | None = None) -> Content:
        return Content.build(text_hash=keccak(text=text or f"full text of {title}"), title=title, area_id=area,
                             electorate=electorate, mode=mode, voting_period=period, actions=actions)

    def draft(self, author: Any, content: Content) -> int:
        receipt = send(self.ci.functions.draft(content.as_tuple()), author)
        return int(events(self.ci, receipt, "InitiativeDrafted")[0]["args"]["initiativeId"])

    def open(self, author: Any, iid: int) -> dict[str, Any]:
        version = self.ci.functions.getInitiative(iid).call()[15]
        return send(self.ci.functions.open(iid, version), author)

    def sign_support(self, citizen: Any, iid: int, *, nonce: int | None = None, deadline: int | None = None,
                     version: bytes | None = None) -> tuple[int, int, bytes]:
        nonce = int(self.ci.functions.nonces(citizen.address, iid).call()) if nonce is None else nonce
        deadline = self.now() + 3600 if deadline is None else deadline
        version = bytes(self.ci.functions.getInitiative(iid).call()[15]) if version is None else version
        typed = itd.support_typed_data(self.chain_id, self.ci.address, initiative_id=iid, version_hash=version,
                                       supporter=citizen.address, nonce=nonce, deadline=deadline)
        return nonce, deadline, itd.sign(citizen.key, typed)

    def support_by_sig(self, citizen: Any, iid: int, **kw: Any) -> dict[str, Any]:
        nonce, deadline, sig = self.sign_support(citizen, iid, **kw)
        return send(self.ci.functions.supportBySig(iid, citizen.address, nonce, deadline, sig), RELAYER)


def _fund(w3: Web3, *accounts: Any) -> None:
    for acct in accounts:
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": Web3.to_wei(100, "ether")})


def build_chain(artifacts: ArtifactSet) -> Chain:
    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    for acct in (DEPLOYER, RELAYER, REGISTRAR_B, *CITIZENS):  # eth-tester signs their transact() calls
        tester.add_account("0x" + bytes(acct.key).hex())
    _fund(w3, DEPLOYER, RELAYER, REGISTRAR_B, *CITIZENS)
    manifest = deploy_suite(w3, DEPLOYER, oracle_signers=[DEPLOYER.address], oracle_threshold=1,
                            validators=[DEPLOYER.address], relayer=RELAYER.address, network="eth-tester",
                            artifacts=artifacts, timelock_delay=60, voting_bounds=(60, 30 * DAY, 3600, 90 * DAY),
                            initiative_threshold=DEFAULT_THRESHOLD, handover=False)
    contracts = {n: w3.eth.contract(address=e["address"], abi=artifacts.artifact(n)["abi"])
                 for n, e in manifest["contracts"].items()}
    registry = contracts["CitizenRegistry"]
    if int(registry.functions.paOf(DEPLOYER.address).call()) != PA_A:  # deploy_suite binds it to PA 1
        send(registry.functions.setAccountPa(DEPLOYER.address, PA_A), DEPLOYER)
    send(registry.functions.grantRole(role("REGISTRAR_ROLE"), REGISTRAR_B.address), DEPLOYER)
    send(registry.functions.setAccountPa(REGISTRAR_B.address, PA_B), DEPLOYER)
    expiry = int(w3.eth.get_block("latest")["timestamp"]) + 365 * DAY
    for i, c in enumerate(CITIZENS):
        registrar = DEPLOYER if i < 6 else REGISTRAR_B
        send(registry.functions.register(c.address, keccak(text=f"identity {i}"), expiry), registrar)
    chain = Chain(w3, tester, manifest, contracts["CitizenInitiatives"], contracts["CO3Governance"], registry)
    chain.travel(chain.now() + 10)  # registrations are in the past of every test's snapshot
    return chain


@pytest.fixture(scope="module")
def module_chain(suite_artifacts: ArtifactSet) -> Chain:
    return build_chain(suite_artifacts)


@pytest.fixture
def chain(module_chain: Chain) -> Iterator[Chain]:
    snapshot = module_chain.tester.take_snapshot()
    yield module_chain
    module_chain.tester.revert_to_snapshot(snapshot)
