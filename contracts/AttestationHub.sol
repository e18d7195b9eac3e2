// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IAttestationHub} from "./interfaces/IAttestationHub.sol";
import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {ICommoningAreas} from "./interfaces/ICommoningAreas.sol";
import {ICommonsToken} from "./interfaces/ICommonsToken.sol";
import {IReputation} from "./interfaces/IReputation.sol";

/**
 * @title AttestationHub
 * @notice Turns oracle attestations of off-chain civic actions (AR check-ins, social posts, ...) into
 * rewards: commons tokens and reputation in the activity's area domain.
 *
 * Authority is an M-of-N set of oracle signers, versioned: the version is part of the signed struct, so
 * installing a new set (`setSigners`) invalidates every signature made for an older one. Signatures are
 * checked like Safe's `checkNSignatures`: recovered signers must be strictly ascending (which rules out
 * duplicates without a mapping), each a member of the current set, and OpenZeppelin ECDSA rejects
 * malleable (high-s) signatures. Each attestation id is accepted once.
 *
 * The reward is signed: the oracles read the activity's reward rule when they validate an event and sign
 * the amounts, and the hub mints exactly those. Why not read the rule at submission: an area manager
 * could raise it between signing and submission and mint any amount to an ally (with 2^208 - 1 CO3 the
 * ally outvotes everyone and every later mint reverts). A rule change therefore applies only to events
 * signed after it. Independently of what anyone signs, the consortium admin (the council's timelock)
 * bounds rewards per claim and per period, per area and per activity (`RewardLimits`); a deployment
 * starts with conservative defaults (`setDefaultRewardLimits` changes them), so a compromised area
 * manager or oracle quorum can only mint within the budgets, and every limit change is an event.
 *
 * Anyone may submit (the oracle, a relayer, the citizen): the signatures, not the sender, authorize.
 */
contract AttestationHub is AccessControl, EIP712, IAttestationHub {
    /// @notice EIP-712 type hash of {IAttestationHub-Attestation}.
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 id,address subject,uint256 activityId,uint8 kind,bytes32 evidenceHash,"
        "uint64 observedAt,uint64 expiresAt,uint256 tokenReward,uint256 reputationReward,uint64 signerSetVersion)"
    );

    /// @notice Citizen registry consulted for the subject.
    ICitizenRegistry public immutable registry;
    /// @notice Area/activity registry holding the reward rules.
    ICommoningAreas public immutable areas;
    /// @notice Token minted as reward (this hub needs its MINTER_ROLE).
    ICommonsToken public immutable token;
    /// @notice Reputation awarded as reward (this hub needs its REWARDER_ROLE).
    IReputation public immutable reputation;

    /// @notice Initial default per-claim cap (token and reputation): 1,000 units of 18 decimals.
    uint96 public constant INITIAL_MAX_PER_CLAIM = 1_000e18;
    /// @notice Initial default budget per period and scope (token and reputation): 100,000 units.
    uint96 public constant INITIAL_BUDGET_PER_PERIOD = 100_000e18;
    /// @notice Initial default budget period: one day.
    uint64 public constant INITIAL_PERIOD = 1 days;

    /// @dev Rewards minted in one scope during the window that started at `periodStart` (one storage slot;
    /// the sums never exceed the uint96 budgets).
    struct Spent {
        uint64 periodStart;
        uint96 token;
        uint96 reputation;
    }

    uint64 private _signerSetVersion;
    uint256 private _threshold;
    address[] private _signers;
    mapping(address signer => uint64 version) private _signerVersionOf;
    mapping(bytes32 id => bool) private _used;
    mapping(uint256 activityId => mapping(address subject => uint32)) private _claims;
    RewardLimits private _defaultLimits;
    /// @dev `period == 0` means "no limits of its own: the default applies".
    mapping(uint256 areaId => RewardLimits) private _areaLimits;
    mapping(uint256 activityId => RewardLimits) private _activityLimits;
    mapping(uint256 areaId => Spent) private _areaSpent;
    mapping(uint256 activityId => Spent) private _activitySpent;

    /// @param admin Consortium admin (DEFAULT_ADMIN_ROLE): rotates the signer set, sets the reward limits.
    /// @param signers_ Initial oracle signers (signer set version 1).
    /// @param threshold_ Signatures required, 1 <= threshold_ <= signers_.length.
    constructor(
        address admin,
        ICitizenRegistry registry_,
        ICommoningAreas areas_,
        ICommonsToken token_,
        IReputation reputation_,
        address[] memory signers_,
        uint256 threshold_
    ) EIP712("CO3 AttestationHub", "1") {
        if (
            admin == address(0) || address(registry_) == address(0) || address(areas_) == address(0)
                || address(token_) == address(0) || address(reputation_) == address(0)
        ) revert ZeroAddress();
        registry = registry_;
        areas = areas_;
        token = token_;
        reputation = reputation_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _installSigners(signers_, threshold_);
        _setDefaultLimits(
            RewardLimits({
                maxTokenPerClaim: INITIAL_MAX_PER_CLAIM,
                maxReputationPerClaim: INITIAL_MAX_PER_CLAIM,
                tokenPerPeriod: INITIAL_BUDGET_PER_PERIOD,
                reputationPerPeriod: INITIAL_BUDGET_PER_PERIOD,
                period: INITIAL_PERIOD
            })
        );
    }

    /// @inheritdoc IAttestationHub
    function submit(Attestation calldata a, bytes[] calldata signatures) external {
        _submit(a, signatures);
    }

    /// @inheritdoc IAttestationHub
    function submitBatch(Attestation[] calldata a, bytes[][] calldata signatures)
        external
        returns (bool[] memory accepted)
    {
        if (a.length != signatures.length) revert LengthMismatch(a.length, signatures.length);
        accepted = new bool[](a.length);
        for (uint256 i = 0; i < a.length; ++i) {
            // External self-call so a failing item reverts only its own effects.
            try this.submit(a[i], signatures[i]) {
                accepted[i] = true;
            } catch (bytes memory reason) {
                emit AttestationRejected(a[i].id, reason);
            }
        }
    }

    /// @inheritdoc IAttestationHub
    function setSigners(address[] calldata signers_, uint256 threshold_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _installSigners(signers_, threshold_);
    }

    /// @inheritdoc IAttestationHub
    function setDefaultRewardLimits(RewardLimits calldata limits) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDefaultLimits(limits);
    }

    /// @inheritdoc IAttestationHub
    function setAreaRewardLimits(uint256 areaId, RewardLimits calldata limits) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!areas.areaExists(areaId)) revert UnknownArea(areaId);
        _checkLimits(limits);
        _areaLimits[areaId] = limits;
        emit AreaRewardLimitsSet(areaId, limits);
    }

    /// @inheritdoc IAttestationHub
    function clearAreaRewardLimits(uint256 areaId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        delete _areaLimits[areaId];
        emit AreaRewardLimitsCleared(areaId);
    }

    /// @inheritdoc IAttestationHub
    function setActivityRewardLimits(uint256 activityId, RewardLimits calldata limits)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (activityId == 0 || activityId > areas.activityCount()) revert UnknownActivity(activityId);
        _checkLimits(limits);
        _activityLimits[activityId] = limits;
        emit ActivityRewardLimitsSet(activityId, limits);
    }

    /// @inheritdoc IAttestationHub
    function clearActivityRewardLimits(uint256 activityId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        delete _activityLimits[activityId];
        emit ActivityRewardLimitsCleared(activityId);
    }

    /// @inheritdoc IAttestationHub
    function defaultRewardLimits() external view returns (RewardLimits memory) {
        return _defaultLimits;
    }

    /// @inheritdoc IAttestationHub
    function areaRewardLimits(uint256 areaId) public view returns (RewardLimits memory limits, bool own) {
        return _limitsOr(_areaLimits[areaId]);
    }

    /// @inheritdoc IAttestationHub
    function activityRewardLimits(uint256 activityId) public view returns (RewardLimits memory limits, bool own) {
        return _limitsOr(_activityLimits[activityId]);
    }

    /// @inheritdoc IAttestationHub
    function areaSpent(uint256 areaId) external view returns (uint64 periodStart, uint256 token, uint256 reputation) {
        (RewardLimits memory limits,) = areaRewardLimits(areaId);
        return _currentSpent(_areaSpent[areaId], limits.period);
    }

    /// @inheritdoc IAttestationHub
    function activitySpent(uint256 activityId)
        external
        view
        returns (uint64 periodStart, uint256 token, uint256 reputation)
    {
        (RewardLimits memory limits,) = activityRewardLimits(activityId);
        return _currentSpent(_activitySpent[activityId], limits.period);
    }

    /// @inheritdoc IAttestationHub
    function isUsed(bytes32 id) external view returns (bool) {
        return _used[id];
    }

    /// @inheritdoc IAttestationHub
    function signerSetVersion() external view returns (uint64) {
        return _signerSetVersion;
    }

    /// @inheritdoc IAttestationHub
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @inheritdoc IAttestationHub
    function getSigners() external view returns (address[] memory) {
        return _signers;
    }

    /// @inheritdoc IAttestationHub
    function isSigner(address account) public view returns (bool) {
        return account != address(0) && _signerVersionOf[account] == _signerSetVersion;
    }

    /// @inheritdoc IAttestationHub
    function claimsOf(uint256 activityId, address subject) external view returns (uint32) {
        return _claims[activityId][subject];
    }

    /// @inheritdoc IAttestationHub
    function hashAttestation(Attestation calldata a) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ATTESTATION_TYPEHASH,
                    a.id,
                    a.subject,
                    a.activityId,
                    a.kind,
                    a.evidenceHash,
                    a.observedAt,
                    a.expiresAt,
                    a.tokenReward,
                    a.reputationReward,
                    a.signerSetVersion
                )
            )
        );
    }

    function _submit(Attestation calldata a, bytes[] calldata signatures) private {
        // Checks: replay, freshness, authority, then the reward rules.
        if (_used[a.id]) revert AttestationAlreadyUsed(a.id);
        if (block.timestamp > a.expiresAt) revert AttestationExpired(a.id, a.expiresAt);
        if (a.signerSetVersion != _signerSetVersion) {
            revert WrongSignerSetVersion(a.signerSetVersion, _signerSetVersion);
        }
        _checkSignatures(hashAttestation(a), signatures);

        if (!registry.isCitizen(a.subject)) revert SubjectNotCitizen(a.subject);
        if (a.observedAt > block.timestamp) revert ObservedInFuture(a.observedAt);
        if (!areas.isActivityOpen(a.activityId, a.observedAt)) revert ActivityNotOpen(a.activityId, a.observedAt);
        ICommoningAreas.Activity memory activity = areas.getActivity(a.activityId);
        if (activity.kind != a.kind) revert KindMismatch(activity.kind, a.kind);
        uint32 claims = _claims[a.activityId][a.subject];
        if (activity.maxClaimsPerCitizen != 0 && claims >= activity.maxClaimsPerCitizen) {
            revert ClaimCapExceeded(a.subject, a.activityId, activity.maxClaimsPerCitizen);
        }

        // Checks and effects of the limits: the signed reward, never the activity's current rule.
        _chargeActivity(a.activityId, a.tokenReward, a.reputationReward);
        _chargeArea(activity.areaId, a.tokenReward, a.reputationReward);

        // Effects.
        _used[a.id] = true;
        _claims[a.activityId][a.subject] = claims + 1;
        emit AttestationAccepted(
            a.id, a.subject, a.activityId, a.kind, a.evidenceHash, a.tokenReward, a.reputationReward
        );

        // Interactions (trusted suite contracts fixed at construction).
        if (a.tokenReward != 0) token.mint(a.subject, a.tokenReward);
        if (a.reputationReward != 0) reputation.award(a.subject, bytes32(activity.areaId), a.reputationReward);
    }

    function _chargeActivity(uint256 activityId, uint256 tokenReward, uint256 reputationReward) private {
        (RewardLimits memory limits,) = activityRewardLimits(activityId);
        if (tokenReward > limits.maxTokenPerClaim || reputationReward > limits.maxReputationPerClaim) {
            revert ActivityRewardCapExceeded(activityId, tokenReward, reputationReward);
        }
        if (!_charge(_activitySpent[activityId], limits, tokenReward, reputationReward)) {
            revert ActivityBudgetExceeded(activityId, _periodStart(limits.period));
        }
    }

    function _chargeArea(uint256 areaId, uint256 tokenReward, uint256 reputationReward) private {
        (RewardLimits memory limits,) = areaRewardLimits(areaId);
        if (tokenReward > limits.maxTokenPerClaim || reputationReward > limits.maxReputationPerClaim) {
            revert AreaRewardCapExceeded(areaId, tokenReward, reputationReward);
        }
        if (!_charge(_areaSpent[areaId], limits, tokenReward, reputationReward)) {
            revert AreaBudgetExceeded(areaId, _periodStart(limits.period));
        }
    }

    /// @dev Adds a reward to the scope's spending of the current window; false (and no change) if that would
    /// exceed the budget. Rewards are already bounded by the uint96 per-claim caps, so the sums cannot
    /// overflow uint256 before the comparison, and after it they fit uint96.
    function _charge(Spent storage spent, RewardLimits memory limits, uint256 tokenReward, uint256 reputationReward)
        private
        returns (bool)
    {
        (uint64 start, uint256 tokenSpent, uint256 reputationSpent) = _currentSpent(spent, limits.period);
        tokenSpent += tokenReward;
        reputationSpent += reputationReward;
        if (tokenSpent > limits.tokenPerPeriod || reputationSpent > limits.reputationPerPeriod) return false;
        spent.periodStart = start;
        spent.token = uint96(tokenSpent);
        spent.reputation = uint96(reputationSpent);
        return true;
    }

    function _currentSpent(Spent storage spent, uint64 period)
        private
        view
        returns (uint64 start, uint256 tokenSpent, uint256 reputationSpent)
    {
        start = _periodStart(period);
        if (spent.periodStart == start) return (start, spent.token, spent.reputation);
        return (start, 0, 0);
    }

    function _periodStart(uint64 period) private view returns (uint64) {
        return uint64(block.timestamp - (block.timestamp % period));
    }

    function _limitsOr(RewardLimits storage own) private view returns (RewardLimits memory, bool) {
        if (own.period != 0) return (own, true);
        return (_defaultLimits, false);
    }

    function _checkLimits(RewardLimits calldata limits) private pure {
        if (limits.period == 0) revert InvalidRewardLimits();
    }

    function _setDefaultLimits(RewardLimits memory limits) private {
        if (limits.period == 0) revert InvalidRewardLimits();
        _defaultLimits = limits;
        emit DefaultRewardLimitsSet(limits);
    }

    function _checkSignatures(bytes32 digest, bytes[] calldata signatures) private view {
        uint256 count = signatures.length;
        if (count < _threshold) revert InsufficientSignatures(count, _threshold);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert InvalidSignature(i);
            if (recovered <= previous) revert SignersNotAscending(i);
            if (!isSigner(recovered)) revert NotASigner(recovered);
            previous = recovered;
        }
    }

    function _installSigners(address[] memory signers_, uint256 threshold_) private {
        uint256 n = signers_.length;
        if (threshold_ == 0 || threshold_ > n) revert InvalidThreshold(threshold_, n);
        uint64 version = _signerSetVersion + 1;
        for (uint256 i = 0; i < n; ++i) {
            address s = signers_[i];
            if (s == address(0)) revert ZeroAddress();
            if (_signerVersionOf[s] == version) revert DuplicateSigner(s);
            _signerVersionOf[s] = version;
        }
        _signerSetVersion = version;
        _threshold = threshold_;
        _signers = signers_;
        emit SignerSetUpdated(version, signers_, threshold_);
    }
}
