// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ICommoningAreas} from "./interfaces/ICommoningAreas.sol";

/**
 * @title CommoningAreas
 * @notice Registry of Augmented Commoning Areas and of the rewarded activities inside them.
 *
 * An area is created by a holder of `AREA_MANAGER_ROLE` on behalf of its managing PA; from then on only
 * that PA manages it (cells, metadata, activities, closing). The admin can hand an area to another PA.
 * Closing is recorded as a timestamp rather than a flag, so "was this activity open when the citizen did
 * it?" has a deterministic answer for attestations that arrive after the close (oracle latency).
 *
 * Reward rules here are what the oracles read and sign; they are not what the hub mints at submission
 * (the signed amounts are), and the consortium caps them in the AttestationHub, so an area manager cannot
 * inflate rewards already signed nor mint beyond the council's budgets.
 */
contract CommoningAreas is AccessControl, ICommoningAreas {
    /// @notice Role of PAs allowed to create areas.
    bytes32 public constant AREA_MANAGER_ROLE = keccak256("AREA_MANAGER_ROLE");

    /// @notice Highest activity kind (0 AR check-in, 1 social post, 2 initiative joined, 3 event attended).
    uint8 public constant MAX_KIND = 3;

    /// @notice Bound on the H3 cell list of one area, to keep `setAreaCells` within a block.
    uint256 public constant MAX_CELLS = 2048;

    mapping(uint256 areaId => Area) private _areas;
    mapping(uint256 areaId => uint64[]) private _cells;
    mapping(uint256 activityId => Activity) private _activities;
    uint256 private _areaCount;
    uint256 private _activityCount;

    /// @param admin Consortium admin (DEFAULT_ADMIN_ROLE): grants AREA_MANAGER_ROLE, reassigns areas.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ICommoningAreas
    function createArea(address managingPA, bytes32 geometryHash, string calldata metadataURI)
        external
        onlyRole(AREA_MANAGER_ROLE)
        returns (uint256 areaId)
    {
        if (managingPA == address(0)) revert ZeroAddress();
        areaId = ++_areaCount;
        _areas[areaId] = Area({
            id: areaId,
            managingPA: managingPA,
            geometryHash: geometryHash,
            metadataURI: metadataURI,
            createdAt: uint64(block.timestamp),
            closedAt: 0
        });
        emit AreaCreated(areaId, managingPA, geometryHash, metadataURI, _msgSender());
    }

    /// @notice Replace the geometry hash and metadata URI of an open area. Area manager only.
    function updateArea(uint256 areaId, bytes32 geometryHash, string calldata metadataURI) external {
        Area storage area = _openManagedArea(areaId);
        area.geometryHash = geometryHash;
        area.metadataURI = metadataURI;
        emit AreaUpdated(areaId, geometryHash, metadataURI);
    }

    /// @inheritdoc ICommoningAreas
    function setAreaCells(uint256 areaId, uint64[] calldata h3Cells) external {
        _openManagedArea(areaId);
        if (h3Cells.length > MAX_CELLS) revert TooManyCells(h3Cells.length, MAX_CELLS);
        _cells[areaId] = h3Cells;
        emit AreaCellsSet(areaId, h3Cells.length, keccak256(abi.encodePacked(h3Cells)));
    }

    /// @notice Admin: hand `areaId` to another managing PA.
    function setAreaManager(uint256 areaId, address newManager) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newManager == address(0)) revert ZeroAddress();
        Area storage area = _existingArea(areaId);
        address previous = area.managingPA;
        area.managingPA = newManager;
        emit AreaManagerChanged(areaId, previous, newManager);
    }

    /// @notice Close an area now; its activities are closed from this timestamp on. Area manager only.
    function closeArea(uint256 areaId) external {
        Area storage area = _openManagedArea(areaId);
        area.closedAt = uint64(block.timestamp);
        emit AreaClosed(areaId, area.closedAt);
    }

    /// @inheritdoc ICommoningAreas
    function createActivity(
        uint256 areaId,
        uint8 kind,
        uint256 tokenReward,
        uint256 reputationReward,
        uint64 startsAt,
        uint64 endsAt,
        uint32 maxClaimsPerCitizen
    ) external returns (uint256 activityId) {
        _openManagedArea(areaId);
        if (kind > MAX_KIND) revert InvalidActivityKind(kind);
        if (startsAt > endsAt) revert InvalidTimeWindow(startsAt, endsAt);
        activityId = ++_activityCount;
        _activities[activityId] = Activity({
            id: activityId,
            areaId: areaId,
            kind: kind,
            tokenReward: tokenReward,
            reputationReward: reputationReward,
            startsAt: startsAt,
            endsAt: endsAt,
            maxClaimsPerCitizen: maxClaimsPerCitizen,
            closedAt: 0
        });
        emit ActivityCreated(
            activityId, areaId, kind, tokenReward, reputationReward, startsAt, endsAt, maxClaimsPerCitizen
        );
    }

    /// @notice Change the rewards, window and cap of an open activity. Area manager only.
    /// @dev A reward change applies to events the oracles sign afterwards: attestations carry the reward
    /// they were signed with, and the AttestationHub bounds every reward by the council's caps and budgets.
    function updateActivity(
        uint256 activityId,
        uint256 tokenReward,
        uint256 reputationReward,
        uint64 startsAt,
        uint64 endsAt,
        uint32 maxClaimsPerCitizen
    ) external {
        Activity storage activity = _openManagedActivity(activityId);
        if (startsAt > endsAt) revert InvalidTimeWindow(startsAt, endsAt);
        activity.tokenReward = tokenReward;
        activity.reputationReward = reputationReward;
        activity.startsAt = startsAt;
        activity.endsAt = endsAt;
        activity.maxClaimsPerCitizen = maxClaimsPerCitizen;
        emit ActivityUpdated(activityId, tokenReward, reputationReward, startsAt, endsAt, maxClaimsPerCitizen);
    }

    /// @notice Close an activity now. Area manager only.
    function closeActivity(uint256 activityId) external {
        Activity storage activity = _openManagedActivity(activityId);
        activity.closedAt = uint64(block.timestamp);
        emit ActivityClosed(activityId, activity.closedAt);
    }

    /// @inheritdoc ICommoningAreas
    function getArea(uint256 areaId) external view returns (Area memory) {
        return _existingArea(areaId);
    }

    /// @inheritdoc ICommoningAreas
    function getAreaCells(uint256 areaId) external view returns (uint64[] memory) {
        _existingArea(areaId);
        return _cells[areaId];
    }

    /// @inheritdoc ICommoningAreas
    function getActivity(uint256 activityId) external view returns (Activity memory) {
        return _existingActivity(activityId);
    }

    /// @inheritdoc ICommoningAreas
    function isActivityOpen(uint256 activityId, uint64 at) external view returns (bool) {
        Activity storage activity = _activities[activityId];
        if (activity.id == 0) return false;
        if (at < activity.startsAt || at > activity.endsAt) return false;
        if (activity.closedAt != 0 && at >= activity.closedAt) return false;
        uint64 areaClosedAt = _areas[activity.areaId].closedAt;
        return areaClosedAt == 0 || at < areaClosedAt;
    }

    /// @inheritdoc ICommoningAreas
    function areaExists(uint256 areaId) external view returns (bool) {
        return _areas[areaId].id != 0;
    }

    /// @inheritdoc ICommoningAreas
    function managerOf(uint256 areaId) external view returns (address) {
        return _existingArea(areaId).managingPA;
    }

    /// @inheritdoc ICommoningAreas
    function areaCount() external view returns (uint256) {
        return _areaCount;
    }

    /// @inheritdoc ICommoningAreas
    function activityCount() external view returns (uint256) {
        return _activityCount;
    }

    function _existingArea(uint256 areaId) private view returns (Area storage area) {
        area = _areas[areaId];
        if (area.id == 0) revert UnknownArea(areaId);
    }

    function _existingActivity(uint256 activityId) private view returns (Activity storage activity) {
        activity = _activities[activityId];
        if (activity.id == 0) revert UnknownActivity(activityId);
    }

    function _openManagedArea(uint256 areaId) private view returns (Area storage area) {
        area = _existingArea(areaId);
        if (area.managingPA != _msgSender()) revert NotAreaManager(areaId, _msgSender());
        if (area.closedAt != 0) revert AreaIsClosed(areaId);
    }

    function _openManagedActivity(uint256 activityId) private view returns (Activity storage activity) {
        activity = _existingActivity(activityId);
        _openManagedArea(activity.areaId);
        if (activity.closedAt != 0) revert ActivityIsClosed(activityId);
    }
}
