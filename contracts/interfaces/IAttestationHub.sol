// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IAttestationHub
 * @notice Entry point of oracle attestations: M-of-N EIP-712 signatures over an `Attestation` from the
 * current (versioned) oracle signer set trigger the rewards of a commoning-area activity.
 *
 * The reward is part of what the oracles sign (`tokenReward`, `reputationReward`, read by them from the
 * activity's rule when they validate the event), so a later change of the rule never applies to an
 * attestation already signed. Every reward is also bounded by council-set limits (`RewardLimits`): a cap
 * per claim and a budget per period, per activity and per area, enforced at submission.
 */
interface IAttestationHub {
    /// @notice EIP-712 type `Attestation(bytes32 id,address subject,uint256 activityId,uint8 kind,
    /// bytes32 evidenceHash,uint64 observedAt,uint64 expiresAt,uint256 tokenReward,uint256 reputationReward,
    /// uint64 signerSetVersion)`.
    struct Attestation {
        bytes32 id;
        address subject;
        uint256 activityId;
        uint8 kind;
        bytes32 evidenceHash;
        uint64 observedAt;
        uint64 expiresAt;
        uint256 tokenReward;
        uint256 reputationReward;
        uint64 signerSetVersion;
    }

    /// @notice Bounds on the rewards of one scope (an area or an activity), set by the consortium admin.
    /// `maxTokenPerClaim` / `maxReputationPerClaim` bound one attestation; `tokenPerPeriod` /
    /// `reputationPerPeriod` bound the sum minted in the scope per window of `period` seconds (windows are
    /// aligned on multiples of `period` since the epoch). `period` is never 0 in a valid value. uint96 holds
    /// 79 billion units of 18 decimals, far above any budget, and packs the limits in two storage slots.
    struct RewardLimits {
        uint96 maxTokenPerClaim;
        uint96 maxReputationPerClaim;
        uint96 tokenPerPeriod;
        uint96 reputationPerPeriod;
        uint64 period;
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
    /// @notice The admin set the limits that apply to every area and activity without limits of its own.
    event DefaultRewardLimitsSet(RewardLimits limits);
    /// @notice The admin set limits of area `areaId` (replacing the default for it).
    event AreaRewardLimitsSet(uint256 indexed areaId, RewardLimits limits);
    /// @notice The admin removed the limits of area `areaId`; the default applies again.
    event AreaRewardLimitsCleared(uint256 indexed areaId);
    /// @notice The admin set limits of activity `activityId` (replacing the default for it).
    event ActivityRewardLimitsSet(uint256 indexed activityId, RewardLimits limits);
    /// @notice The admin removed the limits of activity `activityId`; the default applies again.
    event ActivityRewardLimitsCleared(uint256 indexed activityId);

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
    /// @notice Reward limits with `period` = 0.
    error InvalidRewardLimits();
    /// @notice No area has id `areaId`.
    error UnknownArea(uint256 areaId);
    /// @notice No activity has id `activityId`.
    error UnknownActivity(uint256 activityId);
    /// @notice The signed reward exceeds the per-claim cap of area `areaId`.
    error AreaRewardCapExceeded(uint256 areaId, uint256 tokenReward, uint256 reputationReward);
    /// @notice The signed reward exceeds the per-claim cap of activity `activityId`.
    error ActivityRewardCapExceeded(uint256 activityId, uint256 tokenReward, uint256 reputationReward);
    /// @notice Area `areaId` has spent its budget of the period that started at `periodStart`.
    error AreaBudgetExceeded(uint256 areaId, uint64 periodStart);
    /// @notice Activity `activityId` has spent its budget of the period that started at `periodStart`.
    error ActivityBudgetExceeded(uint256 activityId, uint64 periodStart);

    /// @notice Verify and apply one attestation. Anyone may submit; the signatures are the authority.
    function submit(Attestation calldata a, bytes[] calldata signatures) external;

    /// @notice Apply many attestations; a failing item is skipped (event `AttestationRejected`), not fatal.
    function submitBatch(Attestation[] calldata a, bytes[][] calldata signatures)
        external
        returns (bool[] memory accepted);

    /// @notice Admin: install a new signer set; bumps `signerSetVersion`, invalidating older signatures.
    function setSigners(address[] calldata signers, uint256 threshold) external;

    /// @notice Admin: limits of every area and activity that has none of its own.
    function setDefaultRewardLimits(RewardLimits calldata limits) external;

    /// @notice Admin: limits of area `areaId` (all its activities together).
    function setAreaRewardLimits(uint256 areaId, RewardLimits calldata limits) external;

    /// @notice Admin: back to the default limits for area `areaId`.
    function clearAreaRewardLimits(uint256 areaId) external;

    /// @notice Admin: limits of activity `activityId`.
    function setActivityRewardLimits(uint256 activityId, RewardLimits calldata limits) external;

    /// @notice Admin: back to the default limits for activity `activityId`.
    function clearActivityRewardLimits(uint256 activityId) external;

    /// @notice The default limits.
    function defaultRewardLimits() external view returns (RewardLimits memory);

    /// @notice Limits in force for area `areaId`; `own` is false when they are the default.
    function areaRewardLimits(uint256 areaId) external view returns (RewardLimits memory limits, bool own);

    /// @notice Limits in force for activity `activityId`; `own` is false when they are the default.
    function activityRewardLimits(uint256 activityId) external view returns (RewardLimits memory limits, bool own);

    /// @notice Rewards minted in area `areaId` in the current period of its limits, and when it started.
    function areaSpent(uint256 areaId) external view returns (uint64 periodStart, uint256 token, uint256 reputation);

    /// @notice Rewards minted for activity `activityId` in the current period of its limits.
    function activitySpent(uint256 activityId)
        external
        view
        returns (uint64 periodStart, uint256 token, uint256 reputation);

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
