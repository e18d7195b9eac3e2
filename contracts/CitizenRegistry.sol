// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";

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
 */
contract CitizenRegistry is AccessControl, ICitizenRegistry {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Role of the PA officers that verify citizens.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    mapping(address citizen => Citizen) private _citizens;
    mapping(bytes32 identityHash => address citizen) private _identityOwner;
    Checkpoints.Trace208 private _count;
    /// @dev Fenwick tree over expiry days: index = day (since 1970-01-01 UTC) on which the expiry is counted.
    mapping(uint256 day => uint256) private _expiryTree;
    /// @dev Records removed after their expiry day ended (cumulative, checkpointed).
    Checkpoints.Trace208 private _removedExpired;

    /// @notice Last day index the expiry tree covers (2^16 − 1 days after 1970: year 2149).
    uint256 public constant MAX_EXPIRY_DAY = 2 ** 16 - 1;

    /// @param admin Consortium admin (DEFAULT_ADMIN_ROLE); grants REGISTRAR_ROLE to PA officers.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ICitizenRegistry
    function register(address citizen, bytes32 identityHash, uint64 expiresAt)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        if (citizen == address(0)) revert ZeroAddress();
        if (identityHash == bytes32(0)) revert InvalidIdentityHash();
        if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt);

        Citizen storage c = _citizens[citizen];
        if (c.registeredAt != 0) {
            if (!c.revoked) revert AlreadyRegistered(citizen);
            // A revoked address keeps its identity unless the admin released it (which clears the record).
            if (c.identityHash != identityHash) revert IdentityMismatch(citizen, identityHash);
        } else {
            address bound = _identityOwner[identityHash];
            if (bound != address(0)) revert IdentityAlreadyBound(identityHash, bound);
        }

        _identityOwner[identityHash] = citizen;
        _trackExpiry(expiresAt, true);
        c.identityHash = identityHash;
        c.registeredAt = uint64(block.timestamp);
        c.expiresAt = expiresAt;
        c.revoked = false;
        _pushCount(_count.latest() + 1);

        emit CitizenRegistered(citizen, identityHash, expiresAt, _msgSender());
    }

    /// @inheritdoc ICitizenRegistry
    function renew(address citizen, uint64 expiresAt) external onlyRole(REGISTRAR_ROLE) {
        Citizen storage c = _requireRegistered(citizen);
        if (c.revoked) revert CitizenIsRevoked(citizen);
        if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt);
        _untrackExpiry(c.expiresAt);
        _trackExpiry(expiresAt, true);
        c.expiresAt = expiresAt;
        emit CitizenRenewed(citizen, expiresAt, _msgSender());
    }

    /// @inheritdoc ICitizenRegistry
    function revoke(address citizen, uint8 reasonCode) external onlyRole(REGISTRAR_ROLE) {
        if (reasonCode > MAX_REVOCATION_REASON) revert InvalidRevocationReason(reasonCode);
        Citizen storage c = _requireRegistered(citizen);
        if (c.revoked) revert CitizenIsRevoked(citizen);
        c.revoked = true;
        _untrackExpiry(c.expiresAt);
        _pushCount(_count.latest() - 1);
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
    function isEligibleAt(address account, uint48 timepoint) external view returns (bool) {
        uint64 at = _citizens[account].registeredAt;
        return at != 0 && at <= timepoint && isCitizen(account);
    }

    /// @inheritdoc ICitizenRegistry
    function citizenCount() external view returns (uint256) {
        return _count.latest();
    }

    /// @inheritdoc ICitizenRegistry
    function getPastCitizenCount(uint48 timepoint) external view returns (uint256) {
        uint48 now_ = clock();
        if (timepoint >= now_) revert FutureLookup(timepoint, now_);
        return _count.upperLookupRecent(timepoint);
    }

    /// @inheritdoc ICitizenRegistry
    function getPastEligibleCount(uint48 timepoint) external view returns (uint256) {
        uint48 now_ = clock();
        if (timepoint >= now_) revert FutureLookup(timepoint, now_);
        uint256 day = uint256(timepoint) / 1 days;
        uint256 expired;
        for (uint256 i = day > MAX_EXPIRY_DAY ? MAX_EXPIRY_DAY : day; i > 0; i -= i & (~i + 1)) {
            expired += _expiryTree[i];
        }
        expired -= _removedExpired.upperLookupRecent(timepoint);
        return _count.upperLookupRecent(timepoint) - expired;
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
    function clock() public view returns (uint48) {
        return Time.timestamp();
    }

    /// @inheritdoc ICitizenRegistry
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external pure returns (string memory) {
        return "mode=timestamp";
    }

    function _requireRegistered(address citizen) private view returns (Citizen storage c) {
        c = _citizens[citizen];
        if (c.registeredAt == 0) revert NotRegistered(citizen);
    }

    /// @dev Day index from whose start a record expiring at `expiresAt` counts as expired (0 = never).
    function _expiryDay(uint64 expiresAt) private pure returns (uint256 day) {
        day = uint256(expiresAt) / 1 days + 1;
        if (day > MAX_EXPIRY_DAY) day = 0;
    }

    /// @dev Adds a record's expiry day to the tree (its day always starts after now: expiresAt > now).
    function _trackExpiry(uint64 expiresAt, bool add) private {
        uint256 day = _expiryDay(expiresAt);
        if (day == 0) return;
        for (uint256 i = day; i <= MAX_EXPIRY_DAY; i += i & (~i + 1)) {
            if (add) _expiryTree[i] += 1;
            else _expiryTree[i] -= 1;
        }
    }

    /// @dev A record stops: if its expiry day already ended it stays in the tree and is checkpointed as
    /// removed (past values keep it); otherwise it leaves the tree (only future days change).
    function _untrackExpiry(uint64 expiresAt) private {
        uint256 day = _expiryDay(expiresAt);
        if (day == 0) return;
        if (day * 1 days <= block.timestamp) {
            _removedExpired.push(clock(), _removedExpired.latest() + 1);
        } else {
            _trackExpiry(expiresAt, false);
        }
    }

    function _pushCount(uint256 value) private {
        _count.push(clock(), uint208(value));
    }
}
