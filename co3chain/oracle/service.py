"""Assembly of one oracle operator process from ``oracle.toml``: web3, contracts, queue, HTTP and worker.

Why a worker thread next to uvicorn: webhooks must answer as soon as the event is committed (202), while
validation, co-signing and submission run at their own pace and survive restarts because every step reads
its input from the queue, not from memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from eth_account import Account
from web3 import HTTPProvider, Web3

from co3chain.errors import Co3Error
from co3chain.oracle.auth import Authenticator
from co3chain.oracle.chainview import Web3ChainView
from co3chain.oracle.config import OracleConfig
from co3chain.oracle.geometry import AreaGeometry
from co3chain.oracle.metrics import OracleMetrics
from co3chain.oracle.operator import Backoff, OracleOperator
from co3chain.oracle.retention import RetentionSchedule
from co3chain.oracle.signing import HttpCosigner, OperatorKey
from co3chain.oracle.store import open_store
from co3chain.oracle.submitter import Submitter
from co3chain.oracle.validation import Validator
from co3chain.oracle.webhooks import create_app

log = logging.getLogger("co3chain.oracle")

CONTRACTS = {"hub": "AttestationHub", "areas": "CommoningAreas", "registry": "CitizenRegistry"}


def default_abi(name: str) -> list[dict[str, Any]]:
    """ABI from the committed artifacts, else (development checkout) compiled from the working tree."""
    from co3chain.contracts import compiler

    try:
        return compiler.load_artifact(name)["abi"]
    except compiler.CompilerError:
        from co3chain.contracts.artifacts_dev import artifact

        return artifact(name)["abi"]


def make_web3(rpc_url: str) -> Web3:
    """HTTP web3 with eth_chainId cached: web3's request validation otherwise asks for the chain id on
    every call, tripling the round trips of each validation read."""
    from co3chain.contracts.deploy import qbft_compatible  # QBFT extraData > 32 bytes (our node)

    return qbft_compatible(Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}, cache_allowed_requests=True)))


def _addresses(config: OracleConfig) -> dict[str, str]:
    if config.addresses:
        return dict(config.addresses)
    from co3chain.contracts.deploy import load_manifest

    assert config.manifest is not None
    contracts = load_manifest(config.manifest)["contracts"]
    missing = [n for n in CONTRACTS.values() if n not in contracts]
    if missing:
        raise Co3Error(f"manifest {config.manifest} lacks {', '.join(missing)}")
    return {role: contracts[name]["address"] for role, name in CONTRACTS.items()}


def _error_decoder(abis: list[list[dict[str, Any]]]) -> Callable[[bytes], str]:
    from co3chain.contracts.deploy import ErrorDecoder

    decoder = ErrorDecoder(abis)
    return lambda data: decoder.decode(data) or ("0x" + data.hex())


class OracleService:
    """Everything one ``co3chain oracle run`` process holds."""

    def __init__(self, config: OracleConfig, *, w3: Any | None = None,
                 abi_for: Callable[[str], list[dict[str, Any]]] = default_abi,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.w3 = w3 or make_web3(config.rpc_url)
        addresses = _addresses(config)
        abis = {role: abi_for(name) for role, name in CONTRACTS.items()}
        self.contracts = {role: self.w3.eth.contract(address=Web3.to_checksum_address(addresses[role]),
                                                     abi=abis[role]) for role in CONTRACTS}
        self.chain = Web3ChainView(self.w3, self.contracts["hub"], self.contracts["areas"],
                                   self.contracts["registry"])
        self.store = open_store(config.db)
        self.metrics = OracleMetrics(self.store)
        geometries = {aid: AreaGeometry.from_file(aid, path) for aid, path in config.areas.items()}
        validator = Validator(self.chain, self.store, geometries, config.policy)
        signer_key = config.signer.load()
        backoff = Backoff()
        self.operator = OracleOperator(
            store=self.store, auth=Authenticator(config.sources, config.skew_seconds), validator=validator,
            chain=self.chain, key=OperatorKey(signer_key), attestation_ttl_s=config.attestation_ttl,
            metrics=self.metrics, cosigners=[HttpCosigner(u) for u in config.cosigners], backoff=backoff,
            time_resolution_s=config.time_resolution)
        self.submitter: Submitter | None = None
        if config.submit:
            account = Account.from_key(config.submitter_key.load() if config.submitter_key else signer_key)
            self.submitter = Submitter(w3=self.w3, hub=self.contracts["hub"], account=account, store=self.store,
                                       chain=self.chain, config=config.submitter, metrics=self.metrics,
                                       backoff=backoff, decode_error=_error_decoder(list(abis.values())))
        self.retention = RetentionSchedule(self.store, config.retention)
        self.app = create_app(self.operator, clock, read_token=self.config.read_token)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> int:
        """One pass of the pipeline; returns the amount of work done (0 when idle)."""
        now = self.clock()
        work = self.operator.validate_pending(now)
        if self.submitter is not None:
            work += self.operator.collect_pending(now)
            work += self.submitter.poll(now)
            work += self.submitter.submit_ready(now)
        work += self.retention.maybe_run(now)
        return work

    def _loop(self) -> None:
        failures = 0
        recovered = False
        while not self._stop.is_set():
            try:
                if not recovered and self.submitter is not None:
                    self.submitter.recover(self.clock())
                recovered = True
                work = self.step()
                failures = 0
            except Exception as exc:  # node down, DB busy...: keep the process alive, back off
                failures += 1
                delay = Backoff(base=self.config.poll_interval, cap=30.0).delay(failures)
                log.warning("oracle worker: %s: %s (retry in %.1fs)", exc.__class__.__name__, exc, delay)
                self._stop.wait(delay)
                continue
            if not work:
                self._stop.wait(self.config.poll_interval)

    def start_worker(self) -> None:
        """Start the background pipeline thread (recovering unresolved transactions first)."""
        self._thread = threading.Thread(target=self._loop, name="co3-oracle-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.store.close()

    def serve(self) -> None:
        """Run HTTP and the worker until interrupted."""
        import uvicorn

        from co3chain.rpc.httpguard import uvicorn_settings

        self.start_worker()
        try:
            uvicorn.run(self.app, host=self.config.host, port=self.config.port, log_level="warning",
                        **uvicorn_settings())
        finally:
            self.stop()
