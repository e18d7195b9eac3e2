"""CommoningAreas: role-gated creation, manager-only changes, activity windows and closing semantics."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from tests.contracts.suite_helpers import ADMIN_ROLE, events, latest_time, next_block_at, reverts, role, send

AREA_MANAGER = role("AREA_MANAGER_ROLE")
ZERO = "0x" + "00" * 20
GEOM = bytes(Web3.keccak(text="polygon-geojson"))
CELLS = [0x8A1FB46622DFFFF, 0x8A1FB46622D7FFF, 0x8A1FB46622C7FFF]


@pytest.fixture
def env(w3: Web3, accounts: list[Any], deploy: Any) -> dict[str, Any]:
    admin, pa, other_pa = accounts[0], accounts[2], accounts[6]
    areas = deploy("CommoningAreas", admin.address, sender=admin)
    send(areas.functions.grantRole(AREA_MANAGER, pa.address), admin)
    send(areas.functions.grantRole(AREA_MANAGER, other_pa.address), admin)
    return {"areas": areas, "admin": admin, "pa": pa, "other": other_pa, "citizen": accounts[3]}


def _area(env: dict[str, Any]) -> int:
    areas, pa = env["areas"], env["pa"]
    send(areas.functions.createArea(pa.address, GEOM, "ipfs://area-1"), pa)
    return int(areas.functions.areaCount().call())


def _activity(w3: Web3, env: dict[str, Any], area_id: int, **over: Any) -> int:
    now = latest_time(w3)
    args = {"kind": 0, "token": 10, "rep": 5, "start": now, "end": now + 1000, "cap": 2} | over
    fn = env["areas"].functions.createActivity(
        area_id, args["kind"], args["token"], args["rep"], args["start"], args["end"], args["cap"]
    )
    send(fn, env["pa"])
    return int(env["areas"].functions.activityCount().call())


def test_constructor_rejects_zero_admin(deploy: Any) -> None:
    with reverts("ZeroAddress()"):
        deploy("CommoningAreas", ZERO)


def test_create_area(w3: Web3, env: dict[str, Any]) -> None:
    areas, pa, citizen = env["areas"], env["pa"], env["citizen"]
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", citizen.address, AREA_MANAGER):
        areas.functions.createArea(citizen.address, GEOM, "x").transact({"from": citizen.address})
    with reverts("ZeroAddress()"):
        areas.functions.createArea(ZERO, GEOM, "x").transact({"from": pa.address})
    # A PA with the role may register an area on behalf of another managing PA.
    receipt = send(areas.functions.createArea(env["other"].address, GEOM, "ipfs://a"), pa)
    (ev,) = events(areas, receipt, "AreaCreated")
    assert (
        ev.args.areaId,
        ev.args.managingPA,
        ev.args.geometryHash,
        ev.args.metadataURI,
        ev.args.creator,
    ) == (
        1,
        env["other"].address,
        GEOM,
        "ipfs://a",
        pa.address,
    )
    ts = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert areas.functions.getArea(1).call() == (1, env["other"].address, GEOM, "ipfs://a", ts, 0)
    assert areas.functions.areaExists(1).call()
    assert not areas.functions.areaExists(2).call()
    assert areas.functions.managerOf(1).call() == env["other"].address
    with reverts("UnknownArea(uint256)", 2):
        areas.functions.getArea(2).call()
    with reverts("UnknownArea(uint256)", 0):
        areas.functions.managerOf(0).call()


def test_manager_only_area_changes(env: dict[str, Any]) -> None:
    areas, pa, other = env["areas"], env["pa"], env["other"]
    area_id = _area(env)
    new_geom = bytes(Web3.keccak(text="h3-cells"))
    for fn in (
        areas.functions.updateArea(area_id, new_geom, "ipfs://b"),
        areas.functions.setAreaCells(area_id, CELLS),
        areas.functions.closeArea(area_id),
        areas.functions.createActivity(area_id, 0, 1, 1, 0, 10, 1),
    ):
        with reverts("NotAreaManager(uint256,address)", area_id, other.address):
            fn.transact({"from": other.address})
    receipt = send(areas.functions.updateArea(area_id, new_geom, "ipfs://b"), pa)
    (ev,) = events(areas, receipt, "AreaUpdated")
    assert (ev.args.geometryHash, ev.args.metadataURI) == (new_geom, "ipfs://b")
    receipt = send(areas.functions.setAreaCells(area_id, CELLS), pa)
    (ev,) = events(areas, receipt, "AreaCellsSet")
    packed = b"".join(c.to_bytes(32, "big") for c in CELLS)  # abi.encodePacked pads array items
    assert (ev.args.cellCount, ev.args.cellsHash) == (3, Web3.keccak(packed))
    assert areas.functions.getAreaCells(area_id).call() == CELLS
    send(areas.functions.setAreaCells(area_id, CELLS[:1]), pa)
    assert areas.functions.getAreaCells(area_id).call() == CELLS[:1]
    with reverts("UnknownArea(uint256)", 99):
        areas.functions.setAreaCells(99, CELLS).transact({"from": pa.address})


def test_too_many_cells(env: dict[str, Any]) -> None:
    area_id = _area(env)
    with reverts("TooManyCells(uint256,uint256)", 2049, 2048):
        env["areas"].functions.setAreaCells(area_id, list(range(2049))).transact({"from": env["pa"].address})


def test_admin_reassigns_manager(env: dict[str, Any]) -> None:
    areas, admin, pa, other = env["areas"], env["admin"], env["pa"], env["other"]
    area_id = _area(env)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", pa.address, ADMIN_ROLE):
        areas.functions.setAreaManager(area_id, other.address).transact({"from": pa.address})
    with reverts("ZeroAddress()"):
        areas.functions.setAreaManager(area_id, ZERO).transact({"from": admin.address})
    with reverts("UnknownArea(uint256)", 5):
        areas.functions.setAreaManager(5, other.address).transact({"from": admin.address})
    receipt = send(areas.functions.setAreaManager(area_id, other.address), admin)
    (ev,) = events(areas, receipt, "AreaManagerChanged")
    assert (ev.args.previousManager, ev.args.newManager) == (pa.address, other.address)
    with reverts("NotAreaManager(uint256,address)", area_id, pa.address):
        areas.functions.closeArea(area_id).transact({"from": pa.address})
    send(areas.functions.closeArea(area_id), other)


def test_create_activity_validation(w3: Web3, env: dict[str, Any]) -> None:
    areas, pa = env["areas"], env["pa"]
    area_id = _area(env)
    with reverts("InvalidActivityKind(uint8)", 4):
        areas.functions.createActivity(area_id, 4, 1, 1, 0, 10, 1).transact({"from": pa.address})
    with reverts("InvalidTimeWindow(uint64,uint64)", 11, 10):
        areas.functions.createActivity(area_id, 1, 1, 1, 11, 10, 1).transact({"from": pa.address})
    with reverts("UnknownArea(uint256)", 9):
        areas.functions.createActivity(9, 1, 1, 1, 0, 10, 1).transact({"from": pa.address})
    now = latest_time(w3)
    receipt = send(areas.functions.createActivity(area_id, 3, 7, 8, now, now + 50, 4), pa)
    (ev,) = events(areas, receipt, "ActivityCreated")
    assert (
        ev.args.activityId,
        ev.args.areaId,
        ev.args.kind,
        ev.args.tokenReward,
        ev.args.reputationReward,
    ) == (
        1,
        area_id,
        3,
        7,
        8,
    )
    assert (ev.args.startsAt, ev.args.endsAt, ev.args.maxClaimsPerCitizen) == (now, now + 50, 4)
    assert areas.functions.getActivity(1).call() == (1, area_id, 3, 7, 8, now, now + 50, 4, 0)
    with reverts("UnknownActivity(uint256)", 2):
        areas.functions.getActivity(2).call()


def test_activity_window(w3: Web3, env: dict[str, Any]) -> None:
    areas = env["areas"]
    area_id = _area(env)
    now = latest_time(w3)
    act = _activity(w3, env, area_id, start=now + 100, end=now + 200)
    is_open = areas.functions.isActivityOpen
    assert not is_open(act, now + 99).call()
    assert is_open(act, now + 100).call()
    assert is_open(act, now + 200).call()
    assert not is_open(act, now + 201).call()
    assert not is_open(99, now + 150).call()


def test_update_and_close_activity(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    areas, pa, other = env["areas"], env["pa"], env["other"]
    area_id = _area(env)
    now = latest_time(w3)
    act = _activity(w3, env, area_id, start=now, end=now + 10_000)
    with reverts("NotAreaManager(uint256,address)", area_id, other.address):
        areas.functions.updateActivity(act, 1, 1, now, now + 5, 1).transact({"from": other.address})
    with reverts("InvalidTimeWindow(uint64,uint64)", now + 6, now + 5):
        areas.functions.updateActivity(act, 1, 1, now + 6, now + 5, 1).transact({"from": pa.address})
    with reverts("UnknownActivity(uint256)", 77):
        areas.functions.updateActivity(77, 1, 1, now, now + 5, 1).transact({"from": pa.address})
    receipt = send(areas.functions.updateActivity(act, 20, 30, now, now + 10_000, 0), pa)
    (ev,) = events(areas, receipt, "ActivityUpdated")
    assert (ev.args.tokenReward, ev.args.reputationReward, ev.args.maxClaimsPerCitizen) == (20, 30, 0)

    close_at = now + 500
    next_block_at(tester, close_at)
    with reverts("NotAreaManager(uint256,address)", area_id, other.address):
        areas.functions.closeActivity(act).transact({"from": other.address})
    receipt = send(areas.functions.closeActivity(act), pa)
    (ev,) = events(areas, receipt, "ActivityClosed")
    assert ev.args.closedAt == close_at
    # Closing is a point in time: observations before it still count, later ones do not.
    assert areas.functions.isActivityOpen(act, close_at - 1).call()
    assert not areas.functions.isActivityOpen(act, close_at).call()
    with reverts("ActivityIsClosed(uint256)", act):
        areas.functions.closeActivity(act).transact({"from": pa.address})
    with reverts("ActivityIsClosed(uint256)", act):
        areas.functions.updateActivity(act, 1, 1, now, now + 5, 1).transact({"from": pa.address})


def test_closing_area_closes_its_activities(w3: Web3, tester: Any, env: dict[str, Any]) -> None:
    areas, pa = env["areas"], env["pa"]
    area_id = _area(env)
    now = latest_time(w3)
    act = _activity(w3, env, area_id, start=now, end=now + 10_000)
    close_at = now + 300
    next_block_at(tester, close_at)
    receipt = send(areas.functions.closeArea(area_id), pa)
    (ev,) = events(areas, receipt, "AreaClosed")
    assert (ev.args.areaId, ev.args.closedAt) == (area_id, close_at)
    assert areas.functions.getArea(area_id).call()[5] == close_at
    assert areas.functions.isActivityOpen(act, close_at - 1).call()
    assert not areas.functions.isActivityOpen(act, close_at).call()
    for fn in (
        areas.functions.closeArea(area_id),
        areas.functions.updateArea(area_id, GEOM, "x"),
        areas.functions.setAreaCells(area_id, CELLS),
        areas.functions.createActivity(area_id, 0, 1, 1, 0, 10, 1),
        areas.functions.closeActivity(act),
    ):
        with reverts("AreaIsClosed(uint256)", area_id):
            fn.transact({"from": pa.address})
