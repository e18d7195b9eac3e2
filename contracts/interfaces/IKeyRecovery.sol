// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IKeyRecovery
 * @notice Lost-key recovery of a citizen: a registrar of the citizen's PA attests that the person behind
 * `oldAccount` now holds `newAccount`; after a public delay anyone finalizes, and the identity record, the
 * whole commons-token balance (with its delegation) and every reputation score move to `newAccount`.
 * During the delay the old key (directly or by an EIP-712 signature relayed for it), the PA council
 * (GUARDIAN_ROLE) or the initiating registrar can cancel. See docs/recovery.md.
 */
interface IKeyRecovery {
    /// @notice Lifecycle of a recovery request. `Expired`: pending but no longer finalizable (only reported by
    /// `state`; the stored status stays `Pending`).
    enum Status {
        None,
        Pending,
        Cancelled,
        Finalized,
        Expired
    }

    /// @notice Who cancelled a recovery.
    enum Canceller {
        OldKey,
        OldKeySignature,
        Guardian,
        Registrar
    }

    /// @notice One recovery request.
    struct Recovery {
        address oldAccount;
        address newAccount;
        address registrar;
        uint48 initiatedAt;
        uint48 executableAt;
        Status status;
    }

    /// @notice `registrar` asked to move `oldAccount` to `newAccount`; anyone may finalize from `executableAt`.
    event RecoveryInitiated(
        uint256 indexed recoveryId,
        address indexed oldAccount,
        address indexed newAccount,
        address registrar,
        uint48 executableAt
    );
    /// @notice Recovery `recoveryId` was cancelled by `by` (`canceller` says in which capacity).
    event RecoveryCancelled(uint256 indexed recoveryId, address indexed oldAccount, address indexed by, Canceller canceller);
    /// @notice Recovery `recoveryId` moved identity, `tokens` (whole balance), the global reputation score
    /// `reputation` and `areaDomains` area scores from `oldAccount` to `newAccount`.
    event RecoveryFinalized(
        uint256 indexed recoveryId,
        address indexed oldAccount,
        address indexed newAccount,
        uint256 tokens,
        uint256 reputation,
        uint256 areaDomains
    );
    /// @notice The timelock changed the delay of future recoveries.
    event RecoveryDelayChanged(uint48 oldDelay, uint48 newDelay);

    /// @notice A constructor address is zero.
    error ZeroAddress();
    /// @notice `delay` is outside [MIN_DELAY, MAX_DELAY].
    error InvalidDelay(uint48 delay);
    /// @notice The caller holds no REGISTRAR_ROLE in the citizen registry.
    error NotRegistrar(address caller);
    /// @notice The registrar acts for another PA than the one that registered the citizen.
    error WrongPa(address registrar, uint256 registrarPa, uint256 citizenPa);
    /// @notice `account` is not a registered, non-revoked citizen.
    error NotRecoverable(address account);
    /// @notice `account` cannot receive a recovery (zero, the old key itself, already registered, or the
    /// target of another pending recovery).
    error InvalidNewAccount(address account);
    /// @notice `oldAccount` already has a pending recovery `recoveryId` (cancel it first).
    error RecoveryAlreadyPending(address oldAccount, uint256 recoveryId);
    /// @notice The recovery is not in the state the call needs.
    error UnexpectedStatus(uint256 recoveryId, Status status);
    /// @notice The recovery cannot be finalized before `executableAt`.
    error RecoveryNotReady(uint256 recoveryId, uint48 executableAt);
    /// @notice The caller may not cancel this recovery.
    error NotAllowedToCancel(uint256 recoveryId, address caller);
    /// @notice The cancel authorization expired (`block.timestamp > deadline`).
    error CancelExpiredSignature(uint256 deadline);
    /// @notice The cancel signature does not recover to the old key for its current nonce.
    error CancelInvalidSigner(uint256 recoveryId, address oldAccount);

    /// @notice Start moving `oldAccount` to `newAccount` (a registrar of the citizen's PA). Returns the id.
    function initiate(address oldAccount, address newAccount) external returns (uint256 recoveryId);

    /// @notice Cancel a pending recovery: the old key, the guardian (PA council) or the initiating registrar.
    function cancel(uint256 recoveryId) external;

    /// @notice Cancel with the old key's EIP-712 `CancelRecovery` signature (anyone relays; the key needs no ETH).
    function cancelBySig(uint256 recoveryId, uint256 deadline, bytes calldata signature) external;

    /// @notice Finalize a pending recovery once its delay passed (anyone).
    function finalize(uint256 recoveryId) external;

    /// @notice The stored request `recoveryId`.
    function getRecovery(uint256 recoveryId) external view returns (Recovery memory);

    /// @notice Current status of `recoveryId` (with `Expired` for a pending request past its window).
    function state(uint256 recoveryId) external view returns (Status);
}

/// @notice What KeyRecovery needs from the citizen registry (RECOVERY_ROLE moves one record).
interface IRecoverableRegistry {
    function hasRole(bytes32 role, address account) external view returns (bool);
    function recoverCitizen(address from, address to) external;
}

/// @notice What KeyRecovery needs from the commons token.
interface IRecoverableToken {
    function recoverBalance(address from, address to) external returns (uint256 amount);
}

/// @notice What KeyRecovery needs from the reputation contract.
interface IRecoverableReputation {
    function recoverScores(address from, address to) external returns (uint256 globalAmount, uint256 domains);
}
