"""Assembly of the API: :func:`create_app` wires routes, error handling and limits around an
:class:`ApiState`; :func:`build_state` makes that state from ``api.toml``, an RPC URL and a manifest.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from eth_account import Account
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from web3 import HTTPProvider, Web3

from co3chain import __version__
from co3chain.api.auth import API_KEY_HEADER, ClientLimiter, KeyRing
from co3chain.api.chain import ChainContext, Reverted
from co3chain.api.config import ApiConfig, CorsSettings
from co3chain.api.errors import error_response, install_error_handlers
from co3chain.api.indexer import Indexer
from co3chain.api.limits import BodySizeLimit
from co3chain.api.routes import (
    admin,
    budget,
    delegation,
    meta,
    operations,
    privacy,
    read,
    recovery,
    relay,
    stream,
)
from co3chain.api.routes import ballot as secret_ballot
from co3chain.api.routes import electorates as electorate_routes
from co3chain.api.routes import initiative as initiatives
from co3chain.api.routes.oracle import oracle_router, rejected_router
from co3chain.api.sender import TxSender
from co3chain.api.state import ApiState, revert_error
from co3chain.api.store import ApiStore
from co3chain.contracts.deploy import ArtifactSet, load_manifest

log = logging.getLogger("co3chain.api")

DESCRIPTION = """Thin HTTP API of a co3chain network: read the commons (areas, activities, citizens,
proposals, votes, attestations), relay citizens' EIP-712 signed actions without them paying gas, and let
PAs (API key in `X-API-Key`) register citizens and create areas, activities and proposals.
Every error has the body `{"error": {"code": "...", "message": "..."}}`."""


def create_app(state: ApiState, *, max_body_bytes: int = 64 * 1024, cors: CorsSettings | None = None) -> FastAPI:
    """The FastAPI app around ``state``; the indexer (and the oracle worker) run while the app runs.

    ``cors``: origins allowed to call from a browser (``[cors]`` in api.toml); None or empty: no CORS headers.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if state.run_indexer:
            state.indexer.start()
        if state.oracle is not None:
            state.oracle.start_worker()
        try:
            yield
        finally:
            state.indexer.stop()
            if state.oracle is not None:
                state.oracle.stop()

    app = FastAPI(title="co3chain API", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.co3 = state
    install_error_handlers(app)

    @app.exception_handler(Reverted)
    async def _reverted(_request: Request, exc: Reverted) -> JSONResponse:
        err = revert_error(exc)
        return error_response(err.status, err.code, err.message)

    app.include_router(read.router)
    app.include_router(relay.router)
    app.include_router(admin.router)
    app.include_router(stream.router)
    app.include_router(privacy.router)
    app.include_router(meta.router)
    app.include_router(operations.router)
    app.include_router(budget.router)
    app.include_router(electorate_routes.router)
    app.include_router(budget.relay_router)
    app.include_router(initiatives.router)
    app.include_router(initiatives.relay_router)
    app.include_router(secret_ballot.router)
    app.include_router(recovery.router)
    app.include_router(recovery.relay_router)
    app.include_router(delegation.router)
    app.include_router(delegation.relay_router)
    if state.oracle is not None:
        app.state.co3_oracle = state.oracle.operator
        app.include_router(oracle_router())
        app.include_router(rejected_router)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    if cors is not None and cors.enabled:  # outermost: refusals (413, 429) carry CORS headers too
        app.add_middleware(CORSMiddleware, allow_origins=list(cors.allow_origins), allow_credentials=False,
                           allow_methods=list(cors.allow_methods), allow_headers=list(cors.allow_headers),
                           max_age=cors.max_age)
    meta.install_docs(app)
    _add_security_scheme(app)
    return app


def _add_security_scheme(app: FastAPI) -> None:
    """Declare the API-key scheme in OpenAPI so /docs offers an "Authorize" box for PA routes."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["ApiKey"] = {
            "type": "apiKey", "in": "header", "name": API_KEY_HEADER}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def build_state(config: ApiConfig, manifest: dict[str, Any], *, w3: Any | None = None, rpc_url: str | None = None,
                artifacts: ArtifactSet | None = None) -> ApiState:
    """Everything ``co3chain api serve`` needs, from the parsed config (keys are decrypted here)."""
    if w3 is None:
        if not rpc_url:
            raise ValueError("build_state needs w3 or rpc_url")
        # eth_chainId cached: web3 otherwise re-asks it before every call (doubling the round trips).
        w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 10}, cache_allowed_requests=True))
    chain = ChainContext.from_manifest(w3, manifest, artifacts)
    store = ApiStore(config.db)
    indexer = Indexer(chain, store, config.indexer)
    relayer = TxSender(chain, Account.from_key(config.relayer.load())) if config.relayer else None
    keys = KeyRing()
    for entry in config.keys:
        keys.add(entry, TxSender(chain, Account.from_key(entry.signer.load())))
    oracle = None
    if config.oracle_config is not None:
        from co3chain.oracle.config import load_config as load_oracle_config
        from co3chain.oracle.service import OracleService

        oracle = OracleService(load_oracle_config(config.oracle_config), w3=w3)
    limits = config.relay_limits
    limiter = ClientLimiter(limits.client_rate, limits.client_burst, trusted_proxies=limits.trusted_proxies)
    if relayer is not None and "LiquidDelegation" in chain.contracts:  # count delegations after each vote
        from co3chain.delegation.counter import DelegationCounter

        indexer.after_sync.append(DelegationCounter(chain, store, relayer).run_once)
    identity_key = config.identity_key.load() if config.identity_key is not None else None
    return ApiState(chain=chain, store=store, indexer=indexer, relayer=relayer, keys=keys, oracle=oracle,
                    relay_limiter=limiter, identity_key=identity_key)


def app_from_files(config_path: str | Path, manifest_path: str | Path, rpc_url: str) -> FastAPI:
    """``co3chain api serve``'s app: config + manifest files and a node URL."""
    from co3chain.api.config import load_config

    config = load_config(config_path)
    state = build_state(config, load_manifest(manifest_path), rpc_url=rpc_url)
    return create_app(state, max_body_bytes=config.max_body_bytes, cors=config.cors)
