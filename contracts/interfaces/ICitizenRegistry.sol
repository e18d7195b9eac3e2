// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ICitizenRegistry
 * @notice Registry of citizens verified by public-administration registrars. A citizen is a pseudonymous
 * address bound to a hashed identity reference (one person, one address), with an expiry and revocation.
 * The number of registered, non-revoked citizens is checkpointed on a timestamp clock (ERC-6372
 * `mode=timestamp`) so governance can read the electorate size at a proposal snapshot.
 */
interface ICitizenRegistry {
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

    /// @notice The address is zero.
    error ZeroAddress();
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

    /// @notice ERC-6372 clock: the block timestamp.
    function clock() external view returns (uint48);

    /// @notice ERC-6372 clock description: `mode=timestamp`.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external view returns (string memory);
}
