// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IAttestationHub
 * @notice Entry point of oracle attestations: M-of-N EIP-712 signatures over an `Attestation` from the
 * current (versioned) oracle signer set trigger the rewards of a commoning-area activity.
 */
interface IAttestationHub {
    /// @notice EIP-712 type `Attestation(bytes32 id,address subject,uint256 activityId,uint8 kind,
    /// bytes32 evidenceHash,uint64 observedAt,uint64 expiresAt,uint64 signerSetVersion)`.
    struct Attestation {
        bytes32 id;
        address subject;
        uint256 activityId;
        uint8 kind;
        bytes32 evidenceHash;
        uint64 observedAt;
        uint64 expiresAt;
        uint64 signerSetVersion;
    }

    event AttestationAccepted(
        bytes32 indexed id,
        address indexed subject,
        uint256 indexed activityId,
        uint8 kind,
        bytes32 evidenceHash,
        uint256 tokenReward,
        uint256 reputationReward
    );
    /// @notice A batch item failed; `reason` is the revert data (a custom error of this interface).
    event AttestationRejected(bytes32 indexed id, bytes reason);
    /// @notice The admin installed signer set `version`.
    event SignerSetUpdated(uint64 indexed version, address[] signers, uint256 threshold);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The threshold is 0 or above the number of signers.
    error InvalidThreshold(uint256 threshold, uint256 signerCount);
    /// @notice `signer` appears twice in a signer set.
    error DuplicateSigner(address signer);
    /// @notice Attestation `id` was already accepted.
    error AttestationAlreadyUsed(bytes32 id);
    /// @notice `block.timestamp > expiresAt`.
    error AttestationExpired(bytes32 id, uint64 expiresAt);
    /// @notice The attestation was signed for another signer set version.
    error WrongSignerSetVersion(uint64 given, uint64 current);
    /// @notice Fewer than `threshold` signatures were given.
    error InsufficientSignatures(uint256 count, uint256 threshold);
    /// @notice Signature `index` is malformed or malleable (high s, bad v, wrong length).
    error InvalidSignature(uint256 index);
    /// @notice A signature recovered to `recovered`, not a member of the current set.
    error NotASigner(address recovered);
    /// @notice The signer of signature `index` is not above the previous one (unsorted or duplicate).
    error SignersNotAscending(uint256 index);
    /// @notice `subject` is not a current citizen (unregistered, revoked or expired).
    error SubjectNotCitizen(address subject);
    /// @notice `observedAt` is after the current block timestamp.
    error ObservedInFuture(uint64 observedAt);
    /// @notice The attested kind differs from the activity's kind.
    error KindMismatch(uint8 expected, uint8 given);
    /// @notice The activity did not exist or was not open at `observedAt`.
    error ActivityNotOpen(uint256 activityId, uint64 observedAt);
    /// @notice `subject` already claimed `cap` times for `activityId`.
    error ClaimCapExceeded(address subject, uint256 activityId, uint32 cap);
    /// @notice `submitBatch` got different numbers of attestations and signature lists.
    error LengthMismatch(uint256 attestations, uint256 signatures);

    /// @notice Verify and apply one attestation. Anyone may submit; the signatures are the authority.
    function submit(Attestation calldata a, bytes[] calldata signatures) external;

    /// @notice Apply many attestations; a failing item is skipped (event `AttestationRejected`), not fatal.
    function submitBatch(Attestation[] calldata a, bytes[][] calldata signatures)
        external
        returns (bool[] memory accepted);

    /// @notice Admin: install a new signer set; bumps `signerSetVersion`, invalidating older signatures.
    function setSigners(address[] calldata signers, uint256 threshold) external;

    /// @notice True once attestation `id` has been accepted.
    function isUsed(bytes32 id) external view returns (bool);

    /// @notice Version of the current signer set (starts at 1).
    function signerSetVersion() external view returns (uint64);

    /// @notice Signatures required from the current set.
    function threshold() external view returns (uint256);

    /// @notice Members of the current signer set, in installation order.
    function getSigners() external view returns (address[] memory);

    /// @notice True when `account` is in the current signer set.
    function isSigner(address account) external view returns (bool);

    /// @notice Accepted attestations of `subject` for `activityId`.
    function claimsOf(uint256 activityId, address subject) external view returns (uint32);

    /// @notice EIP-712 digest of `a` (what each oracle signs).
    function hashAttestation(Attestation calldata a) external view returns (bytes32);
}
