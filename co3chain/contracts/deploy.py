"""Deploy the CO3 contract suite on any JSON-RPC node and describe it in a manifest for auditors.

Why raw signed transactions: the same code must work against our QBFT node (zero gas price, no unlocked
accounts), anvil and eth-tester, so every transaction is built, signed locally and sent with
``eth_sendRawTransaction``.  Why a manifest: an auditor must be able to tie each deployed address to the
exact compiler, settings and source hashes that produced its bytecode, and to the transaction that created
it, without trusting the deployer's word.

Why a handover: no single key may control the commons.  The deployer is admin of every contract only while it
wires the suite; at the end it grants DEFAULT_ADMIN_ROLE of every contract to the consortium timelock (whose
proposers are the PA council and the governance contract) and renounces every admin role it held, so that
afterwards no externally owned account holds an admin, minting or rewarding power.  Each step is a
``RoleGranted``/``RoleRevoked`` event; :func:`check_handover` re-reads them from the chain.

The pure parts (:data:`SUITE`, :func:`constructor_args`, :func:`role_plan`, :func:`handover_plan`,
:func:`encode_constructor_args`, :func:`build_manifest`) do not touch web3, so ``scripts/deploy.py`` reuses them
under brownie.
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractLogicError, ProviderConnectionError, TimeExhausted
from web3.middleware import ExtraDataToPOAMiddleware

from co3chain.contracts import compiler
from co3chain.contracts.estimate import PendingEstimates
from co3chain.errors import Co3Error

#: Contracts in dependency order; each constructor only references contracts before it.
SUITE: tuple[str, ...] = (
    "ConsortiumTimelock",
    "CitizenRegistry",
    "CommonsToken",
    "Reputation",
    "CommoningAreas",
    "AttestationHub",
    "CO3Governance",
    "LiquidDelegation",  # liquid delegation (issue 11 §4): no admin; governance binds it, see wiring_calls
    "ConsortiumValidators",
    "ConsortiumCouncil",
    "SecretBallot",  # secret ballots (co3chain/ballot): admin-only constructor, see docs/secret-ballot.md
    "KeyRecovery",  # lost-key recovery (docs/recovery.md): RECOVERY_ROLE on registry, token and reputation
    "CitizenInitiatives",  # citizen-initiated proposals (co3chain/initiative), see docs/initiatives.md
)

#: Contracts whose admin the timelock takes over (every AccessControl contract but the timelock itself).
ADMINISTERED: tuple[str, ...] = (
    "CitizenRegistry", "CommonsToken", "Reputation", "CommoningAreas", "AttestationHub", "CO3Governance",
    "ConsortiumValidators", "SecretBallot", "KeyRecovery", "CitizenInitiatives",
)

#: Powers no externally owned account may hold after deploy (issue 10; the audit checks the same list).
SOVEREIGN_ROLES: tuple[str, ...] = ("DEFAULT_ADMIN_ROLE", "MINTER_ROLE", "REWARDER_ROLE", "RECOVERY_ROLE")

#: Default timelock delay: two days for every rule, role, reward or signer-set change.
DEFAULT_TIMELOCK_DELAY = 2 * 24 * 3600

#: Development networks (localnet, demo): changes wait a few seconds so the story runs in a minute.
DEV_TIMELOCK_DELAY = 5

#: Voting-window bounds (min delay, max delay, min period, max period) for development networks, whose demo
#: votes last tens of seconds.  Production keeps the contract's defaults (period ≥ 1 hour) or sets its own.
DEV_VOTING_BOUNDS = (0, 30 * 24 * 3600, 10, 90 * 24 * 3600)

#: Default delay of a lost-key recovery: a week in public, during which the old key or the council can cancel.
DEFAULT_RECOVERY_DELAY = 7 * 24 * 3600

#: Development networks: recoveries wait the contract's minimum (10 seconds).
DEV_RECOVERY_DELAY = 10
#: Default threshold of citizen initiatives (kind 0 absolute / 1 basis points of the electorate, value,
#: collection window in seconds): 1 % of the electorate within 90 days. The council changes it (per
#: electorate too) through the timelock.
DEFAULT_INITIATIVE_THRESHOLD = (1, 100, 90 * 24 * 3600)

#: Development networks: half of the electorate within one hour, so the demo's initiative qualifies with a
#: handful of citizens.
DEV_INITIATIVE_THRESHOLD = (1, 5000, 3600)

#: Default Reputation half-life: 180 days (participation fades over seasons, not over days).
DEFAULT_HALF_LIFE_SECONDS = 180 * 24 * 3600

#: Required top-level manifest keys (checked by :func:`load_manifest`).
MANIFEST_KEYS = ("chainId", "deployer", "network", "deployedAt", "contracts", "roles", "compiler", "sources")

DEFAULT_ADMIN_ROLE = "0x" + "00" * 32

#: Environment variable naming an alternative artifacts directory (see :meth:`ArtifactSet.committed`).
ARTIFACTS_ENV = "CO3CHAIN_ARTIFACTS"

ProgressFn = Callable[[str], None]


class DeployError(Co3Error):
    """Deployment failed: node unreachable, funds missing, a transaction reverted or a manifest is bad."""


# --------------------------------------------------------------------------------------------------------
# Artifacts
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArtifactSet:
    """The compiled contracts to deploy and the build info that reproduces them (recorded in the manifest)."""

    artifacts: Mapping[str, dict[str, Any]]
    build_info: dict[str, Any]

    @classmethod
    def committed(cls, artifacts_dir: Path | None = None) -> ArtifactSet:
        """The artifacts committed in the package (what production deployments use).

        ``$CO3CHAIN_ARTIFACTS`` (a directory written by ``compiler.write_artifacts``) overrides the package
        directory, e.g. to deploy a candidate build; the manifest records its compiler and source hashes.
        """
        if artifacts_dir is None:
            artifacts_dir = Path(os.environ.get(ARTIFACTS_ENV) or compiler.ARTIFACTS_DIR)
        info = compiler.load_build_info(artifacts_dir)
        names = sorted(info.get("contracts", {}))
        return cls({n: compiler.load_artifact(n, artifacts_dir) for n in names}, info)

    @classmethod
    def from_build(cls, result: compiler.BuildResult) -> ArtifactSet:
        """Artifacts of a fresh compile (tests and development before ``co3chain compile`` ran)."""
        return cls(dict(result.artifacts), result.build_info)

    def artifact(self, name: str) -> dict[str, Any]:
        """The artifact of ``name``, with a clear error when it was not compiled."""
        try:
            return self.artifacts[name]
        except KeyError:
            raise DeployError(
                f"contract {name} is not among the compiled artifacts ({', '.join(sorted(self.artifacts)) or 'none'}):"
                " run `co3chain compile`"
            ) from None

    def error_decoder(self) -> ErrorDecoder:
        """Custom-error decoder over every ABI of the set."""
        return ErrorDecoder([a["abi"] for a in self.artifacts.values()])


class ErrorDecoder:
    """Turns revert data into ``ErrorName(arg, ...)`` using the suite's custom errors.

    Why: "execution reverted" alone does not tell an operator which role is missing; the custom error does.
    """

    def __init__(self, abis: Sequence[Sequence[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {}
        #: role id -> constant name, so AccessControl errors name the missing role.
        self._roles: dict[bytes, str] = {bytes(32): "DEFAULT_ADMIN_ROLE"}
        for abi in abis:
            for item in abi:
                if item.get("type") == "function" and str(item.get("name", "")).endswith("_ROLE"):
                    self._roles[keccak(text=item["name"])] = item["name"]
                if item.get("type") != "error":
                    continue
                types = [_abi_type(i) for i in item.get("inputs", [])]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                self._errors[selector] = (item["name"], types)

    def decode(self, data: str | bytes | None) -> str | None:
        """Readable form of revert ``data``; None when there is nothing to decode."""
        if data is None:
            return None
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else bytes(data)
        if len(raw) < 4:
            return None
        selector, body = raw[:4], raw[4:]
        if selector == bytes.fromhex("08c379a0"):  # Error(string)
            return str(abi_decode(["string"], body)[0])
        if selector == bytes.fromhex("4e487b71"):  # Panic(uint256)
            return f"Panic(0x{abi_decode(['uint256'], body)[0]:02x})"
        known = self._errors.get(selector)
        if known is None:
            return f"unknown error 0x{raw.hex()}"
        name, types = known
        try:
            values = abi_decode(types, body)
        except Exception:  # malformed payload: still name the error
            return f"{name}(?)"
        shown = [self._roles.get(v, _jsonable(t, v)) if t == "bytes32" else _jsonable(t, v)
                 for t, v in zip(types, values, strict=True)]
        return f"{name}({', '.join(str(v) for v in shown)})"


def _abi_type(item: Mapping[str, Any]) -> str:
    """Canonical ABI type string, expanding tuples (structs) as solc does for selectors."""
    typ = str(item["type"])
    if typ.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){typ[5:]}"
    return typ


def _jsonable(typ: str, value: Any) -> Any:
    """A JSON-friendly form of a decoded ABI value (addresses checksummed, bytes as hex)."""
    if isinstance(value, (list, tuple)):
        inner = typ[: typ.rfind("[")] if typ.endswith("]") else typ
        return [_jsonable(inner, v) for v in value]
    if typ == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


# --------------------------------------------------------------------------------------------------------
# Pure deployment plan
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteParams:
    """Everything the constructors and role grants need besides the deployed addresses."""

    deployer: str
    oracle_signers: list[str]
    oracle_threshold: int
    validators: list[str]
    half_life_seconds: int = DEFAULT_HALF_LIFE_SECONDS
    relayer: str | None = None
    registrars: list[str] = field(default_factory=list)
    area_managers: list[str] = field(default_factory=list)
    proposers: list[str] = field(default_factory=list)
    timelock_delay: int = DEFAULT_TIMELOCK_DELAY
    council_members: list[str] = field(default_factory=list)
    council_threshold: int = 0
    voting_bounds: tuple[int, int, int, int] | None = None
    recovery_delay: int = DEFAULT_RECOVERY_DELAY
    initiative_threshold: tuple[int, int, int] = DEFAULT_INITIATIVE_THRESHOLD

    @property
    def council(self) -> list[str]:
        """Council members (default: the consortium validators), sorted by address."""
        members = self.council_members or self.validators
        return sorted((to_checksum_address(m) for m in members), key=lambda a: int(a, 16))

    def validate(self) -> None:
        """Reject parameters that would deploy a useless or unsafe suite."""
        if not self.oracle_signers:
            raise DeployError("at least one oracle signer is required (--oracle-signer)")
        if len({s.lower() for s in self.oracle_signers}) != len(self.oracle_signers):
            raise DeployError("oracle signers must be distinct")
        if not 1 <= self.oracle_threshold <= len(self.oracle_signers):
            raise DeployError(
                f"oracle threshold must be between 1 and {len(self.oracle_signers)} (got {self.oracle_threshold})"
            )
        if not self.validators:
            raise DeployError("at least one consortium validator is required")
        if not 0 < self.half_life_seconds < 2**48:
            raise DeployError(f"half-life must be a positive uint48 number of seconds (got {self.half_life_seconds})")
        if not 0 <= self.timelock_delay < 2**48:
            raise DeployError(f"timelock delay must be a non-negative number of seconds (got {self.timelock_delay})")
        council = self.council
        if len({m.lower() for m in council}) != len(council):
            raise DeployError("council members must be distinct")
        if not 1 <= len(council) <= 32:
            raise DeployError(f"the council needs 1 to 32 members (got {len(council)})")
        if not 0 <= self.council_threshold <= len(council):
            raise DeployError(f"council threshold must be 0 (majority) or 1..{len(council)} "
                              f"(got {self.council_threshold})")
        if not 10 <= self.recovery_delay <= 60 * 24 * 3600:
            raise DeployError(f"recovery delay must be between 10 seconds and 60 days (got {self.recovery_delay})")
        if self.voting_bounds is not None:
            lo_delay, hi_delay, lo_period, hi_period = self.voting_bounds
            if not (0 <= lo_delay <= hi_delay and 0 < lo_period <= hi_period < 2**48 and hi_delay < 2**48):
                raise DeployError(f"invalid voting bounds {self.voting_bounds}: need min ≤ max and a positive "
                                  "minimum period")
        kind, value, window = self.initiative_threshold
        if kind not in (0, 1) or not 1 <= value <= (2**32 - 1 if kind == 0 else 10_000) \
                or not 60 <= window <= 365 * 24 * 3600:
            raise DeployError(f"invalid initiative threshold {self.initiative_threshold}: (0, supports ≥ 1, window) or "
                              "(1, basis points 1..10000, window), window 60 s to 365 days")


def constructor_args(name: str, params: SuiteParams, addresses: Mapping[str, str]) -> list[Any]:
    """Constructor arguments of ``name`` (docs/INTERFACES.md), given the addresses deployed before it."""
    admin = params.deployer
    if name == "ConsortiumTimelock":
        # No proposers yet (the council and governance do not exist); anyone executes; the deployer is a
        # temporary admin that wires the proposers and renounces (see handover_plan).
        return [params.timelock_delay, [], ["0x" + "00" * 20], admin]
    if name == "ConsortiumCouncil":
        return [addresses["ConsortiumTimelock"], params.council, params.council_threshold]
    if name in ("CitizenRegistry", "CommonsToken", "CommoningAreas"):
        return [admin]
    if name == "Reputation":
        return [admin, params.half_life_seconds]
    if name == "AttestationHub":
        signers = sorted((to_checksum_address(s) for s in params.oracle_signers), key=lambda a: int(a, 16))
        return [
            admin,
            addresses["CitizenRegistry"],
            addresses["CommoningAreas"],
            addresses["CommonsToken"],
            addresses["Reputation"],
            signers,
            params.oracle_threshold,
        ]
    if name == "CO3Governance":
        return [
            admin,
            addresses["CitizenRegistry"],
            addresses["CommonsToken"],
            addresses["Reputation"],
            addresses["CommoningAreas"],
            addresses["ConsortiumTimelock"],
        ]
    if name == "LiquidDelegation":
        return [addresses["CO3Governance"]]
    if name == "SecretBallot":
        return [admin]
    if name == "KeyRecovery":
        return [admin, addresses["CitizenRegistry"], addresses["CommonsToken"], addresses["Reputation"],
                params.recovery_delay]
    if name == "CitizenInitiatives":
        return [admin, addresses["CitizenRegistry"], addresses["CO3Governance"], list(params.initiative_threshold)]
    if name == "ConsortiumValidators":
        return [sorted((to_checksum_address(v) for v in params.validators), key=lambda a: int(a, 16))]
    raise DeployError(f"no constructor recipe for contract {name}")


@dataclass(frozen=True)
class WiringCall:
    """One admin call that links contracts of the suite, made by the deployer before the handover."""

    contract: str
    function: str
    args: tuple[Any, ...]
    label: str


def wiring_calls(addresses: Mapping[str, str]) -> list[WiringCall]:
    """Links between contracts that their constructors cannot make (each side needs the other's address).

    Governance binds the liquid-delegation contract once (it cannot be rebound: counts in flight rely on it).
    """
    calls = []
    if "LiquidDelegation" in addresses and "CO3Governance" in addresses:
        calls.append(WiringCall("CO3Governance", "bindDelegation", (addresses["LiquidDelegation"],),
                                "binding liquid delegation to governance"))
    return calls


@dataclass(frozen=True)
class RoleGrant:
    """One ``grantRole(role, account)`` on ``contract``; ``label`` names the grantee for humans."""

    contract: str
    role: str
    account: str
    label: str


def role_plan(params: SuiteParams, addresses: Mapping[str, str], abis: Mapping[str, Sequence[dict]]) -> list[RoleGrant]:
    """The role wiring of the suite.

    The hub mints and awards; PA officers (default: the deployer) register citizens, manage areas and
    propose; the relayer (if any) gets ``RELAYER_ROLE`` on every contract that defines that role.
    """
    hub = addresses["AttestationHub"]
    grants = [
        RoleGrant("CommonsToken", "MINTER_ROLE", hub, "AttestationHub"),
        RoleGrant("Reputation", "REWARDER_ROLE", hub, "AttestationHub"),
    ]
    if "KeyRecovery" in addresses:
        grants += [RoleGrant(name, "RECOVERY_ROLE", addresses["KeyRecovery"], "KeyRecovery")
                   for name in ("CitizenRegistry", "CommonsToken", "Reputation")]
    if "CitizenInitiatives" in addresses:
        # Qualified initiatives go to vote by themselves: the contract proposes (proposeFor).
        grants.append(RoleGrant("CO3Governance", "PROPOSER_ROLE", addresses["CitizenInitiatives"],
                                "CitizenInitiatives"))
    people = [
        ("CitizenRegistry", "REGISTRAR_ROLE", params.registrars or [params.deployer]),
        ("CommoningAreas", "AREA_MANAGER_ROLE", params.area_managers or [params.deployer]),
        ("CO3Governance", "PROPOSER_ROLE", params.proposers or [params.deployer]),
        ("SecretBallot", "ELECTION_MANAGER_ROLE", params.proposers or [params.deployer]),
    ]
    for contract, role, accounts in people:
        for acct in accounts:
            label = "deployer" if acct.lower() == params.deployer.lower() else "PA officer"
            grants.append(RoleGrant(contract, role, to_checksum_address(acct), label))
    if params.relayer:
        for contract in SUITE:
            if any(i.get("type") == "function" and i.get("name") == "RELAYER_ROLE" for i in abis.get(contract, [])):
                grants.append(RoleGrant(contract, "RELAYER_ROLE", to_checksum_address(params.relayer), "relayer"))
    return grants


@dataclass(frozen=True)
class HandoverStep:
    """One call of the handover: ``grantRole``/``renounceRole``/``setVotingBounds`` on ``contract``."""

    contract: str
    action: str
    role: str
    account: str
    label: str


def handover_plan(params: SuiteParams, addresses: Mapping[str, str],
                  abis: Mapping[str, Sequence[dict]]) -> list[HandoverStep]:
    """The calls that give the consortium its powers and take them from the deployer, in order.

    1. the timelock's proposers: the council (PROPOSER_ROLE, CANCELLER_ROLE) and the governance contract
       (PROPOSER_ROLE, to queue voted actions; it never cancels, so it gets no CANCELLER_ROLE);
    2. the council is the governance guardian (GUARDIAN_ROLE);
    3. every administered contract's DEFAULT_ADMIN_ROLE goes to the timelock, then the deployer renounces it;
    4. last, the deployer renounces the timelock's own admin role: the timelock then administers itself.
    """
    timelock, council, gov = (addresses["ConsortiumTimelock"], addresses["ConsortiumCouncil"],
                              addresses["CO3Governance"])
    deployer = params.deployer
    steps = [
        HandoverStep("ConsortiumTimelock", "grant", "PROPOSER_ROLE", council, "ConsortiumCouncil"),
        HandoverStep("ConsortiumTimelock", "grant", "CANCELLER_ROLE", council, "ConsortiumCouncil"),
        HandoverStep("ConsortiumTimelock", "grant", "PROPOSER_ROLE", gov, "CO3Governance"),
        HandoverStep("CO3Governance", "grant", "GUARDIAN_ROLE", council, "ConsortiumCouncil"),
    ]
    if "KeyRecovery" in addresses:  # the council cancels a suspicious recovery (docs/recovery.md)
        steps.append(HandoverStep("KeyRecovery", "grant", "GUARDIAN_ROLE", council, "ConsortiumCouncil"))
    for name in ADMINISTERED:
        if name in addresses and _has_function(abis.get(name, []), "hasRole"):
            steps.append(HandoverStep(name, "grant", "DEFAULT_ADMIN_ROLE", timelock, "ConsortiumTimelock"))
            steps.append(HandoverStep(name, "renounce", "DEFAULT_ADMIN_ROLE", deployer, "deployer"))
    steps.append(HandoverStep("ConsortiumTimelock", "renounce", "DEFAULT_ADMIN_ROLE", deployer, "deployer"))
    return steps


def role_id(role: str) -> str:
    """The ``bytes32`` id of an OpenZeppelin role constant (``keccak256("NAME")``; admin is zero)."""
    return DEFAULT_ADMIN_ROLE if role == "DEFAULT_ADMIN_ROLE" else "0x" + keccak(text=role).hex()


def _constructor_inputs(abi: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in abi:
        if item.get("type") == "constructor":
            return list(item.get("inputs", []))
    return []


def encode_constructor_args(abi: Sequence[dict[str, Any]], args: Sequence[Any]) -> bytes:
    """ABI-encoded constructor arguments (what follows the creation bytecode in the deploy tx)."""
    inputs = _constructor_inputs(abi)
    if len(inputs) != len(args):
        raise DeployError(f"constructor takes {len(inputs)} arguments, {len(args)} given")
    return abi_encode([_abi_type(i) for i in inputs], list(args))


def describe_constructor_args(abi: Sequence[dict[str, Any]], args: Sequence[Any]) -> dict[str, Any]:
    """Manifest form of constructor arguments: the encoded hex (verifiable) and the decoded values by name."""
    inputs = _constructor_inputs(abi)
    encoded = encode_constructor_args(abi, args)
    types = [_abi_type(i) for i in inputs]
    decoded = abi_decode(types, encoded)
    return {
        "encoded": "0x" + encoded.hex(),
        "decoded": {
            (i.get("name") or f"arg{n}"): _jsonable(t, v) for n, (i, t, v) in enumerate(zip(inputs, types, decoded, strict=True))
        },
    }


def build_manifest(
    *,
    chain_id: int,
    deployer: str,
    network: str,
    deployed_at: int,
    contracts: Mapping[str, Mapping[str, Any]],
    roles: Sequence[Mapping[str, Any]],
    build_info: Mapping[str, Any],
) -> dict[str, Any]:
    """Assemble the manifest; ``deployed_at`` is the chain timestamp of the last deployment block."""
    comp = build_info["compiler"]
    return {
        "chainId": int(chain_id),
        "deployer": to_checksum_address(deployer),
        "network": network,
        "deployedAt": _dt.datetime.fromtimestamp(int(deployed_at), _dt.UTC).isoformat().replace("+00:00", "Z"),
        "contracts": {name: dict(contracts[name]) for name in SUITE if name in contracts},
        "roles": [dict(r) for r in roles],
        "compiler": {
            "name": comp.get("name", "solcjs"),
            "version": comp["version"],
            "longVersion": comp.get("longVersion"),
            "settings": comp["settings"],
        },
        "sources": dict(sorted(build_info["sources"].items())),
    }


# --------------------------------------------------------------------------------------------------------
# Transactions over JSON-RPC
# --------------------------------------------------------------------------------------------------------


def _rpc_error_text(exc: BaseException) -> str:
    """The node's message from a web3 exception (its ``args`` is often a dict with ``message``)."""
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, dict):
        return str(arg.get("message", arg))
    return str(arg)


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                            ProviderConnectionError, ConnectionError))


QBFT_MIDDLEWARE_NAME = "co3_qbft_extradata"


def qbft_compatible(w3: Any) -> Any:
    """Let web3 read QBFT blocks: their extraData (validators, seals) is longer than the 32 bytes web3.py
    accepts by default, so install web3's ExtraDataToPOAMiddleware once.  Harmless on other chains."""
    if QBFT_MIDDLEWARE_NAME not in w3.middleware_onion:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0, name=QBFT_MIDDLEWARE_NAME)
    return w3


def fee_fields(w3: Any) -> dict[str, int]:
    """Fee fields for a new transaction, from the node's own suggestion.

    EIP-1559 (``maxFeePerGas``/``maxPriorityFeePerGas``) when the latest block has a base fee, else legacy
    ``gasPrice``.  The tip is what ``eth_gasPrice`` suggests above the base fee, so a node with a zero gas
    price (our permissioned chain) gets zero fees and no account needs Ether.
    """
    gas_price = int(w3.eth.gas_price)
    base = w3.eth.get_block("latest").get("baseFeePerGas")
    if base is None:
        return {"gasPrice": gas_price}
    base = int(base)
    tip = max(gas_price - base, 0)
    return {"maxFeePerGas": max(2 * base + tip, gas_price), "maxPriorityFeePerGas": tip}


class TxSender:
    """Signs and sends one account's transactions, tracking its nonce locally.

    Why local nonces: deployment and demo send many transactions back to back; asking the node for the
    pending nonce each time races with its pool on slow block periods.
    """

    def __init__(
        self,
        w3: Any,
        account: Any,
        *,
        decoder: ErrorDecoder | None = None,
        gas_margin: float = 1.25,
        receipt_timeout: float = 180.0,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.address = to_checksum_address(account.address)
        self.decoder = decoder or ErrorDecoder([])
        self.gas_margin = gas_margin
        #: gas estimated on the pending block, where the transaction will run (co3chain.contracts.estimate)
        self._estimates = PendingEstimates()
        self.receipt_timeout = receipt_timeout
        self._chain_id: int | None = None
        self._nonce: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def resync_nonce(self) -> None:
        """Forget the local nonce (the same key sent transactions some other way); the next send asks the node."""
        self._nonce = None

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = int(self.w3.eth.get_transaction_count(self.address, "pending"))
        return self._nonce

    def _reason(self, exc: BaseException) -> str:
        """Readable revert reason: the decoded custom error when the node returned revert data."""
        data = getattr(exc, "data", None)
        decoded = self.decoder.decode(data) if isinstance(data, (str, bytes)) else None
        if decoded:
            return decoded
        text = getattr(exc, "message", None) or _rpc_error_text(exc)
        # eth-tester reports revert data as the repr of a bytes object inside its message.
        match = re.fullmatch(r"execution reverted: (b(['\"]).*\2)", text, re.DOTALL)
        if match:
            try:
                raw = ast.literal_eval(match.group(1))
            except (ValueError, SyntaxError):
                return text
            return self.decoder.decode(raw) or text
        return text

    def send(self, tx: Mapping[str, Any], label: str) -> str:
        """Fill in nonce, chain id, gas and fees, sign and broadcast; returns the tx hash (0x hex)."""
        full: dict[str, Any] = {"from": self.address, "value": 0, **tx}
        full.setdefault("data", "0x")
        try:
            if "gas" not in full:
                try:
                    call = {k: v for k, v in full.items() if k != "gas"}
                    estimate = self._estimates(lambda block: self.w3.eth.estimate_gas(call, block_identifier=block))
                except ContractLogicError as exc:
                    raise DeployError(f"{label} would revert: {self._reason(exc)}") from None
                full["gas"] = int(estimate * self.gas_margin) + 10_000
            full.update(fee_fields(self.w3))
            full["chainId"] = self.chain_id
            full["nonce"] = self._next_nonce()
            full.pop("from")
            signed = self.account.sign_transaction(full)
            raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
            tx_hash = self.w3.eth.send_raw_transaction(raw)
        except DeployError:
            raise
        except Exception as exc:
            self._nonce = None  # resynchronise with the node after any failed send
            if _is_connection_error(exc):
                raise DeployError(f"cannot reach the node: {exc.__class__.__name__}") from None
            text = self._reason(exc)
            if "insufficient funds" in text.lower():
                raise DeployError(f"{label}: account {self.address} has insufficient funds ({text})") from None
            if text != _rpc_error_text(exc) or "revert" in text.lower():
                raise DeployError(f"{label} would revert: {text}") from None
            raise DeployError(f"{label}: the node rejected the transaction: {text}") from None
        self._nonce = full["nonce"] + 1
        return "0x" + bytes(tx_hash).hex()

    def wait(self, tx_hash: str, label: str) -> Any:
        """Wait for the receipt; a reverted transaction raises with the decoded reason."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout, poll_latency=0.2)
        except TimeExhausted:
            raise DeployError(f"{label}: transaction {tx_hash} not mined within {self.receipt_timeout:.0f}s") from None
        if int(receipt["status"]) != 1:
            raise DeployError(f"{label} reverted (tx {tx_hash}, block {receipt['blockNumber']}): {self._replay(tx_hash)}")
        return receipt

    def _replay(self, tx_hash: str) -> str:
        """Re-run a reverted transaction with eth_call at its block to recover the revert reason."""
        tx = self.w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "to": tx.get("to"), "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        try:
            self.w3.eth.call(call, int(tx["blockNumber"]) - 1)
        except Exception as exc:
            return self._reason(exc)
        return "reason unavailable"

    def transact(self, tx: Mapping[str, Any], label: str) -> Any:
        """Send and wait: the receipt of a successful transaction."""
        return self.wait(self.send(tx, label), label)

    def call_fn(self, contract: Any, fn_name: str, args: Sequence[Any], label: str) -> Any:
        """Call ``contract.fn_name(*args)`` in a transaction and wait for its receipt."""
        data = contract.encode_abi(fn_name, args=list(args))
        return self.transact({"to": contract.address, "data": data}, label)


# --------------------------------------------------------------------------------------------------------
# deploy_suite
# --------------------------------------------------------------------------------------------------------


def _network_name(w3: Any) -> str:
    try:
        return str(w3.client_version)
    except Exception:
        return "unknown"


def deploy_suite(
    w3: Any,
    deployer: Any,
    *,
    oracle_signers: list[str],
    oracle_threshold: int,
    validators: list[str],
    half_life_seconds: int = DEFAULT_HALF_LIFE_SECONDS,
    relayer: str | None = None,
    registrars: list[str] | None = None,
    area_managers: list[str] | None = None,
    proposers: list[str] | None = None,
    timelock_delay: int = DEFAULT_TIMELOCK_DELAY,
    council_members: list[str] | None = None,
    council_threshold: int = 0,
    voting_bounds: tuple[int, int, int, int] | None = None,
    recovery_delay: int = DEFAULT_RECOVERY_DELAY,
    initiative_threshold: tuple[int, int, int] = DEFAULT_INITIATIVE_THRESHOLD,
    handover: bool = True,
    network: str | None = None,
    artifacts: ArtifactSet | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Deploy every contract of :data:`SUITE` from ``deployer`` (an eth-account ``LocalAccount``),
    wire the roles, hand every admin power over to the consortium timelock and return the manifest.

    The council is ``council_members`` (default: the validators) with ``council_threshold`` approvals
    (0: majority); every rule change waits ``timelock_delay`` seconds.  ``voting_bounds`` (min/max voting
    delay, min/max voting period) are set on the governance contract before the handover (default: the
    contract's).  ``recovery_delay``: seconds a lost-key recovery waits in public (KeyRecovery, 10 s–60 days).
    ``initiative_threshold`` = (kind, value, collection window) is the citizen initiatives' default threshold
    (:data:`DEFAULT_INITIATIVE_THRESHOLD`).  ``handover=False`` leaves the deployer admin: only for test
    fixtures that must mint directly;
    the manifest then says so and the suite is not trustworthy.  ``artifacts`` defaults to the committed ones
    (``co3chain compile``).  Raises :class:`DeployError` with a one-line reason.
    """
    say = progress or (lambda _msg: None)
    qbft_compatible(w3)
    arts = artifacts or ArtifactSet.committed()
    params = SuiteParams(
        deployer=to_checksum_address(deployer.address),
        oracle_signers=[to_checksum_address(s) for s in oracle_signers],
        oracle_threshold=int(oracle_threshold),
        validators=[to_checksum_address(v) for v in validators],
        half_life_seconds=int(half_life_seconds),
        relayer=to_checksum_address(relayer) if relayer else None,
        registrars=list(registrars or []),
        area_managers=list(area_managers or []),
        proposers=list(proposers or []),
        timelock_delay=int(timelock_delay),
        council_members=[to_checksum_address(m) for m in council_members or []],
        council_threshold=int(council_threshold),
        voting_bounds=tuple(int(b) for b in voting_bounds) if voting_bounds is not None else None,  # type: ignore[arg-type]
        recovery_delay=int(recovery_delay),
        initiative_threshold=tuple(int(v) for v in initiative_threshold),  # type: ignore[arg-type]
    )
    params.validate()
    for name in SUITE:
        arts.artifact(name)  # fail before the first transaction if something is missing
    sender = TxSender(w3, deployer, decoder=arts.error_decoder())
    try:
        chain_id = sender.chain_id
        fees = fee_fields(w3)
        balance = int(w3.eth.get_balance(params.deployer))
    except Exception as exc:
        if _is_connection_error(exc):
            raise DeployError(f"cannot reach the node ({exc.__class__.__name__}): is it running?") from None
        raise DeployError(f"the node answered unexpectedly: {_rpc_error_text(exc)}") from None
    if balance == 0 and any(fees.values()):
        raise DeployError(
            f"deployer {params.deployer} has no funds on chain {chain_id} and the node charges for gas"
        )
    say(f"deploying {len(SUITE)} contracts to chain {chain_id} from {params.deployer}")

    addresses: dict[str, str] = {}
    entries: dict[str, dict[str, Any]] = {}
    last_block = 0
    for name in SUITE:
        art = arts.artifact(name)
        args = constructor_args(name, params, addresses)
        data = art["bytecode"] + encode_constructor_args(art["abi"], args).hex()
        receipt = sender.transact({"data": data}, f"deploying {name}")
        address = to_checksum_address(receipt["contractAddress"])
        code = bytes(w3.eth.get_code(address))
        if not code:
            raise DeployError(f"{name} deployment left no code at {address}")
        addresses[name] = address
        last_block = int(receipt["blockNumber"])
        entries[name] = {
            "address": address,
            "txHash": "0x" + bytes(receipt["transactionHash"]).hex(),
            "blockNumber": last_block,
            "gasUsed": int(receipt["gasUsed"]),
            "sourceName": art["sourceName"],
            "codeHash": "0x" + keccak(code).hex(),
            "constructorArgs": describe_constructor_args(art["abi"], args),
        }
        say(f"  {name:<22} {address}  block {last_block}  gas {int(receipt['gasUsed']):>9,}")

    abis = {n: arts.artifact(n)["abi"] for n in SUITE}
    roles: list[dict[str, Any]] = []
    for name in SUITE:
        if _has_function(abis[name], "hasRole"):
            roles.append({"contract": name, "role": "DEFAULT_ADMIN_ROLE", "roleId": DEFAULT_ADMIN_ROLE,
                          "account": params.deployer, "label": "deployer", "txHash": entries[name]["txHash"]})
    for grant in role_plan(params, addresses, abis):
        contract = w3.eth.contract(address=addresses[grant.contract], abi=abis[grant.contract])
        rid = role_id(grant.role)
        onchain_id = "0x" + bytes(contract.functions[grant.role]().call()).hex()
        if onchain_id != rid:
            raise DeployError(f"{grant.contract}.{grant.role} is {onchain_id}, expected keccak256(\"{grant.role}\")")
        record = {"contract": grant.contract, "role": grant.role, "roleId": rid, "account": grant.account,
                  "label": grant.label}
        if contract.functions.hasRole(rid, grant.account).call():
            record["txHash"] = entries[grant.contract]["txHash"]  # granted by the constructor
        else:
            receipt = sender.call_fn(contract, "grantRole", [rid, grant.account],
                                     f"granting {grant.role} on {grant.contract} to {grant.label}")
            record["txHash"] = "0x" + bytes(receipt["transactionHash"]).hex()
            last_block = int(receipt["blockNumber"])
            if not contract.functions.hasRole(rid, grant.account).call():
                raise DeployError(f"{grant.role} on {grant.contract} not granted to {grant.account} after the tx")
        roles.append(record)
        say(f"  role {grant.contract}.{grant.role} -> {grant.label} {grant.account}")

    contracts = {n: w3.eth.contract(address=addresses[n], abi=abis[n]) for n in SUITE}
    pa_accounts = _bind_pa_accounts(sender, contracts["CitizenRegistry"], params, say)
    if params.voting_bounds is not None:
        receipt = sender.call_fn(contracts["CO3Governance"], "setVotingBounds", [list(params.voting_bounds)],
                                 "setting the voting-window bounds")
        last_block = int(receipt["blockNumber"])
    for call in wiring_calls(addresses):
        receipt = sender.call_fn(contracts[call.contract], call.function, list(call.args), call.label)
        last_block = int(receipt["blockNumber"])
        say(f"  {call.label}")
    handover_log: list[dict[str, Any]] = []
    if handover:
        say("handing every admin power over to the consortium timelock")
        for step in handover_plan(params, addresses, abis):
            contract = contracts[step.contract]
            rid = role_id(step.role)
            fn = "grantRole" if step.action == "grant" else "renounceRole"
            receipt = sender.call_fn(contract, fn, [rid, step.account],
                                     f"{step.action} {step.role} on {step.contract} ({step.label})")
            last_block = int(receipt["blockNumber"])
            tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
            handover_log.append({"contract": step.contract, "action": step.action, "role": step.role, "roleId": rid,
                                 "account": step.account, "label": step.label, "txHash": tx_hash})
            say(f"  {step.action} {step.contract}.{step.role} {'->' if step.action == 'grant' else 'by'} "
                f"{step.label} {step.account}")
        roles = [r for r in roles if r["role"] != "DEFAULT_ADMIN_ROLE"]
        for entry in handover_log:
            if entry["action"] == "grant":
                roles.append({k: entry[k] for k in ("contract", "role", "roleId", "account", "label", "txHash")})
        roles.append({"contract": "ConsortiumTimelock", "role": "DEFAULT_ADMIN_ROLE", "roleId": DEFAULT_ADMIN_ROLE,
                      "account": addresses["ConsortiumTimelock"], "label": "ConsortiumTimelock (itself)",
                      "txHash": entries["ConsortiumTimelock"]["txHash"]})
        problems = check_handover(w3, addresses, abis, [params.deployer, *_eoa_grantees(params)])
        if problems:
            raise DeployError("handover incomplete: " + "; ".join(problems))
        say("no externally owned account holds an admin, minting or rewarding role")

    timestamp = int(w3.eth.get_block(last_block)["timestamp"])
    manifest = build_manifest(
        chain_id=chain_id,
        deployer=params.deployer,
        network=network or _network_name(w3),
        deployed_at=timestamp,
        contracts=entries,
        roles=roles,
        build_info=arts.build_info,
    )
    gov = contracts["CO3Governance"]
    manifest["governance"] = {
        "executor": addresses["ConsortiumTimelock"],
        "delaySeconds": params.timelock_delay,
        "council": {
            "address": addresses["ConsortiumCouncil"],
            "members": params.council,
            "threshold": int(contracts["ConsortiumCouncil"].functions.threshold().call()),
            "thresholdSetting": params.council_threshold,
        },
        "guardian": addresses["ConsortiumCouncil"],
        "delegation": addresses.get("LiquidDelegation"),
        "votingBounds": dict(zip(("minVotingDelay", "maxVotingDelay", "minVotingPeriod", "maxVotingPeriod"),
                                 (int(v) for v in gov.functions.votingBounds().call()), strict=True)),
        "recoveryDelaySeconds": params.recovery_delay,
        "initiativeThreshold": dict(zip(("kind", "value", "collectionWindow"), params.initiative_threshold,
                                        strict=True)),
        "handedOver": bool(handover),
        "handover": handover_log,
    }
    manifest["electorates"] = {"paAccounts": {b["account"]: b["paId"] for b in pa_accounts}, "bindings": pa_accounts}
    return manifest


#: PA id of the registrars and area managers a deployment starts with (further PAs: `co3chain electorate bind-pa`).
DEPLOY_PA_ID = 1


def _bind_pa_accounts(sender: TxSender, registry: Any, params: SuiteParams, say: ProgressFn) -> list[dict[str, Any]]:
    """Bind the deployment's registrars and area managers to PA :data:`DEPLOY_PA_ID` while the deployer is still
    the registry's admin: a registrar may only register its own PA's citizens, and an area's proposals are
    voted by its managing PA's citizens (docs/electorates.md)."""
    accounts = [*(params.registrars or [params.deployer]), *(params.area_managers or [params.deployer])]
    bound: list[dict[str, Any]] = []
    for acct in dict.fromkeys(to_checksum_address(a) for a in accounts):
        if int(registry.functions.paOf(acct).call()) != 0:
            continue
        receipt = sender.call_fn(registry, "setAccountPa", [acct, DEPLOY_PA_ID], f"binding {acct} to PA {DEPLOY_PA_ID}")
        say(f"  PA {DEPLOY_PA_ID} account {acct}")
        bound.append({"account": acct, "paId": int(registry.functions.paOf(acct).call()),
                      "txHash": "0x" + bytes(receipt["transactionHash"]).hex()})
    return bound


def _eoa_grantees(params: SuiteParams) -> list[str]:
    """Accounts the deploy may have given roles to (operational roles only are allowed)."""
    return [a for a in [*params.registrars, *params.area_managers, *params.proposers,
                        *([params.relayer] if params.relayer else [])] if a]


def check_handover(w3: Any, addresses: Mapping[str, str], abis: Mapping[str, Sequence[dict]],
                   accounts: Sequence[str]) -> list[str]:
    """Problems (empty when none): any of ``accounts`` holding a :data:`SOVEREIGN_ROLES` role on a contract of
    the suite, or the timelock not administering a contract that has an admin role."""
    problems = []
    timelock = addresses.get("ConsortiumTimelock")
    for name, address in addresses.items():
        abi = abis.get(name, [])
        if not _has_function(abi, "hasRole"):
            continue
        contract = w3.eth.contract(address=address, abi=abi)
        for role in SOVEREIGN_ROLES:
            if role != "DEFAULT_ADMIN_ROLE" and not _has_function(abi, role):
                continue
            for account in {to_checksum_address(a) for a in accounts}:
                if contract.functions.hasRole(role_id(role), account).call():
                    problems.append(f"{account} still holds {role} on {name}")
        if timelock and not contract.functions.hasRole(role_id("DEFAULT_ADMIN_ROLE"), timelock).call():
            problems.append(f"the timelock is not admin of {name}")
    return problems


def _has_function(abi: Sequence[dict[str, Any]], name: str) -> bool:
    return any(i.get("type") == "function" and i.get("name") == name for i in abi)


# --------------------------------------------------------------------------------------------------------
# Manifest I/O
# --------------------------------------------------------------------------------------------------------


def save_manifest(manifest: Mapping[str, Any], path: str | Path) -> Path:
    """Write the manifest as pretty JSON (stable key order, so diffs between deployments are readable)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read and sanity-check a deployment manifest."""
    p = Path(path)
    try:
        manifest = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"deployment manifest {p} not found") from None
    except json.JSONDecodeError as exc:
        raise DeployError(f"deployment manifest {p} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise DeployError(f"deployment manifest {p} is not a JSON object")
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise DeployError(f"deployment manifest {p} lacks {', '.join(missing)}")
    for name, entry in manifest["contracts"].items():
        if not isinstance(entry, dict) or "address" not in entry:
            raise DeployError(f"deployment manifest {p}: contract {name} has no address")
    return manifest


def contracts_from_manifest(
    w3: Any, manifest: Mapping[str, Any], artifacts: ArtifactSet | None = None
) -> dict[str, Any]:
    """Web3 contract objects for every contract in the manifest, checking the chain id matches."""
    chain_id = int(w3.eth.chain_id)
    if int(manifest["chainId"]) != chain_id:
        raise DeployError(f"manifest is for chain {manifest['chainId']}, the node is chain {chain_id}")
    arts = artifacts or ArtifactSet.committed()
    return {
        name: w3.eth.contract(address=to_checksum_address(entry["address"]), abi=arts.artifact(name)["abi"])
        for name, entry in manifest["contracts"].items()
    }


def node_validators(w3: Any) -> list[str]:
    """The node's current QBFT validators (``qbft_getValidatorsByBlockNumber``), or [] on other nodes.

    Why: ConsortiumValidators should start with the same PA set that seals blocks.
    """
    try:
        response = w3.provider.make_request("qbft_getValidatorsByBlockNumber", ["latest"])
    except Exception:
        return []
    result = response.get("result") if isinstance(response, dict) else None
    if not isinstance(result, list):
        return []
    return [to_checksum_address(v) for v in result]


def wait_for_node(w3: Any, timeout: float = 30.0) -> int:
    """Block until the node answers ``eth_chainId``; returns it.  Used right after starting a node."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(w3.eth.chain_id)
        except Exception as exc:
            if time.monotonic() > deadline:
                raise DeployError(f"node did not answer within {timeout:.0f}s: {exc.__class__.__name__}") from None
            time.sleep(0.2)
