"""What a client needs to configure itself (``GET /v1/meta``) and the API docs served without a network.

Why ``/v1/meta``: a web or mobile app should not hard-code a chain id, addresses or EIP-712 domains (which
change per deployment); it reads them here and checks the ABI hashes against the ABIs it was built with, so a
contract upgrade is detected instead of producing signatures the contracts refuse.

Why local docs assets: FastAPI's default ``/docs`` and ``/redoc`` pages load Swagger UI and ReDoc from a CDN,
so they are blank on an air-gapped PA network. The assets come from the ``fastapi-offline`` package (Swagger UI
bundle and CSS, ReDoc standalone, favicon) and are served under ``/docs-assets``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from eth_utils import keccak
from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from co3chain.api.state import ApiState, get_state
from co3chain.budget import typed_data as btd
from co3chain.contracts import governance_typed_data as gtd
from co3chain.contracts import typed_data as td
from co3chain.delegation import typed_data as ltd
from co3chain.initiative import typed_data as itd
from co3chain.oracle import device
from co3chain.recovery import typed_data as rtd

router = APIRouter(prefix="/v1", tags=["meta"])


class TypedField(BaseModel):
    name: str
    type: str


class Eip712Domain(BaseModel):
    name: str
    version: str
    chainId: int
    verifyingContract: str


class MetaDomains(BaseModel):
    governance: Eip712Domain
    token: Eip712Domain
    attestation: Eip712Domain
    device: Eip712Domain
    recovery: Eip712Domain | None = None  # KeyRecovery (lost-key recovery), when deployed
    initiative: Eip712Domain | None = None  # CitizenInitiatives (drafts, amendments, opening, supports)
    delegation: Eip712Domain | None = None  # LiquidDelegation (delegate / undelegate by signature)
    budget: Eip712Domain | None = None  # ParticipatoryBudget (approval ballots), when deployed


class MetaAction(BaseModel):
    primaryType: str
    domain: str
    submit: str


class MetaEip712(BaseModel):
    domains: MetaDomains
    types: dict[str, list[TypedField]]
    actions: dict[str, MetaAction]


class MetaContract(BaseModel):
    address: str
    abiHash: str


class Meta(BaseModel):
    """What a client needs to configure itself for this deployment."""

    apiVersion: str
    chainId: int
    contracts: dict[str, MetaContract]
    eip712: MetaEip712
    units: dict[str, str]
    oracle: bool
State = Annotated[ApiState, Depends(get_state)]

DOCS_ASSETS = "/docs-assets"

DELEGATION_TYPE = [
    {"name": "delegatee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]

#: Every gasless action: its primary type, the domain it is signed in and where it is submitted.
ACTIONS: dict[str, dict[str, str]] = {
    "vote": {"primaryType": "Ballot", "domain": "governance", "submit": "POST /v1/relay/vote"},
    "commit": {"primaryType": "Commitment", "domain": "governance", "submit": "POST /v1/relay/commit"},
    "delegate": {"primaryType": "Delegation", "domain": "token", "submit": "POST /v1/relay/delegate"},
    "spend": {"primaryType": "Spend", "domain": "token", "submit": "POST /v1/relay/spend"},
    "checkin": {"primaryType": "CheckIn", "domain": "device",
                "submit": "AR backend -> POST /v1/oracle/webhooks/ar/checkin (HMAC of the source)"},
    "support": {"primaryType": "SocialContribution", "domain": "device",
                "submit": "social backend -> POST /v1/oracle/webhooks/social/event (HMAC of the source)"},
    "cancelRecovery": {"primaryType": "CancelRecovery", "domain": "recovery",
                       "submit": "POST /v1/recoveries/{recoveryId}/cancel"},
    "draftInitiative": {"primaryType": "DraftInitiative", "domain": "initiative",
                        "submit": "POST /v1/relay/initiative-draft"},
    "amendInitiative": {"primaryType": "AmendInitiative", "domain": "initiative",
                        "submit": "POST /v1/relay/initiative-amend"},
    "openInitiative": {"primaryType": "OpenInitiative", "domain": "initiative",
                       "submit": "POST /v1/relay/initiative-open"},
    "supportInitiative": {"primaryType": "SupportInitiative", "domain": "initiative",
                          "submit": "POST /v1/relay/initiative-support"},
    "delegateVote": {"primaryType": "Delegate", "domain": "delegation", "submit": "POST /v1/relay/delegation"},
    "undelegateVote": {"primaryType": "Undelegate", "domain": "delegation", "submit": "POST /v1/relay/undelegation"},
    "budgetBallot": {"primaryType": "BudgetBallot", "domain": "budget", "submit": "POST /v1/relay/budget-ballot"},
}

#: Which contract each optional domain needs: its actions are listed only when that contract is deployed.
OPTIONAL_DOMAINS = {"recovery": "KeyRecovery", "initiative": "CitizenInitiatives", "delegation": "LiquidDelegation",
                    "budget": "ParticipatoryBudget"}


def abi_hash(abi: Any) -> str:
    """``keccak256`` of the ABI as canonical JSON (sorted keys, no spaces): equal ABIs hash equal anywhere."""
    return "0x" + keccak(json.dumps(abi, sort_keys=True, separators=(",", ":")).encode("utf-8")).hex()


def eip712_types() -> dict[str, list[dict[str, str]]]:
    """Every signed message type of the suite, by primary type name."""
    return {"EIP712Domain": td.EIP712_DOMAIN_TYPE, "Ballot": gtd.BALLOT_TYPE, "Commitment": gtd.COMMITMENT_TYPE,
            "Delegation": DELEGATION_TYPE, "Spend": td.SPEND_TYPE, "Attestation": td.ATTESTATION_TYPE,
            "CheckIn": device.CHECKIN_TYPE, "SocialContribution": device.SOCIAL_TYPE,
            "CancelRecovery": rtd.CANCEL_RECOVERY_TYPE, **itd.TYPES, "Delegate": ltd.DELEGATE_TYPE,
            "Undelegate": ltd.UNDELEGATE_TYPE, "BudgetBallot": btd.BALLOT_TYPE}


def meta_document(chain_id: int, contracts: dict[str, Any], *, api_version: str, oracle: bool) -> dict[str, Any]:
    """The ``/v1/meta`` body from the chain id and the bound contract objects (``name -> web3 contract``)."""

    def domain(name: str, version: str, contract: str) -> dict[str, Any]:
        return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": contracts[contract].address}

    optional = {"recovery": (rtd.RECOVERY_DOMAIN_NAME, "1"),
                "initiative": (itd.DOMAIN_NAME, itd.DOMAIN_VERSION),
                "delegation": (ltd.DELEGATION_DOMAIN_NAME, ltd.DELEGATION_DOMAIN_VERSION),
                "budget": (btd.DOMAIN_NAME, btd.DOMAIN_VERSION)}

    return {
        "apiVersion": api_version,
        "chainId": chain_id,
        "contracts": {name: {"address": c.address, "abiHash": abi_hash(c.abi)} for name, c in sorted(contracts.items())},
        "eip712": {
            "domains": {
                "governance": domain(gtd.GOVERNANCE_DOMAIN_NAME, gtd.GOVERNANCE_DOMAIN_VERSION, "CO3Governance"),
                "token": domain(td.TOKEN_DOMAIN_NAME, td.DOMAIN_VERSION, "CommonsToken"),
                "attestation": domain(td.ATTESTATION_DOMAIN_NAME, td.DOMAIN_VERSION, "AttestationHub"),
                "device": domain(device.DEVICE_DOMAIN_NAME, device.DEVICE_DOMAIN_VERSION, "AttestationHub"),
                **{name: domain(*optional[name], OPTIONAL_DOMAINS[name]) for name in optional
                   if OPTIONAL_DOMAINS[name] in contracts},
            },
            "types": eip712_types(),
            "actions": {name: action for name, action in ACTIONS.items()
                        if OPTIONAL_DOMAINS.get(action["domain"], "CO3Governance") in contracts},
        },
        "units": {"latE6": "microdegrees", "lonE6": "microdegrees", "accuracyMm": "millimetres",
                  "timestampMs": "milliseconds since the Unix epoch"},
        "oracle": oracle,
    }


@router.get("/meta", response_model=Meta)
def meta(state: State) -> dict[str, Any]:
    """Chain id, contract addresses and ABI hashes, EIP-712 domains and types of every signed action."""
    from co3chain import __version__

    return meta_document(state.chain.chain_id, state.chain.contracts, api_version=__version__,
                         oracle=state.oracle is not None)


def _assets_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


def install_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from the installed assets; no request leaves the server."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_assets_dir()), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None})  # the badge would call an online validator

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title=f"{title} - ReDoc",
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png", with_google_fonts=False)
