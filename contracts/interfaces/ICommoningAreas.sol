// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ICommoningAreas
 * @notice Registry of Augmented Commoning Areas (managed by a public administration) and of the
 * rewarded activities inside them. Activity kinds: 0 AR check-in, 1 social post, 2 initiative joined,
 * 3 event attended.
 */
interface ICommoningAreas {
    /// @notice A commoning area. `closedAt` = 0 while open.
    struct Area {
        uint256 id;
        address managingPA;
        bytes32 geometryHash; // hash of the polygon (GeoJSON) or of the sorted H3 cell list
        string metadataURI;
        uint64 createdAt;
        uint64 closedAt;
    }

    /// @notice A rewarded activity. Open at `t` iff startsAt <= t <= endsAt, t < closedAt (if closed) and
    /// the area was open at `t`. `maxClaimsPerCitizen` = 0 means unlimited.
    struct Activity {
        uint256 id;
        uint256 areaId;
        uint8 kind;
        uint256 tokenReward;
        uint256 reputationReward;
        uint64 startsAt;
        uint64 endsAt;
        uint32 maxClaimsPerCitizen;
        uint64 closedAt;
    }

    /// @notice `creator` registered area `areaId`, managed by `managingPA`.
    event AreaCreated(
        uint256 indexed areaId, address indexed managingPA, bytes32 geometryHash, string metadataURI, address indexed creator
    );
    /// @notice The manager replaced the geometry hash and metadata URI of `areaId`.
    event AreaUpdated(uint256 indexed areaId, bytes32 geometryHash, string metadataURI);
    /// @notice `cellsHash` = keccak256(abi.encodePacked(h3Cells)): each cell left-padded to 32 bytes.
    event AreaCellsSet(uint256 indexed areaId, uint256 cellCount, bytes32 cellsHash);
    /// @notice The admin handed `areaId` to `newManager`.
    event AreaManagerChanged(uint256 indexed areaId, address indexed previousManager, address indexed newManager);
    /// @notice `areaId` (and with it its activities) closed at `closedAt`.
    event AreaClosed(uint256 indexed areaId, uint64 closedAt);
    /// @notice The area manager created activity `activityId` with these reward rules.
    event ActivityCreated(
        uint256 indexed activityId,
        uint256 indexed areaId,
        uint8 kind,
        uint256 tokenReward,
        uint256 reputationReward,
        uint64 startsAt,
        uint64 endsAt,
        uint32 maxClaimsPerCitizen
    );
    /// @notice The area manager changed the reward rules of `activityId`.
    event ActivityUpdated(
        uint256 indexed activityId,
        uint256 tokenReward,
        uint256 reputationReward,
        uint64 startsAt,
        uint64 endsAt,
        uint32 maxClaimsPerCitizen
    );
    /// @notice `activityId` closed at `closedAt`; observations from then on earn nothing.
    event ActivityClosed(uint256 indexed activityId, uint64 closedAt);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice No area has id `areaId`.
    error UnknownArea(uint256 areaId);
    /// @notice No activity has id `activityId`.
    error UnknownActivity(uint256 activityId);
    /// @notice `caller` is not the managing PA of `areaId`.
    error NotAreaManager(uint256 areaId, address caller);
    /// @notice `areaId` is closed and can no longer change.
    error AreaIsClosed(uint256 areaId);
    /// @notice `activityId` is closed and can no longer change.
    error ActivityIsClosed(uint256 activityId);
    /// @notice `kind` is not one of 0..3.
    error InvalidActivityKind(uint8 kind);
    /// @notice `startsAt` is after `endsAt`.
    error InvalidTimeWindow(uint64 startsAt, uint64 endsAt);
    /// @notice The H3 cell list exceeds `max` cells.
    error TooManyCells(uint256 count, uint256 max);

    /// @notice Create an area managed by `managingPA`. AREA_MANAGER_ROLE only. Ids start at 1.
    function createArea(address managingPA, bytes32 geometryHash, string calldata metadataURI)
        external
        returns (uint256 areaId);

    /// @notice Replace the H3 cell list of an area. Area manager only.
    function setAreaCells(uint256 areaId, uint64[] calldata h3Cells) external;

    /// @notice Create an activity in `areaId`. Area manager only.
    function createActivity(
        uint256 areaId,
        uint8 kind,
        uint256 tokenReward,
        uint256 reputationReward,
        uint64 startsAt,
        uint64 endsAt,
        uint32 maxClaimsPerCitizen
    ) external returns (uint256 activityId);

    /// @notice The area `areaId` (reverts `UnknownArea`).
    function getArea(uint256 areaId) external view returns (Area memory);

    /// @notice The H3 cells of `areaId` (possibly empty).
    function getAreaCells(uint256 areaId) external view returns (uint64[] memory);

    /// @notice The activity `activityId` (reverts `UnknownActivity`).
    function getActivity(uint256 activityId) external view returns (Activity memory);

    /// @notice True when the activity exists and is open at timestamp `at`.
    function isActivityOpen(uint256 activityId, uint64 at) external view returns (bool);

    /// @notice True when `areaId` exists.
    function areaExists(uint256 areaId) external view returns (bool);

    /// @notice Managing PA of `areaId` (reverts for unknown areas).
    function managerOf(uint256 areaId) external view returns (address);

    /// @notice Number of areas created (the highest area id).
    function areaCount() external view returns (uint256);

    /// @notice Number of activities created (the highest activity id).
    function activityCount() external view returns (uint256);
}
