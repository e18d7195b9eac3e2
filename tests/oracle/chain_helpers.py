"""Deploy and seed the reward suite (registry, areas, token, reputation, hub) on any web3 node.

Raw signed transactions (``TxSender``) so the same helper works on eth-tester and on anvil.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from co3chain.contracts.artifacts_dev import artifact
from co3chain.contracts.deploy import TxSender, encode_constructor_args
from co3chain.oracle.geometry import geometry_hash
from tests.anvil import ANVIL_KEY, running_anvil

REPO = Path(__file__).resolve().parents[2]


def role(name: str) -> bytes:
    return bytes(Web3.keccak(text=name))


def abi_for(name: str) -> list[dict[str, Any]]:
    return artifact(name)["abi"]


@dataclass
class RewardSuite:
    w3: Web3
    admin: Any
    tx: TxSender
    registry: Any
    areas: Any
    token: Any
    reputation: Any
    hub: Any

    @property
    def addresses(self) -> dict[str, str]:
        return {"hub": self.hub.address, "areas": self.areas.address, "registry": self.registry.address}

    def call(self, contract: Any, fn: str, *args: Any) -> Any:
        return self.tx.call_fn(contract, fn, args, f"{fn}")


def _deploy(w3: Web3, tx: TxSender, name: str, *args: Any) -> Any:
    art = artifact(name)
    data = "0x" + art["bytecode"].removeprefix("0x") + encode_constructor_args(art["abi"], args).hex()
    receipt = tx.transact({"data": data}, f"deploy {name}")
    return w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])


def deploy_reward_suite(w3: Web3, admin: Any, signers: list[str], threshold: int) -> RewardSuite:
    """The five reward contracts, wired: admin is registrar and area manager; the hub mints and rewards."""
    tx = TxSender(w3, admin)
    registry = _deploy(w3, tx, "CitizenRegistry", admin.address)
    areas = _deploy(w3, tx, "CommoningAreas", admin.address)
    token = _deploy(w3, tx, "CommonsToken", admin.address)
    reputation = _deploy(w3, tx, "Reputation", admin.address, 30 * 86_400)
    ordered = sorted(signers, key=lambda a: int(a, 16))
    hub = _deploy(w3, tx, "AttestationHub", admin.address, registry.address, areas.address, token.address,
                  reputation.address, ordered, threshold)
    suite = RewardSuite(w3, admin, tx, registry, areas, token, reputation, hub)
    suite.call(registry, "grantRole", role("REGISTRAR_ROLE"), admin.address)
    suite.call(registry, "setAccountPa", admin.address, 1)
    suite.call(areas, "grantRole", role("AREA_MANAGER_ROLE"), admin.address)
    suite.call(token, "grantRole", role("MINTER_ROLE"), hub.address)
    suite.call(reputation, "grantRole", role("REWARDER_ROLE"), hub.address)
    return suite


def seed_area(suite: RewardSuite, geojson: dict[str, Any], *, starts: int, ends: int, token_reward: int = 10,
              reputation_reward: int = 5, max_claims: int = 0, kind: int = 0) -> tuple[int, int]:
    """Create an area with ``geojson``'s hash and one activity; returns (area id, activity id)."""
    suite.call(suite.areas, "createArea", suite.admin.address, geometry_hash(geojson), "ipfs://area")
    area_id = int(suite.areas.functions.areaCount().call())
    suite.call(suite.areas, "createActivity", area_id, kind, token_reward, reputation_reward, starts, ends,
               max_claims)
    return area_id, int(suite.areas.functions.activityCount().call())


def register_citizen(suite: RewardSuite, citizen: str, expires: int) -> None:
    suite.call(suite.registry, "register", citizen, Web3.keccak(text=f"id:{citizen}"), expires)


@contextmanager
def anvil_node(block_time: float | None = None) -> Iterator[str]:
    """A fresh anvil (cancun) on a free port; yields its URL."""
    with running_anvil(block_time=block_time) as url:
        yield url


def anvil_admin() -> Any:
    return Account.from_key(ANVIL_KEY)
