// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IConsortiumValidators
 * @notice PA validator-set governance mirroring QBFT validator votes (applied at floor(n/2)+1 votes of the
 * current validators) and an account allow-list, changed under the same majority, that a permissioned node
 * reads for account permissioning. Each validator holds at most `MAX_PENDING_VOTES` pending votes.
 */
interface IConsortiumValidators {
    /// @notice `voter` voted to add (`add`) or remove `candidate`.
    event VoteCast(address indexed voter, address indexed candidate, bool add);
    /// @notice The pending vote of `voter` about `candidate` was withdrawn (or dropped on removal).
    event VoteWithdrawn(address indexed voter, address indexed candidate);
    /// @notice `validator` joined the set.
    event ValidatorAdded(address indexed validator);
    /// @notice `validator` left the set.
    event ValidatorRemoved(address indexed validator);
    /// @notice A majority decided whether `account` may send transactions; `by` cast the deciding vote.
    event AccountAllowed(address indexed account, bool allowed, address indexed by);
    /// @notice `voter` voted that `account` be allowed (`allowed`) or refused.
    event AccountVoteCast(address indexed voter, address indexed account, bool allowed);
    /// @notice The pending allow-list vote of `voter` about `account` was withdrawn (or dropped on removal).
    event AccountVoteWithdrawn(address indexed voter, address indexed account, bool allowed);

    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice The initial validator set is empty.
    error NoValidators();
    /// @notice `account` is not a current validator.
    error NotValidator(address account);
    /// @notice `account` is already a validator.
    error AlreadyValidator(address account);
    /// @notice `voter` already has a pending vote about `candidate`.
    error AlreadyVoted(address voter, address candidate);
    /// @notice `voter` has no pending vote about `candidate`.
    error NoVote(address voter, address candidate);
    /// @notice The vote would leave the network without validators.
    error CannotRemoveLastValidator();
    /// @notice `account` is already allowed (`allowed`) or already refused: nothing to vote on.
    error AccountAlreadyInState(address account, bool allowed);
    /// @notice `voter` has no pending allow-list vote about `account` in direction `allowed`.
    error NoAccountVote(address voter, address account, bool allowed);
    /// @notice `voter` already holds `max` pending votes: withdraw one first.
    error TooManyPendingVotes(address voter, uint256 max);

    /// @notice Caller (a validator) votes to add `candidate`.
    function voteAdd(address candidate) external;

    /// @notice Caller (a validator) votes to remove validator `validator`.
    function voteRemove(address validator) external;

    /// @notice Caller withdraws its pending vote about `candidate`.
    function withdrawVote(address candidate) external;

    /// @notice Caller (a validator) votes that `account` may (`allowed`) or may not send transactions;
    /// applied at floor(n/2)+1 equal votes, like validator changes.
    function allowAccount(address account, bool allowed) external;

    /// @notice Caller withdraws its pending allow-list vote about `account` in direction `allowed`.
    function withdrawAccountVote(address account, bool allowed) external;

    /// @notice Current validators.
    function getValidators() external view returns (address[] memory);

    /// @notice True when `account` is a current validator.
    function isValidator(address account) external view returns (bool);

    /// @notice Validators are always allowed; others need `allowAccount(account, true)`.
    function isAccountAllowed(address account) external view returns (bool);

    /// @notice Accounts explicitly allowed (validators are implicitly allowed).
    function getAllowedAccounts() external view returns (address[] memory);

    /// @notice Candidates with at least one pending vote.
    function getPendingCandidates() external view returns (address[] memory);

    /// @notice Allow-list changes with at least one pending vote.
    function getPendingAccountChanges() external view returns (address[] memory accounts, bool[] memory allowed);

    /// @notice Pending votes about `candidate` from current validators.
    function votesFor(address candidate) external view returns (uint256);

    /// @notice Pending votes that `account` be allowed (`allowed`) or refused.
    function accountVotesFor(address account, bool allowed) external view returns (uint256);

    /// @notice True when `voter` has a pending allow-list vote about `account` in direction `allowed`.
    function hasVotedAccount(address voter, address account, bool allowed) external view returns (bool);

    /// @notice Number of pending votes (validator and allow-list) that `voter` holds.
    function pendingVotesOf(address voter) external view returns (uint256);

    /// @notice True when `voter` has a pending vote about `candidate`.
    function hasVoted(address voter, address candidate) external view returns (bool);

    /// @notice Votes needed to apply a change: floor(n/2)+1.
    function voteThreshold() external view returns (uint256);
}
