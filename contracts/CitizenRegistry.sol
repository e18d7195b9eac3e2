// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {IElectorates} from "./interfaces/IElectorates.sol";

/**
 * @title CitizenRegistry
 * @notice Citizens verified by public-administration registrars (`REGISTRAR_ROLE`).
 *
 * Identity policy (one person, one address):
 * - an `identityHash` (a salted hash of the off-chain identity reference kept by the PA) is bound to at most
 *   one address, and an address to at most one identity;
 * - revocation keeps the binding, so a revoked person cannot obtain a second address by re-registering;
 *   a registrar may reinstate the same (address, identity) pair with `register`;
 * - moving an identity to a new address (lost key) requires the admin to `releaseIdentity` the revoked
 *   binding first: a deliberate, evented, two-party step.
 *
 * Counting: `citizenCount` counts registered, non-revoked addresses and is checkpointed on a timestamp
 * clock. Expiry is passive (no transaction happens when time passes), so expired-but-not-revoked
 * citizens stay in that count until revoked; `isCitizen` and `isEligibleAt` do exclude them.
 * `getPastEligibleCount(t)` also excludes citizens expired at `t`: every current record's expiry day is
 * counted in a Fenwick tree over UTC days (`A(t)` = records whose expiry day ended by `t`), and records
 * removed (renewed or revoked) after their expiry day ended are checkpointed separately (`B`), so
 * eligible(t) = count(t) − (A(t) − B(t)). Later operations only touch days that have not ended yet, so
 * past values never change. Updates and queries cost O(log days) (16 steps); expiries beyond
 * `MAX_EXPIRY_DAY` never count as expired.
 *
 * Electorates (docs/electorates.md): the admin (the consortium timelock) binds each registrar officer and area
 * manager account to a PA id (`setAccountPa`). A registrar registers, renews, revokes and groups only citizens
 * of its own PA (`NotOwnPa`); a citizen belongs to the PA that registered it (checkpointed). Registrars create
 * electoral groups of their PA (districts and area residences: exclusive, a citizen is in at most one of each
 * kind; associations: may overlap) and add or remove their active citizens (at most `MAX_GROUPS_PER_CITIZEN`
 * groups each); memberships are checkpointed. Every PA and every group keeps the same three counters as the
 * consortium (count, expiry tree, removed-expired), so `getPastElectorateSize` excludes citizens expired at
 * the snapshot for every electorate exactly as `getPastEligibleCount` does for the consortium. A union of
 * groups of one exclusive kind is disjoint, so its size is the sum of its groups' sizes (at most
 * `MAX_GROUPS_PER_ELECTORATE`). A revocation removes the citizen from all its groups.
 */
contract CitizenRegistry is AccessControl, ICitizenRegistry {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Role of the PA officers that verify citizens.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice Last day index the expiry tree covers (2^16 − 1 days after 1970: year 2149).
    uint256 public constant MAX_EXPIRY_DAY = 2 ** 16 - 1;
    /// @notice Most groups one citizen may belong to (bounds renew and revoke).
    uint256 public constant MAX_GROUPS_PER_CITIZEN = 8;
    /// @notice Most groups one union electorate may join (bounds eligibility and size reads).
    uint256 public constant MAX_GROUPS_PER_ELECTORATE = 16;
    /// @notice Group kinds. DISTRICT and AREA_RESIDENCE are exclusive; ASSOCIATION groups may overlap.
    uint8 public constant DISTRICT = 0;
    uint8 public constant AREA_RESIDENCE = 1;
    uint8 public constant ASSOCIATION = 2;
    /// @notice Electorate kind tags (top byte of an electorate id).
    uint256 public constant PA_ELECTORATE = 1;
    uint256 public constant GROUP_ELECTORATE = 2;
    uint256 public constant UNION_ELECTORATE = 3;
    uint256 private constant _TAG_SHIFT = 248;
    uint256 private constant _ID_MASK = (1 << 248) - 1;

    /// @dev Checkpointed counters of one electorate (id 0: the consortium; PA and group electorates).
    struct Scope {
        Checkpoints.Trace208 count; // registered, non-revoked members
        Checkpoints.Trace208 removedExpired; // members removed after their expiry day ended (cumulative)
        mapping(uint256 day => uint256) expiryTree; // Fenwick tree over expiry days of current members
    }

    mapping(address citizen => Citizen) private _citizens;
    mapping(bytes32 identityHash => address citizen) private _identityOwner;
    mapping(uint256 scopeId => Scope) private _scopes;
    mapping(address account => uint256 paId) private _accountPa;
    mapping(uint256 paId => bool) private _paKnown;
    mapping(address citizen => Checkpoints.Trace208) private _citizenPa;
    mapping(uint256 groupId => Group) private _groups;
    uint256 private _groupCount;
    mapping(uint256 groupId => mapping(address citizen => Checkpoints.Trace208)) private _membership;
    mapping(address citizen => uint256[]) private _groupsOf;
    mapping(uint256 unionId => uint256[]) private _unions;
    uint256 private _unionCount;

    /// @param admin Consortium admin (DEFAULT_ADMIN_ROLE); grants REGISTRAR_ROLE and binds accounts to PAs.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ PA accounts

    /// @inheritdoc ICitizenRegistry
    function setAccountPa(address account, uint256 paId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        if (paId > type(uint32).max) revert InvalidPa(paId);
        _accountPa[account] = paId;
        if (paId != 0) _paKnown[paId] = true;
        emit AccountPaSet(account, paId, _msgSender());
    }

    // ------------------------------------------------------------------ citizens

    /// @inheritdoc ICitizenRegistry
    function register(address citizen, bytes32 identityHash, uint64 expiresAt)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        uint256 pa = _registrarPa();
        if (citizen == address(0)) revert ZeroAddress();
        if (identityHash == bytes32(0)) revert InvalidIdentityHash();
        if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt);

        Citizen storage c = _citizens[citizen];
        if (c.registeredAt != 0) {
            if (!c.revoked) revert AlreadyRegistered(citizen);
            // A revoked address keeps its identity unless the admin released it (which clears the record).
            // It left its PA when revoked, so any PA may reinstate it (e.g. after moving).
            if (c.identityHash != identityHash) revert IdentityMismatch(citizen, identityHash);
        } else {
            address bound = _identityOwner[identityHash];
            if (bound != address(0)) revert IdentityAlreadyBound(identityHash, bound);
        }

        _identityOwner[identityHash] = citizen;
        c.identityHash = identityHash;
        c.registeredAt = uint64(block.timestamp);
        c.expiresAt = expiresAt;
        c.revoked = false;
        _citizenPa[citizen].push(clock(), uint208(pa));
        _enter(0, expiresAt);
        _enter(_tagged(PA_ELECTORATE, pa), expiresAt);

        emit CitizenRegistered(citizen, identityHash, expiresAt, _msgSender());
        emit CitizenPaSet(citizen, pa);
    }

    /// @inheritdoc ICitizenRegistry
    function renew(address citizen, uint64 expiresAt) external onlyRole(REGISTRAR_ROLE) {
        Citizen storage c = _requireOwnCitizen(citizen);
        if (c.revoked) revert CitizenIsRevoked(citizen);
        if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt);
        uint64 old = c.expiresAt;
        uint256[] storage groups = _groupsOf[citizen];
        for (uint256 i = 0; i < groups.length + 2; ++i) {
            uint256 scope = _citizenScope(citizen, groups, i);
            _untrackExpiry(scope, old);
            _trackExpiry(scope, expiresAt, true);
        }
        c.expiresAt = expiresAt;
        emit CitizenRenewed(citizen, expiresAt, _msgSender());
    }

    /// @inheritdoc ICitizenRegistry
    function revoke(address citizen, uint8 reasonCode) external onlyRole(REGISTRAR_ROLE) {
        if (reasonCode > MAX_REVOCATION_REASON) revert InvalidRevocationReason(reasonCode);
        Citizen storage c = _requireOwnCitizen(citizen);
        if (c.revoked) revert CitizenIsRevoked(citizen);
        c.revoked = true;
        uint256[] storage groups = _groupsOf[citizen];
        for (uint256 i = 0; i < groups.length + 2; ++i) {
            _leave(_citizenScope(citizen, groups, i), c.expiresAt);
        }
        for (uint256 i = groups.length; i > 0; --i) {
            uint256 groupId = groups[i - 1];
            _membership[groupId][citizen].push(clock(), 0);
            emit GroupMemberRemoved(groupId, citizen, _msgSender());
        }
        delete _groupsOf[citizen];
        emit CitizenRevoked(citizen, c.identityHash, reasonCode, _msgSender());
    }

    /// @notice Highest revocation code (REGISTRATION_ERROR); the codes are documented on `revoke`.
    uint8 public constant MAX_REVOCATION_REASON = 4;

    /// @inheritdoc ICitizenRegistry
    function releaseIdentity(bytes32 identityHash) external onlyRole(DEFAULT_ADMIN_ROLE) {
        address bound = _identityOwner[identityHash];
        if (bound == address(0)) revert IdentityNotBound(identityHash);
        if (!_citizens[bound].revoked) revert IdentityNotRevoked(identityHash);
        delete _identityOwner[identityHash];
        delete _citizens[bound];
        emit IdentityReleased(identityHash, bound, _msgSender());
    }

    // ------------------------------------------------------------------ groups and electorates

    /// @inheritdoc ICitizenRegistry
    function createGroup(uint8 kind, bytes32 metadataHash) external onlyRole(REGISTRAR_ROLE) returns (uint256 groupId) {
        uint256 pa = _registrarPa();
        if (kind > ASSOCIATION) revert InvalidGroupKind(kind);
        groupId = ++_groupCount;
        _groups[groupId] = Group({paId: uint32(pa), kind: kind, metadataHash: metadataHash});
        emit GroupCreated(groupId, pa, kind, metadataHash, _msgSender());
    }

    /// @inheritdoc ICitizenRegistry
    function addToGroup(uint256 groupId, address citizen) external onlyRole(REGISTRAR_ROLE) {
        Group storage g = _ownGroup(groupId);
        Citizen storage c = _requireOwnCitizen(citizen);
        if (!isCitizen(citizen)) revert CitizenNotActive(citizen);
        if (_membership[groupId][citizen].latest() != 0) revert AlreadyInGroup(citizen, groupId);
        uint256[] storage groups = _groupsOf[citizen];
        if (groups.length >= MAX_GROUPS_PER_CITIZEN) revert TooManyGroups(citizen);
        if (g.kind != ASSOCIATION) {
            for (uint256 i = 0; i < groups.length; ++i) {
                if (_groups[groups[i]].kind == g.kind) revert ExclusiveKindTaken(citizen, groups[i]);
            }
        }
        groups.push(groupId);
        _membership[groupId][citizen].push(clock(), 1);
        _enter(_tagged(GROUP_ELECTORATE, groupId), c.expiresAt);
        emit GroupMemberAdded(groupId, citizen, _msgSender());
    }

    /// @inheritdoc ICitizenRegistry
    function removeFromGroup(uint256 groupId, address citizen) external onlyRole(REGISTRAR_ROLE) {
        _ownGroup(groupId);
        Citizen storage c = _requireOwnCitizen(citizen);
        uint256[] storage groups = _groupsOf[citizen];
        uint256 n = groups.length;
        uint256 i = 0;
        while (i < n && groups[i] != groupId) ++i;
        if (i == n) revert NotInGroup(citizen, groupId);
        groups[i] = groups[n - 1];
        groups.pop();
        _membership[groupId][citizen].push(clock(), 0);
        _leave(_tagged(GROUP_ELECTORATE, groupId), c.expiresAt);
        emit GroupMemberRemoved(groupId, citizen, _msgSender());
    }

    /// @inheritdoc ICitizenRegistry
    function defineElectorate(uint256[] calldata groupIds) external returns (uint256 electorate) {
        uint256 n = groupIds.length;
        if (n < 2 || n > MAX_GROUPS_PER_ELECTORATE) revert InvalidElectorateDefinition();
        Group storage first = _group(groupIds[0]);
        if (first.kind == ASSOCIATION) revert InvalidElectorateDefinition();
        if (_accountPa[_msgSender()] != first.paId) revert NotOwnPa(_msgSender(), first.paId);
        for (uint256 i = 1; i < n; ++i) {
            Group storage g = _group(groupIds[i]);
            if (groupIds[i] <= groupIds[i - 1] || g.paId != first.paId || g.kind != first.kind) {
                revert InvalidElectorateDefinition();
            }
        }
        uint256 unionId = ++_unionCount;
        _unions[unionId] = groupIds;
        electorate = _tagged(UNION_ELECTORATE, unionId);
        emit ElectorateDefined(electorate, first.paId, groupIds, _msgSender());
    }

    // ------------------------------------------------------------------ IElectorates

    /// @inheritdoc IElectorates
    function isEligibleVoterAt(address citizen, uint256 electorate, uint48 timepoint) external view returns (bool) {
        if (!isEligibleAt(citizen, timepoint)) return false;
        (uint256 tag, uint256 id) = _split(electorate);
        if (electorate == 0) return true;
        if (tag == PA_ELECTORATE) return _citizenPa[citizen].upperLookupRecent(timepoint) == id;
        if (tag == GROUP_ELECTORATE) return _membership[id][citizen].upperLookupRecent(timepoint) != 0;
        if (tag == UNION_ELECTORATE) {
            uint256[] storage groups = _unions[id];
            for (uint256 i = 0; i < groups.length; ++i) {
                if (_membership[groups[i]][citizen].upperLookupRecent(timepoint) != 0) return true;
            }
        }
        return false;
    }

    /// @inheritdoc IElectorates
    function getPastElectorateSize(uint256 electorate, uint48 timepoint) public view returns (uint256 size) {
        uint48 now_ = clock();
        if (timepoint >= now_) revert FutureLookup(timepoint, now_);
        if (!electorateExists(electorate)) revert UnknownElectorate(electorate);
        (uint256 tag, uint256 id) = _split(electorate);
        if (tag != UNION_ELECTORATE) return _pastSize(electorate, timepoint);
        uint256[] storage groups = _unions[id];
        for (uint256 i = 0; i < groups.length; ++i) {
            size += _pastSize(_tagged(GROUP_ELECTORATE, groups[i]), timepoint);
        }
    }

    /// @inheritdoc IElectorates
    function electorateExists(uint256 electorate) public view returns (bool) {
        if (electorate == 0) return true;
        (uint256 tag, uint256 id) = _split(electorate);
        if (tag == PA_ELECTORATE) return _paKnown[id];
        if (tag == GROUP_ELECTORATE) return id != 0 && id <= _groupCount;
        if (tag == UNION_ELECTORATE) return id != 0 && id <= _unionCount;
        return false;
    }

    /// @inheritdoc IElectorates
    function paOf(address account) external view returns (uint256) {
        return _accountPa[account];
    }

    /// @inheritdoc IElectorates
    function electoratePa(uint256 electorate) external view returns (uint256) {
        if (electorate == 0 || !electorateExists(electorate)) return 0;
        (uint256 tag, uint256 id) = _split(electorate);
        if (tag == PA_ELECTORATE) return id;
        if (tag == UNION_ELECTORATE) id = _unions[id][0];
        return _groups[id].paId;
    }

    /// @inheritdoc IElectorates
    function defaultElectorateOf(address account) external view returns (uint256) {
        uint256 pa = _accountPa[account];
        return pa == 0 ? 0 : _tagged(PA_ELECTORATE, pa);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICitizenRegistry
    function isCitizen(address account) public view returns (bool) {
        Citizen storage c = _citizens[account];
        return c.registeredAt != 0 && !c.revoked && block.timestamp <= c.expiresAt;
    }

    /// @inheritdoc ICitizenRegistry
    function registeredAt(address account) external view returns (uint64) {
        return _citizens[account].registeredAt;
    }

    /// @inheritdoc ICitizenRegistry
    function isEligibleAt(address account, uint48 timepoint) public view returns (bool) {
        uint64 at = _citizens[account].registeredAt;
        return at != 0 && at <= timepoint && isCitizen(account);
    }

    /// @inheritdoc ICitizenRegistry
    function citizenCount() external view returns (uint256) {
        return _scopes[0].count.latest();
    }

    /// @inheritdoc ICitizenRegistry
    function getPastCitizenCount(uint48 timepoint) external view returns (uint256) {
        uint48 now_ = clock();
        if (timepoint >= now_) revert FutureLookup(timepoint, now_);
        return _scopes[0].count.upperLookupRecent(timepoint);
    }

    /// @inheritdoc ICitizenRegistry
    function getPastEligibleCount(uint48 timepoint) external view returns (uint256) {
        return getPastElectorateSize(0, timepoint);
    }

    /// @inheritdoc ICitizenRegistry
    function getCitizen(address account) external view returns (Citizen memory) {
        return _citizens[account];
    }

    /// @inheritdoc ICitizenRegistry
    function addressOfIdentity(bytes32 identityHash) external view returns (address) {
        return _identityOwner[identityHash];
    }

    /// @inheritdoc ICitizenRegistry
    function citizenPa(address citizen) external view returns (uint256) {
        return _citizenPa[citizen].latest();
    }

    /// @inheritdoc ICitizenRegistry
    function getGroup(uint256 groupId) external view returns (Group memory) {
        return _group(groupId);
    }

    /// @inheritdoc ICitizenRegistry
    function groupCount() external view returns (uint256) {
        return _groupCount;
    }

    /// @inheritdoc ICitizenRegistry
    function groupsOf(address citizen) external view returns (uint256[] memory) {
        return _groupsOf[citizen];
    }

    /// @inheritdoc ICitizenRegistry
    function isGroupMemberAt(address citizen, uint256 groupId, uint48 timepoint) external view returns (bool) {
        return _membership[groupId][citizen].upperLookupRecent(timepoint) != 0;
    }

    /// @inheritdoc ICitizenRegistry
    function electorateGroups(uint256 electorate) external view returns (uint256[] memory) {
        (uint256 tag, uint256 id) = _split(electorate);
        if (electorate == 0 || tag != UNION_ELECTORATE) return new uint256[](0);
        return _unions[id];
    }

    /// @inheritdoc ICitizenRegistry
    function clock() public view returns (uint48) {
        return Time.timestamp();
    }

    /// @inheritdoc ICitizenRegistry
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external pure returns (string memory) {
        return "mode=timestamp";
    }

    // ------------------------------------------------------------------ internals

    /// @dev The PA of the calling registrar (REGISTRAR_ROLE is checked by the caller's modifier).
    function _registrarPa() private view returns (uint256 pa) {
        pa = _accountPa[_msgSender()];
        if (pa == 0) revert RegistrarWithoutPa(_msgSender());
    }

    /// @dev A registered citizen of the calling registrar's PA.
    function _requireOwnCitizen(address citizen) private view returns (Citizen storage c) {
        uint256 pa = _registrarPa();
        c = _citizens[citizen];
        if (c.registeredAt == 0) revert NotRegistered(citizen);
        uint256 owner = _citizenPa[citizen].latest();
        if (owner != pa) revert NotOwnPa(_msgSender(), owner);
    }

    function _group(uint256 groupId) private view returns (Group storage g) {
        if (groupId == 0 || groupId > _groupCount) revert UnknownGroup(groupId);
        g = _groups[groupId];
    }

    /// @dev A group of the calling registrar's PA.
    function _ownGroup(uint256 groupId) private view returns (Group storage g) {
        g = _group(groupId);
        uint256 pa = _registrarPa();
        if (g.paId != pa) revert NotOwnPa(_msgSender(), g.paId);
    }

    /// @dev Scopes a citizen counts in: i = 0 the consortium, 1 its PA, 2.. its groups.
    function _citizenScope(address citizen, uint256[] storage groups, uint256 i) private view returns (uint256) {
        if (i == 0) return 0;
        if (i == 1) return _tagged(PA_ELECTORATE, _citizenPa[citizen].latest());
        return _tagged(GROUP_ELECTORATE, groups[i - 2]);
    }

    function _tagged(uint256 tag, uint256 id) private pure returns (uint256) {
        return (tag << _TAG_SHIFT) | id;
    }

    function _split(uint256 electorate) private pure returns (uint256 tag, uint256 id) {
        return (electorate >> _TAG_SHIFT, electorate & _ID_MASK);
    }

    /// @dev eligible(t) = count(t) − (expired records still counted at t), see the contract notes.
    function _pastSize(uint256 scopeId, uint48 timepoint) private view returns (uint256) {
        Scope storage s = _scopes[scopeId];
        uint256 day = uint256(timepoint) / 1 days;
        uint256 expired;
        for (uint256 i = day > MAX_EXPIRY_DAY ? MAX_EXPIRY_DAY : day; i > 0; i -= i & (~i + 1)) {
            expired += s.expiryTree[i];
        }
        expired -= s.removedExpired.upperLookupRecent(timepoint);
        return s.count.upperLookupRecent(timepoint) - expired;
    }

    /// @dev A member with expiry `expiresAt` (> now) joins scope `scopeId`.
    function _enter(uint256 scopeId, uint64 expiresAt) private {
        _trackExpiry(scopeId, expiresAt, true);
        Checkpoints.Trace208 storage count = _scopes[scopeId].count;
        count.push(clock(), count.latest() + 1);
    }

    /// @dev A member with expiry `expiresAt` leaves scope `scopeId`.
    function _leave(uint256 scopeId, uint64 expiresAt) private {
        _untrackExpiry(scopeId, expiresAt);
        Checkpoints.Trace208 storage count = _scopes[scopeId].count;
        count.push(clock(), count.latest() - 1);
    }

    /// @dev Day index from whose start a record expiring at `expiresAt` counts as expired (0 = never).
    function _expiryDay(uint64 expiresAt) private pure returns (uint256 day) {
        day = uint256(expiresAt) / 1 days + 1;
        if (day > MAX_EXPIRY_DAY) day = 0;
    }

    /// @dev Adds a record's expiry day to the tree (its day always starts after now: expiresAt > now).
    function _trackExpiry(uint256 scopeId, uint64 expiresAt, bool add) private {
        uint256 day = _expiryDay(expiresAt);
        if (day == 0) return;
        mapping(uint256 => uint256) storage tree = _scopes[scopeId].expiryTree;
        for (uint256 i = day; i <= MAX_EXPIRY_DAY; i += i & (~i + 1)) {
            if (add) tree[i] += 1;
            else tree[i] -= 1;
        }
    }

    /// @dev A record stops: if its expiry day already ended it stays in the tree and is checkpointed as
    /// removed (past values keep it); otherwise it leaves the tree (only future days change).
    function _untrackExpiry(uint256 scopeId, uint64 expiresAt) private {
        uint256 day = _expiryDay(expiresAt);
        if (day == 0) return;
        if (day * 1 days <= block.timestamp) {
            Checkpoints.Trace208 storage removed = _scopes[scopeId].removedExpired;
            removed.push(clock(), removed.latest() + 1);
        } else {
            _trackExpiry(scopeId, expiresAt, false);
        }
    }
}
