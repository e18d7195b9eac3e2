// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IElectorates} from "./IElectorates.sol";

/**
 * @title ICitizenRegistry
 * @notice Registry of citizens verified by public-administration registrars. A citizen is a pseudonymous
 * address bound to a hashed identity reference (one person, one address), with an expiry and revocation.
 * The number of registered, non-revoked citizens is checkpointed on a timestamp clock (ERC-6372
 * `mode=timestamp`) so governance can read the electorate size at a proposal snapshot.
 *
 * Electorates (`IElectorates`): every citizen belongs to the PA whose registrar registered it, and to up to
 * `MAX_GROUPS_PER_CITIZEN` electoral groups of that PA; both are checkpointed, and so are the eligible counts of
 * every PA and group, so eligibility and electorate sizes at a past snapshot are provable.
 */
interface ICitizenRegistry is IElectorates {
    /// @notice An electoral group: owned by one PA; `kind` 0 DISTRICT, 1 AREA_RESIDENCE (exclusive kinds: a
    /// citizen is in at most one group of each), 2 ASSOCIATION (may overlap).
    struct Group {
        uint32 paId;
        uint8 kind;
        bytes32 metadataHash; // hash of the group's public description (name, boundaries, statutes)
    }
    /// @notice Stored record of one citizen address.
    struct Citizen {
        bytes32 identityHash; // salted hash of the off-chain identity reference (never the identity itself)
        uint64 registeredAt; // timestamp of the latest (re-)registration
        uint64 expiresAt; // citizenship is valid while block.timestamp <= expiresAt
        bool revoked; // set by revoke(); cleared by a re-registration of the same identity
    }

    /// @notice `citizen` was registered (or re-registered after a revocation) by `registrar`.
    event CitizenRegistered(
        address indexed citizen, bytes32 indexed identityHash, uint64 expiresAt, address indexed registrar
    );
    /// @notice The expiry of `citizen` was moved to `expiresAt` by `registrar`.
    event CitizenRenewed(address indexed citizen, uint64 expiresAt, address indexed registrar);
    /// @notice `citizen` was revoked by `registrar` for `reasonCode` (see `revoke`); the identity stays bound to
    /// the address. Details about the person stay in the registrar's off-chain file, never on chain.
    event CitizenRevoked(
        address indexed citizen, bytes32 indexed identityHash, uint8 reasonCode, address indexed registrar
    );
    /// @notice The admin released the binding of a revoked identity so it can be registered to a new address.
    event IdentityReleased(bytes32 indexed identityHash, address indexed previousCitizen, address indexed admin);

    /// @notice The admin bound `account` (a registrar officer or an area manager) to PA `paId` (0 = unbound).
    event AccountPaSet(address indexed account, uint256 indexed paId, address indexed admin);
    /// @notice `citizen` now belongs to PA `paId` (emitted with every (re-)registration).
    event CitizenPaSet(address indexed citizen, uint256 indexed paId);
    /// @notice A registrar of PA `paId` created electoral group `groupId`.
    event GroupCreated(
        uint256 indexed groupId, uint256 indexed paId, uint8 kind, bytes32 metadataHash, address indexed registrar
    );
    /// @notice `citizen` joined group `groupId`.
    event GroupMemberAdded(uint256 indexed groupId, address indexed citizen, address indexed registrar);
    /// @notice `citizen` left group `groupId` (removed by a registrar, or because the citizen was revoked).
    event GroupMemberRemoved(uint256 indexed groupId, address indexed citizen, address indexed registrar);
    /// @notice `electorate` was defined as the union of `groupIds` (all of PA `paId` and of one exclusive kind).
    event ElectorateDefined(uint256 indexed electorate, uint256 indexed paId, uint256[] groupIds, address indexed definer);

    /// @notice The address is zero.
    error ZeroAddress();
    /// @notice `account` has REGISTRAR_ROLE but is bound to no PA (`setAccountPa`).
    error RegistrarWithoutPa(address account);
    /// @notice `account` acts for another PA than `paId`, the PA of the citizen, group or electorate concerned.
    error NotOwnPa(address account, uint256 paId);
    /// @notice PA ids are 1 .. 2^32 − 1 (0 means "none").
    error InvalidPa(uint256 paId);
    /// @notice No group has id `groupId`.
    error UnknownGroup(uint256 groupId);
    /// @notice `kind` is not 0 (DISTRICT), 1 (AREA_RESIDENCE) or 2 (ASSOCIATION).
    error InvalidGroupKind(uint8 kind);
    /// @notice `citizen` is already a member of `groupId`.
    error AlreadyInGroup(address citizen, uint256 groupId);
    /// @notice `citizen` is not a member of `groupId`.
    error NotInGroup(address citizen, uint256 groupId);
    /// @notice `citizen` is already in `groupId`, another group of the same exclusive kind.
    error ExclusiveKindTaken(address citizen, uint256 groupId);
    /// @notice `citizen` is already in `MAX_GROUPS_PER_CITIZEN` groups.
    error TooManyGroups(address citizen);
    /// @notice Only registered, non-revoked, non-expired citizens join groups.
    error CitizenNotActive(address citizen);
    /// @notice A union needs 2 .. MAX_GROUPS_PER_ELECTORATE distinct groups in ascending order, of one PA and one
    /// exclusive kind.
    error InvalidElectorateDefinition();
    /// @notice `electorate` is not defined (`electorateExists`).
    error UnknownElectorate(uint256 electorate);
    /// @notice The identity hash is zero.
    error InvalidIdentityHash();
    /// @notice `expiresAt` is not in the future.
    error InvalidExpiry(uint64 expiresAt);
    /// @notice The address is already an active (non-revoked) registered citizen.
    error AlreadyRegistered(address citizen);
    /// @notice The identity is bound to another address (revoked bindings need `releaseIdentity`).
    error IdentityAlreadyBound(bytes32 identityHash, address boundTo);
    /// @notice A revoked address may only be re-registered with its own identity (or after a release).
    error IdentityMismatch(address citizen, bytes32 identityHash);
    /// @notice The address was never registered.
    error NotRegistered(address citizen);
    /// @notice The address is revoked.
    error CitizenIsRevoked(address citizen);
    /// @notice The identity is not bound to any address.
    error IdentityNotBound(bytes32 identityHash);
    /// @notice Only revoked identities can be released.
    error IdentityNotRevoked(bytes32 identityHash);
    /// @notice `reasonCode` is not one of the documented revocation codes.
    error InvalidRevocationReason(uint8 reasonCode);
    /// @notice `timepoint` is not in the past of the timestamp clock.
    error FutureLookup(uint256 timepoint, uint48 clock);

    /// @notice Register `citizen` with `identityHash`, valid until `expiresAt`. REGISTRAR_ROLE only.
    function register(address citizen, bytes32 identityHash, uint64 expiresAt) external;

    /// @notice Admin only: bind `account` (a registrar officer or an area manager) to PA `paId`, 0 to unbind.
    function setAccountPa(address account, uint256 paId) external;

    /// @notice Create an electoral group of the caller's PA (REGISTRAR_ROLE, bound to a PA).
    function createGroup(uint8 kind, bytes32 metadataHash) external returns (uint256 groupId);

    /// @notice Add an active citizen of the caller's PA to a group of the caller's PA.
    function addToGroup(uint256 groupId, address citizen) external;

    /// @notice Remove a citizen of the caller's PA from a group of the caller's PA.
    function removeFromGroup(uint256 groupId, address citizen) external;

    /// @notice Define the union of `groupIds` (ascending, one PA and one exclusive kind) as an electorate. Any
    /// account bound to that PA may.
    function defineElectorate(uint256[] calldata groupIds) external returns (uint256 electorate);

    /// @notice Move the expiry of a non-revoked citizen to `expiresAt` (also revives an expired one).
    function renew(address citizen, uint64 expiresAt) external;

    /// @notice Revoke `citizen` with a coded reason; no free text about a person ever reaches the chain.
    /// @dev Codes (deliberately coarse: the chain is public and permanent, see docs/privacy.md):
    /// 0 UNSPECIFIED (the default; details only in the registrar's off-chain file),
    /// 1 KEY_COMPROMISED (the key was lost or stolen: actions after the revocation are not the person's;
    ///   the identity may be released and bound to a new address),
    /// 2 ELIGIBILITY_ENDED (no longer part of the community, e.g. moved away; the cause is not coded),
    /// 3 CITIZEN_REQUEST (the person withdrew), 4 REGISTRATION_ERROR (registered by mistake).
    /// Sensitive causes (suspected fraud, death) are recorded as UNSPECIFIED on purpose.
    function revoke(address citizen, uint8 reasonCode) external;

    /// @notice Admin only: unbind a revoked identity so it can be registered to a different address.
    function releaseIdentity(bytes32 identityHash) external;

    /// @notice True when `account` is registered, not revoked and not expired.
    function isCitizen(address account) external view returns (bool);

    /// @notice Timestamp of the latest (re-)registration of `account`, 0 if never registered.
    function registeredAt(address account) external view returns (uint64);

    /// @notice True when `account` was (re-)registered at or before `timepoint` and is a citizen now.
    function isEligibleAt(address account, uint48 timepoint) external view returns (bool);

    /// @notice Number of registered, non-revoked citizens now (expired ones are counted until revoked).
    function citizenCount() external view returns (uint256);

    /// @notice Number of registered, non-revoked citizens at past `timepoint` (strictly before clock()).
    function getPastCitizenCount(uint48 timepoint) external view returns (uint256);

    /// @notice Citizens registered, not revoked and not expired at `timepoint` (< clock()), up to day
    /// granularity: a citizen whose citizenship expired during a day still counts until that day ends (UTC), so
    /// the value errs high, never low. Governance uses it as the one-citizen-one-vote quorum base.
    function getPastEligibleCount(uint48 timepoint) external view returns (uint256);

    /// @notice The stored record of `account` (zeroed if never registered).
    function getCitizen(address account) external view returns (Citizen memory);

    /// @notice The address bound to `identityHash`, zero if none.
    function addressOfIdentity(bytes32 identityHash) external view returns (address);

    /// @notice The PA `citizen` belongs to now (0 if never registered).
    function citizenPa(address citizen) external view returns (uint256);

    /// @notice The group `groupId` (reverts `UnknownGroup`).
    function getGroup(uint256 groupId) external view returns (Group memory);

    /// @notice Number of groups created (the highest group id).
    function groupCount() external view returns (uint256);

    /// @notice Groups `citizen` is a member of now.
    function groupsOf(address citizen) external view returns (uint256[] memory);

    /// @notice Whether `citizen` was a member of `groupId` at `timepoint`.
    function isGroupMemberAt(address citizen, uint256 groupId, uint48 timepoint) external view returns (bool);

    /// @notice Groups making up a union electorate (empty for other electorates).
    function electorateGroups(uint256 electorate) external view returns (uint256[] memory);

    /// @notice ERC-6372 clock: the block timestamp.
    function clock() external view returns (uint48);

    /// @notice ERC-6372 clock description: `mode=timestamp`.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external view returns (string memory);
}
