// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {
    IKeyRecovery,
    IRecoverableRegistry,
    IRecoverableReputation,
    IRecoverableToken
} from "./interfaces/IKeyRecovery.sol";

/**
 * @title KeyRecovery
 * @notice A citizen who loses a key keeps identity, commons tokens and reputation: a registrar of the
 * citizen's PA attests the new key, the request waits in public for `recoveryDelay()`, then anyone finalizes
 * and the registry record, the whole token balance (with delegation) and every reputation score move.
 *
 * Threat model (docs/recovery.md):
 * - a rogue or phished registrar redirecting a citizen to its own key: the request is an event during a delay
 *   the council sets (bounded by `MIN_DELAY`/`MAX_DELAY`, changed only through the timelock); the API notifies
 *   on `RecoveryInitiated`; the old key cancels (directly, or by an EIP-712 signature relayed for it, since a
 *   citizen holds no ETH) and the PA council (`GUARDIAN_ROLE`) cancels too;
 * - a registrar of another PA (or bound to none): refused (`WrongPa`, from the registry's `paOf`/`citizenPa`);
 * - double voting: the new key's registration time is the finalization time and tokens/scores arrive with
 *   new checkpoints, so on a proposal whose snapshot precedes the move the new key has no weight, and the old
 *   key is no longer a citizen: the person votes at most once per proposal;
 * - signature replay: the cancel signature is bound to chain id and this contract (EIP-712 domain), to the
 *   recovery id and to the old key's nonce, and carries a deadline;
 * - stale requests: a request not finalized within `FINALIZE_WINDOW` after its delay expires.
 *
 * Powers: this contract holds RECOVERY_ROLE on the registry, the token and the reputation contract, and
 * nothing else; its admin (`DEFAULT_ADMIN_ROLE`, the delay) is the consortium timelock.
 */
contract KeyRecovery is AccessControl, EIP712, Nonces, IKeyRecovery {
    /// @notice The PA council: may cancel any pending recovery.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice The registry role whose holders may initiate recoveries (read from the registry).
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Shortest delay the timelock may set (development networks use it; production uses days).
    uint48 public constant MIN_DELAY = 10 seconds;
    /// @notice Longest delay the timelock may set.
    uint48 public constant MAX_DELAY = 60 days;
    /// @notice A pending request can be finalized during this window after its delay, then it expires.
    uint48 public constant FINALIZE_WINDOW = 30 days;
    /// @notice EIP-712 type hash of the old key's cancel authorization.
    bytes32 public constant CANCEL_TYPEHASH =
        keccak256("CancelRecovery(uint256 recoveryId,address oldAccount,uint256 nonce,uint256 deadline)");

    IRecoverableRegistry public immutable registry;
    IRecoverableToken public immutable token;
    IRecoverableReputation public immutable reputation;

    uint48 private _delay;
    uint256 private _count;
    mapping(uint256 recoveryId => Recovery) private _recoveries;
    /// @dev Latest request per old key and per new key (0 = none); their status says whether it is pending.
    mapping(address oldAccount => uint256) private _latestFrom;
    mapping(address newAccount => uint256) private _latestTo;

    /// @param admin Consortium timelock (DEFAULT_ADMIN_ROLE): sets the delay and grants GUARDIAN_ROLE.
    /// @param registry_ CitizenRegistry; token_ CommonsToken; reputation_ Reputation.
    /// @param delay Initial delay between initiation and finalization, within [MIN_DELAY, MAX_DELAY].
    constructor(address admin, address registry_, address token_, address reputation_, uint48 delay)
        EIP712("CO3 KeyRecovery", "1")
    {
        if (admin == address(0) || registry_ == address(0) || token_ == address(0) || reputation_ == address(0)) {
            revert ZeroAddress();
        }
        registry = IRecoverableRegistry(registry_);
        token = IRecoverableToken(token_);
        reputation = IRecoverableReputation(reputation_);
        _setDelay(delay);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IKeyRecovery
    function initiate(address oldAccount, address newAccount) external returns (uint256 recoveryId) {
        address registrar = _msgSender();
        if (!registry.hasRole(REGISTRAR_ROLE, registrar)) revert NotRegistrar(registrar);
        ICitizenRegistry.Citizen memory c = ICitizenRegistry(address(registry)).getCitizen(oldAccount);
        if (c.registeredAt == 0 || c.revoked) revert NotRecoverable(oldAccount);
        _checkSamePa(registrar, oldAccount);
        if (
            newAccount == address(0) || newAccount == oldAccount
                || ICitizenRegistry(address(registry)).registeredAt(newAccount) != 0
                || _isPending(_latestTo[newAccount])
        ) revert InvalidNewAccount(newAccount);
        uint256 pending = _latestFrom[oldAccount];
        if (_isPending(pending)) revert RecoveryAlreadyPending(oldAccount, pending);

        recoveryId = ++_count;
        uint48 now_ = Time.timestamp();
        uint48 executableAt = now_ + _delay;
        _recoveries[recoveryId] = Recovery({
            oldAccount: oldAccount,
            newAccount: newAccount,
            registrar: registrar,
            initiatedAt: now_,
            executableAt: executableAt,
            status: Status.Pending
        });
        _latestFrom[oldAccount] = recoveryId;
        _latestTo[newAccount] = recoveryId;
        emit RecoveryInitiated(recoveryId, oldAccount, newAccount, registrar, executableAt);
    }

    /// @inheritdoc IKeyRecovery
    function cancel(uint256 recoveryId) external {
        Recovery storage r = _pendingRecovery(recoveryId);
        address caller = _msgSender();
        Canceller canceller;
        if (caller == r.oldAccount) {
            canceller = Canceller.OldKey;
        } else if (hasRole(GUARDIAN_ROLE, caller)) {
            canceller = Canceller.Guardian;
        } else if (caller == r.registrar) {
            canceller = Canceller.Registrar;
        } else {
            revert NotAllowedToCancel(recoveryId, caller);
        }
        _cancel(recoveryId, r, caller, canceller);
    }

    /// @inheritdoc IKeyRecovery
    function cancelBySig(uint256 recoveryId, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert CancelExpiredSignature(deadline);
        Recovery storage r = _pendingRecovery(recoveryId);
        address oldAccount = r.oldAccount;
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(CANCEL_TYPEHASH, recoveryId, oldAccount, _useNonce(oldAccount), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(oldAccount, digest, signature)) {
            revert CancelInvalidSigner(recoveryId, oldAccount);
        }
        _cancel(recoveryId, r, oldAccount, Canceller.OldKeySignature);
    }

    /// @inheritdoc IKeyRecovery
    function finalize(uint256 recoveryId) external {
        Recovery storage r = _recoveries[recoveryId];
        Status status = state(recoveryId);
        if (status != Status.Pending) revert UnexpectedStatus(recoveryId, status);
        if (Time.timestamp() < r.executableAt) revert RecoveryNotReady(recoveryId, r.executableAt);
        r.status = Status.Finalized;
        address oldAccount = r.oldAccount;
        address newAccount = r.newAccount;
        // Interactions only with the suite's own contracts (fixed at construction), after the state change.
        registry.recoverCitizen(oldAccount, newAccount);
        uint256 tokens = token.recoverBalance(oldAccount, newAccount);
        (uint256 globalScore, uint256 domains) = reputation.recoverScores(oldAccount, newAccount);
        emit RecoveryFinalized(recoveryId, oldAccount, newAccount, tokens, globalScore, domains);
    }

    /// @notice Set the delay of recoveries initiated from now on. Admin (the consortium timelock) only.
    function setRecoveryDelay(uint48 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDelay(delay);
    }

    /// @notice Seconds between initiation and the earliest finalization of new requests.
    function recoveryDelay() external view returns (uint48) {
        return _delay;
    }

    /// @notice Number of requests ever initiated (ids are 1..recoveryCount).
    function recoveryCount() external view returns (uint256) {
        return _count;
    }

    /// @notice Latest request whose old key is `oldAccount` (0 if none): check `state` for whether it is pending.
    function latestRecoveryOf(address oldAccount) external view returns (uint256) {
        return _latestFrom[oldAccount];
    }

    /// @inheritdoc IKeyRecovery
    function getRecovery(uint256 recoveryId) external view returns (Recovery memory) {
        return _recoveries[recoveryId];
    }

    /// @inheritdoc IKeyRecovery
    function state(uint256 recoveryId) public view returns (Status) {
        Recovery storage r = _recoveries[recoveryId];
        if (r.status == Status.Pending && Time.timestamp() > uint256(r.executableAt) + FINALIZE_WINDOW) {
            return Status.Expired;
        }
        return r.status;
    }

    /// @notice The EIP-712 digest the old key signs to cancel `recoveryId` with `nonce` until `deadline`.
    function cancelDigest(uint256 recoveryId, uint256 nonce, uint256 deadline) external view returns (bytes32) {
        address oldAccount = _recoveries[recoveryId].oldAccount;
        return _hashTypedDataV4(keccak256(abi.encode(CANCEL_TYPEHASH, recoveryId, oldAccount, nonce, deadline)));
    }

    function _pendingRecovery(uint256 recoveryId) private view returns (Recovery storage r) {
        r = _recoveries[recoveryId];
        // An expired request may still be cancelled: it clears the way and leaves an event.
        if (r.status != Status.Pending) revert UnexpectedStatus(recoveryId, r.status);
    }

    function _cancel(uint256 recoveryId, Recovery storage r, address by, Canceller canceller) private {
        r.status = Status.Cancelled;
        emit RecoveryCancelled(recoveryId, r.oldAccount, by, canceller);
    }

    function _isPending(uint256 recoveryId) private view returns (bool) {
        return recoveryId != 0 && state(recoveryId) == Status.Pending;
    }

    /// @dev The registrar must act for the PA that registered the citizen (`paOf`, `citizenPa` of the registry).
    function _checkSamePa(address registrar, address citizen) private view {
        ICitizenRegistry reg = ICitizenRegistry(address(registry));
        uint256 registrarPa = reg.paOf(registrar);
        uint256 citizenPa = reg.citizenPa(citizen);
        if (registrarPa == 0 || registrarPa != citizenPa) revert WrongPa(registrar, registrarPa, citizenPa);
    }

    function _setDelay(uint48 delay) private {
        if (delay < MIN_DELAY || delay > MAX_DELAY) revert InvalidDelay(delay);
        emit RecoveryDelayChanged(_delay, delay);
        _delay = delay;
    }
}
