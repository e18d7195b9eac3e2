"""The whole app-developer stack on our own node, as real processes, for the end-to-end tests and the bench.

What runs: one ``co3chain node start`` (``network init --validators 1``, block period 1 s), the CO3 suite
deployed on it with ``deploy_suite`` (hub with 3 oracle signers, threshold 2), ``co3chain api serve`` (relayer
+ one PA API key + background indexer), and three ``co3chain oracle run`` operators (lead + 2 HTTP
co-signers, the same cluster layout the anvil oracle tests use).

Why real processes and our node instead of anvil: QBFT block format (extraData > 32 bytes), zero gas price
with one validator (citizens, relayer and oracle submitter hold no Ether; with more validators `network up`
makes a fixed-base-fee network and they get gas money from a PA; citizens never need any), 1 s block period and restarts of the node process
only show up this way. Every wait has a hard timeout; :func:`running_stack` always stops every process.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from eth_account import Account
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from co3chain.api.config import new_api_key
from co3chain.contracts.deploy import (
    DEV_VOTING_BOUNDS,
    contracts_from_manifest,
    deploy_suite,
    qbft_compatible,
    save_manifest,
)
from co3chain.node import localnet
from co3chain.sdk import Client
from tests.node.procs import NodeProcess, free_port, make_network
from tests.oracle.cluster import SUBMITTER_KEY, Cluster
from tests.oracle.helpers import SIGNERS, SQUARE, checkin_body

REPO = Path(__file__).resolve().parents[2]
CO3_EXE = REPO / ".venv" / "bin" / "co3chain"

#: The PA officer: deploys the suite (admin, registrar, area manager, proposer) and signs PA API writes.
#: Zero gas price on our chain: none of these accounts is funded.
PA_ACCOUNT = Account.from_key(keccak(text="co3chain e2e PA officer"))
RELAYER = Account.from_key(keccak(text="co3chain e2e relayer"))
SUBMITTER = Account.from_key(SUBMITTER_KEY)
TOKEN_REWARD = 10
REPUTATION_REWARD = 5
AREA_ID = 1
ACTIVITY_ID = 1
FINAL_STATES = frozenset({"confirmed", "rejected"})

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.2) -> T:
    """Poll ``probe`` until it returns a truthy value; AssertionError naming ``what`` after ``timeout`` s.

    Exceptions from ``probe`` count as "not yet" (a process may be restarting) but the last one is reported.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - reported below if the wait fails
            last_exc = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


@dataclass
class OracleAddresses:
    """What :meth:`Cluster.create` reads from its ``suite`` argument: the three contracts it talks to."""

    addresses: dict[str, str]


class ApiProcess:
    """``co3chain api serve`` as a child process; log to a file (a pipe nobody drains would block it)."""

    def __init__(self, workdir: Path, rpc_url: str, manifest_path: Path) -> None:
        self.workdir = workdir
        self.pa_key, pa_hash = new_api_key()
        self.config = workdir / "api.toml"
        self.config.write_text(
            '[api]\ndb = "api.sqlite"\n[relayer]\nprivate_key_env = "CO3_E2E_RELAYER_KEY"\n'
            "client_rate = 100000\nclient_burst = 100000\n"  # tests and benches relay for many citizens from one client
            "[indexer]\npoll_interval = 0.2\nmax_backoff = 2\n"
            f'[[keys]]\nhash = "{pa_hash}"\npa = "Comune E2E"\nprivate_key_env = "CO3_E2E_PA_KEY"\n'
            "rate = 100000\nburst = 100000\n", encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "api.log"
        self.cmd = [str(CO3_EXE), "api", "serve", "--rpc", rpc_url, "--manifest", str(manifest_path),
                    "--config", str(self.config), "--port", str(self.port)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        env = {**os.environ, "CO3_E2E_RELAYER_KEY": RELAYER.key.hex(), "CO3_E2E_PA_KEY": PA_ACCOUNT.key.hex()}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"co3chain api serve exited ({self.proc.returncode}):\n{self.tail()}")
            return httpx.get(self.url + "/v1/health", timeout=2).status_code == 200

        try:
            wait_for("the API to answer /v1/health", up, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.tail()}") from None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; no-op for a process that already exited."""
    if proc is None or proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@dataclass
class Stack:
    """Handles on the running stack plus the few operations the scenarios repeat."""

    workdir: Path
    node: NodeProcess | None  # the single-validator node
    net: LocalNetwork | None  # the multi-validator network (``co3chain network up``)
    w3: Web3
    manifest: dict[str, Any]
    contracts: dict[str, Any]
    api: ApiProcess
    cluster: Cluster
    pa: Client
    anon: Client
    #: raw webhook bodies by attestation id, so a scenario can replay the exact bytes
    sent: dict[str, bytes] = field(default_factory=dict)

    # ----------------------------------------------------------------- chain
    def chain_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def wait_chain_time(self, t: int, timeout: float = 60) -> int:
        """Wait until the head block's timestamp is strictly after ``t`` (voting windows open on block time)."""
        def after() -> int | None:
            now = self.chain_time()
            return now if now > t else None

        return wait_for(f"a block after timestamp {t}", after, timeout)

    def accepted_events(self, attestation_id: str) -> list[Any]:
        """Every ``AttestationAccepted`` log of ``attestation_id`` on the node, from genesis."""
        hub = self.contracts["AttestationHub"]
        return list(hub.events.AttestationAccepted().get_logs(
            from_block=0, argument_filters={"id": bytes.fromhex(attestation_id.removeprefix("0x"))}))

    def balance(self, address: str) -> int:
        return int(self.contracts["CommonsToken"].functions.balanceOf(address).call())

    # ----------------------------------------------------------------- API / SDK
    def wait_tx(self, tx_hash: str, timeout: float = 60) -> Any:
        status = self.anon.wait_for_tx(tx_hash, timeout=timeout)
        assert status.status == "success", status
        return status

    def new_citizen(self, label: str) -> Any:
        """A fresh citizen key (never funded) registered by the PA through the API."""
        citizen = Account.from_key(keccak(text=f"co3chain e2e citizen {label} {time.time_ns()}"))
        sent = self.pa.register_citizen(citizen.address, keccak(text=f"identity {citizen.address}"),
                                        self.chain_time() + 365 * 86_400)
        self.wait_tx(sent.txHash)
        return citizen

    @functools.cached_property
    def chain_id(self) -> int:
        """The network's chain id, read once (check-ins are device-signed for it even while the node is down)."""
        return int(self.w3.eth.chain_id)

    def wait_indexed(self, block: int, timeout: float = 60) -> int:
        """Wait until the API's background indexer has processed ``block``; returns its indexed height."""
        def reached() -> int | None:
            indexed = self.anon.health().indexedBlock
            return indexed if indexed is not None and indexed >= block else None

        return wait_for(f"the API indexer to reach block {block}", reached, timeout)

    # ----------------------------------------------------------------- oracle
    def checkin(self, citizen: Any, event_id: str) -> str:
        """POST an HMAC-signed AR check-in, device-signed by ``citizen``, to the lead; returns the attestation id."""
        body = checkin_body(event_id, key=citizen.key, timestamp=int(time.time()) - 5,
                            chain_id=self.chain_id, hub=self.contracts["AttestationHub"].address)
        resp = self.cluster.post_checkin(body)
        assert resp.status_code == 202, resp.text
        aid = str(resp.json()["attestation_id"])
        self.sent[aid] = body
        return aid

    def confirmed(self, attestation_id: str, timeout: float = 120) -> dict[str, Any]:
        """Wait until the lead reports the event final; fail unless it was confirmed on chain."""
        ev = self.cluster.wait_state(attestation_id, FINAL_STATES, timeout=timeout)
        assert ev["state"] == "confirmed", ev
        return ev

    def open_proposal(self, label: str) -> int:
        """A one-citizen-one-vote proposal by the PA (through the API) that is Active once this returns."""
        now = self.chain_time()
        created = self.pa.create_proposal(description=f"e2e {label} {time.time_ns()}", vote_start=now + 3,
                                          vote_end=now + 3600)
        self.wait_tx(created.txHash)
        self.wait_chain_time(now + 3)
        return int(created.proposalId)

    def submitter_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(SUBMITTER.address))


def seed_area(pa: Client, anon: Client, chain_time: int) -> None:
    """Area 1 (the Turin square the oracle cluster's geofence file holds) with check-in activity 1, via the API."""
    created = pa.create_area(SQUARE, "ipfs://co3chain-e2e-area")
    assert anon.wait_for_tx(created.txHash, timeout=60).status == "success"
    sent = pa.create_activity(AREA_ID, kind=0, starts_at=chain_time - 3600, ends_at=chain_time + 7 * 86_400,
                              token_reward=TOKEN_REWARD, reputation_reward=REPUTATION_REWARD)
    assert anon.wait_for_tx(sent.txHash, timeout=60).status == "success"
    activity = anon.activity(ACTIVITY_ID)
    assert activity.areaId == AREA_ID and activity.kind == 0, activity


def start_node(workdir: Path, config_extra: str = "") -> tuple[NodeProcess, str]:
    """``network init --validators 1`` (block period 1 s) + ``node start``; returns the node and its validator.

    ``config_extra`` is appended to the node's ``config.toml`` (e.g. a larger ``[txpool]`` for benchmarks).
    """
    node, key = make_network(workdir)
    if config_extra:
        node.config.write_text(node.config.read_text(encoding="utf-8") + "\n" + config_extra, encoding="utf-8")
    node.start()
    node.wait_height(1, timeout=60)
    return node, Account.from_key(key).address


def fund_from_validator(node: localnet.LocalNode, url: str, accounts: list[str]) -> None:
    """Gas money for ``accounts`` from ``node``'s validator key (``co3chain accounts fund``'s transfer);
    nothing to do on a free-gas network."""
    from co3chain.keys import load_private_key, read_password
    from co3chain.node.accounts_cli import DEFAULT_GAS_MONEY, send_gas_money

    if int(localnet.rpc_call(url, "eth_gasPrice"), 16) == 0:
        return
    key = load_private_key(node.dir / "key.json", read_password(node.dir / "password"))
    for account in accounts:
        send_gas_money(url, account, DEFAULT_GAS_MONEY, key)


class LocalNetwork:
    """``co3chain network up --validators N`` / ``network down`` run through the CLI, as an operator would."""

    def __init__(self, net_dir: Path, validators: int) -> None:
        self.dir = net_dir
        rpc_base, p2p_base = free_port_block(validators + 1), free_port_block(validators + 1)
        cmd = [str(CO3_EXE), "network", "up", "--validators", str(validators), "--dir", str(net_dir),
               "--rpc-port", str(rpc_base), "--p2p-port", str(p2p_base), "--timeout", "120", "--json"]
        try:
            done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            self.down()
            raise
        if done.returncode != 0:
            self.down()
            raise AssertionError(f"co3chain network up failed ({done.returncode}):\n{done.stderr[-3000:]}")
        summary = json.loads(done.stdout[done.stdout.index("{"):])
        self.validators = [Web3.to_checksum_address(v) for v in summary["validators"]]
        self.nodes = localnet.load_nodes(net_dir)

    @property
    def urls(self) -> list[str]:
        return [n.rpc for n in self.nodes]

    def height(self, i: int) -> int:
        return localnet.block_number(self.nodes[i])

    def down(self) -> None:
        """``network down``; any node it could not stop is stopped by pid (these are our own children)."""
        if (self.dir / "network.json").exists() or (self.dir / "genesis.json").exists():
            subprocess.run([str(CO3_EXE), "network", "down", "--dir", str(self.dir)], cwd=REPO,
                           capture_output=True, timeout=120, check=False)
        for n in getattr(self, "nodes", None) or (localnet.load_nodes(self.dir) if self.dir.exists() else []):
            localnet.stop_node(n, timeout=10)


def free_port_block(count: int) -> int:
    """A base port with ``count`` consecutive free ports (``network init`` numbers nodes consecutively)."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000)
        try:
            for k in range(count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", base + k))
        except OSError:
            continue
        return base
    raise RuntimeError("no block of free ports found")


@contextmanager
def running_stack(workdir: Path, *, validators: int = 1, batch_size: int = 25,
                  node_config_extra: str = "") -> Iterator[Stack]:
    """Start the chain → deploy → API → seed area → oracle cluster; stop everything (reverse order) on exit.

    ``validators == 1``: one ``node start`` process (``Stack.node``). More: ``co3chain network up``
    (``Stack.net``); the API and the deployment then use node 1 and the oracle node 2, so every oracle
    transaction and every relayed one crosses the P2P layer before a quorum seals it.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    node: NodeProcess | None = None
    net: LocalNetwork | None = None
    api: ApiProcess | None = None
    cluster: Cluster | None = None
    clients: list[Client] = []
    try:
        if validators == 1:
            node, validator = start_node(workdir, node_config_extra)
            api_rpc = oracle_rpc = node.url
            validator_set = [validator]
        else:
            if node_config_extra:
                raise ValueError("node_config_extra is only supported with one validator")
            net = LocalNetwork(workdir / "net", validators)
            api_rpc, oracle_rpc = net.urls[0], net.urls[1]
            validator_set = net.validators
            # `network up` makes a fixed-base-fee network: the PA officer, the relayer and the oracle
            # submitter get gas money from a funded PA (node 1's validator), as a joining PA would
            fund_from_validator(net.nodes[0], api_rpc, [PA_ACCOUNT.address, RELAYER.address, SUBMITTER.address])
        w3 = qbft_compatible(Web3(HTTPProvider(api_rpc, request_kwargs={"timeout": 30})))
        manifest = deploy_suite(w3, PA_ACCOUNT, oracle_signers=SIGNERS, oracle_threshold=2,
                                validators=validator_set, relayer=RELAYER.address, network="co3chain-e2e",
                                # a development network: short votes, as localnet deploys (the handover stays)
                                voting_bounds=DEV_VOTING_BOUNDS)
        manifest_path = save_manifest(manifest, workdir / "deployment.json")
        if net is not None:
            # a deployed consortium network admits only allow-listed senders, as `network up --deploy` leaves
            # it: the relayer, the oracle submitter and the PA's officer; citizens act through the relayer
            localnet.enable_account_permissioning(
                net.dir, manifest, [RELAYER.address, SUBMITTER.address, PA_ACCOUNT.address], say=lambda _m: None)
        contracts = contracts_from_manifest(w3, manifest)

        api = ApiProcess(workdir, api_rpc, manifest_path)
        api.start()
        pa, anon = Client(api.url, api_key=api.pa_key), Client(api.url)
        clients += [pa, anon]
        seed_area(pa, anon, int(w3.eth.get_block("latest")["timestamp"]))

        oracle_dir = workdir / "oracle"
        oracle_dir.mkdir()
        addresses = {"hub": contracts["AttestationHub"].address, "areas": contracts["CommoningAreas"].address,
                     "registry": contracts["CitizenRegistry"].address}
        cluster = Cluster.create(oracle_dir, oracle_rpc, OracleAddresses(addresses), batch_size=batch_size)  # type: ignore[arg-type]
        cluster.start_all()
        stack = Stack(workdir, node, net, w3, manifest, contracts, api, cluster, pa, anon)
        assert stack.chain_id  # read while the node is up (a scenario stops it)
        yield stack
    finally:
        if cluster is not None:
            cluster.stop_all()
        if api is not None:
            api.stop()
        for c in clients:
            c.close()
        if node is not None and node.proc is not None and node.proc.poll() is None:
            try:
                node.terminate()
            except subprocess.TimeoutExpired:
                node.kill9()
        if net is not None:
            net.down()
