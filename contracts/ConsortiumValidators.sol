// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IConsortiumValidators} from "./interfaces/IConsortiumValidators.sol";

/**
 * @title ConsortiumValidators
 * @notice Validator-set governance among the consortium's public administrations, with the same rules as
 * QBFT header votes: a current validator votes to add a non-validator or to remove a validator; the change
 * applies as soon as floor(n/2)+1 current validators agree (n = current set size), and every pending vote
 * about that candidate is then cleared. Votes can be withdrawn; votes of a removed validator are dropped;
 * the last validator cannot be removed. Like QBFT, a change is applied when a vote is cast, so a set that
 * shrinks does not retroactively apply pending proposals until the next vote about them.
 *
 * It also keeps the account allow-list of a permissioned network, under the same majority: a validator's
 * `allowAccount(account, allowed)` is a vote, and the change applies once floor(n/2)+1 validators cast the
 * same vote — one PA alone can neither admit an account nor cut off the relayer of the whole network (with
 * a single validator its vote is the majority). Validators are always allowed; the node reads
 * `isAccountAllowed` for tx admission. Why the validators and not the council's timelock: the allow-list
 * decides which transactions the validators' own nodes include, an emergency cut-off must not wait for a
 * timelock delay, and the validator set is the consortium membership the council mirrors.
 *
 * Bounded work: each validator has at most `MAX_PENDING_VOTES` pending votes (validator and allow-list
 * votes together), and every vote a validator holds is indexed by voter, so removing a validator drops its
 * votes in O(MAX_PENDING_VOTES) — a validator spamming candidates cannot make its own removal run out of
 * gas. Applying a change clears at most n votes (only current validators hold votes).
 *
 * Two validators: a change needs both votes, so neither can remove the other alone; a validator can leave
 * by voting for its own removal. This is deliberate: with two PAs, letting one eject the other would hand
 * the network to a single party, and QBFT with two validators needs both online to seal blocks anyway.
 */
contract ConsortiumValidators is IConsortiumValidators {
    using EnumerableSet for EnumerableSet.AddressSet;
    using EnumerableSet for EnumerableSet.Bytes32Set;

    /// @notice Pending votes one validator may hold at a time (validator and allow-list votes together).
    uint256 public constant MAX_PENDING_VOTES = 16;

    /// @dev Ballot keys: the subject's address in the low 160 bits and the kind above it.
    uint256 private constant _KIND_VALIDATOR = 0;
    uint256 private constant _KIND_DISALLOW = 1;
    uint256 private constant _KIND_ALLOW = 2;

    EnumerableSet.AddressSet private _validators;
    EnumerableSet.AddressSet private _allowed;
    EnumerableSet.AddressSet private _pendingCandidates;
    EnumerableSet.Bytes32Set private _pendingAccountChanges;
    mapping(bytes32 ballot => EnumerableSet.AddressSet voters) private _voters;
    mapping(address voter => EnumerableSet.Bytes32Set ballots) private _ballotsOf;

    /// @param initialValidators The genesis validator set (non-empty, no zero address, no duplicates).
    constructor(address[] memory initialValidators) {
        if (initialValidators.length == 0) revert NoValidators();
        for (uint256 i = 0; i < initialValidators.length; ++i) {
            address v = initialValidators[i];
            if (v == address(0)) revert ZeroAddress();
            if (!_validators.add(v)) revert AlreadyValidator(v);
            emit ValidatorAdded(v);
        }
    }

    modifier onlyValidator() {
        if (!_validators.contains(msg.sender)) revert NotValidator(msg.sender);
        _;
    }

    /// @inheritdoc IConsortiumValidators
    function voteAdd(address candidate) external onlyValidator {
        if (candidate == address(0)) revert ZeroAddress();
        if (_validators.contains(candidate)) revert AlreadyValidator(candidate);
        _castValidatorVote(candidate, true);
    }

    /// @inheritdoc IConsortiumValidators
    function voteRemove(address validator) external onlyValidator {
        if (!_validators.contains(validator)) revert NotValidator(validator);
        _castValidatorVote(validator, false);
    }

    /// @inheritdoc IConsortiumValidators
    function withdrawVote(address candidate) external onlyValidator {
        bytes32 ballot = _ballot(_KIND_VALIDATOR, candidate);
        if (!_voters[ballot].contains(msg.sender)) revert NoVote(msg.sender, candidate);
        _removeVote(msg.sender, ballot);
    }

    /// @inheritdoc IConsortiumValidators
    function allowAccount(address account, bool allowed) external onlyValidator {
        if (account == address(0)) revert ZeroAddress();
        if (_allowed.contains(account) == allowed) revert AccountAlreadyInState(account, allowed);
        emit AccountVoteCast(msg.sender, account, allowed);
        if (!_vote(_ballot(allowed ? _KIND_ALLOW : _KIND_DISALLOW, account))) return;

        if (allowed) {
            _allowed.add(account);
        } else {
            _allowed.remove(account);
        }
        emit AccountAllowed(account, allowed, msg.sender);
    }

    /// @inheritdoc IConsortiumValidators
    function withdrawAccountVote(address account, bool allowed) external onlyValidator {
        bytes32 ballot = _ballot(allowed ? _KIND_ALLOW : _KIND_DISALLOW, account);
        if (!_voters[ballot].contains(msg.sender)) revert NoAccountVote(msg.sender, account, allowed);
        _removeVote(msg.sender, ballot);
    }

    /// @inheritdoc IConsortiumValidators
    function getValidators() external view returns (address[] memory) {
        return _validators.values();
    }

    /// @inheritdoc IConsortiumValidators
    function isValidator(address account) external view returns (bool) {
        return _validators.contains(account);
    }

    /// @inheritdoc IConsortiumValidators
    function isAccountAllowed(address account) external view returns (bool) {
        return _validators.contains(account) || _allowed.contains(account);
    }

    /// @inheritdoc IConsortiumValidators
    function getAllowedAccounts() external view returns (address[] memory) {
        return _allowed.values();
    }

    /// @inheritdoc IConsortiumValidators
    function getPendingCandidates() external view returns (address[] memory) {
        return _pendingCandidates.values();
    }

    /// @inheritdoc IConsortiumValidators
    function getPendingAccountChanges() external view returns (address[] memory accounts, bool[] memory allowed) {
        uint256 n = _pendingAccountChanges.length();
        accounts = new address[](n);
        allowed = new bool[](n);
        for (uint256 i = 0; i < n; ++i) {
            bytes32 ballot = _pendingAccountChanges.at(i);
            accounts[i] = _subject(ballot);
            allowed[i] = _kind(ballot) == _KIND_ALLOW;
        }
    }

    /// @inheritdoc IConsortiumValidators
    function votesFor(address candidate) external view returns (uint256) {
        return _voters[_ballot(_KIND_VALIDATOR, candidate)].length();
    }

    /// @inheritdoc IConsortiumValidators
    function hasVoted(address voter, address candidate) external view returns (bool) {
        return _voters[_ballot(_KIND_VALIDATOR, candidate)].contains(voter);
    }

    /// @inheritdoc IConsortiumValidators
    function accountVotesFor(address account, bool allowed) external view returns (uint256) {
        return _voters[_ballot(allowed ? _KIND_ALLOW : _KIND_DISALLOW, account)].length();
    }

    /// @inheritdoc IConsortiumValidators
    function hasVotedAccount(address voter, address account, bool allowed) external view returns (bool) {
        return _voters[_ballot(allowed ? _KIND_ALLOW : _KIND_DISALLOW, account)].contains(voter);
    }

    /// @inheritdoc IConsortiumValidators
    function pendingVotesOf(address voter) external view returns (uint256) {
        return _ballotsOf[voter].length();
    }

    /// @inheritdoc IConsortiumValidators
    function voteThreshold() public view returns (uint256) {
        return _validators.length() / 2 + 1;
    }

    function _castValidatorVote(address candidate, bool add) private {
        emit VoteCast(msg.sender, candidate, add);
        if (!_vote(_ballot(_KIND_VALIDATOR, candidate))) return;

        if (!add && _validators.length() == 1) revert CannotRemoveLastValidator();
        if (add) {
            _validators.add(candidate);
            emit ValidatorAdded(candidate);
        } else {
            _validators.remove(candidate);
            _dropVotesBy(candidate);
            emit ValidatorRemoved(candidate);
        }
    }

    /// @dev Casts the caller's vote on `ballot`. A vote that completes the majority clears the ballot and
    /// returns true without being stored (cheaper, and never counted against the caller's bound); any other
    /// vote stays pending, within the caller's `MAX_PENDING_VOTES`.
    function _vote(bytes32 ballot) private returns (bool applied) {
        EnumerableSet.AddressSet storage voters = _voters[ballot];
        if (voters.contains(msg.sender)) revert AlreadyVoted(msg.sender, _subject(ballot));
        if (voters.length() + 1 >= voteThreshold()) {
            _clearBallot(ballot);
            return true;
        }
        EnumerableSet.Bytes32Set storage mine = _ballotsOf[msg.sender];
        if (mine.length() >= MAX_PENDING_VOTES) revert TooManyPendingVotes(msg.sender, MAX_PENDING_VOTES);
        voters.add(msg.sender);
        mine.add(ballot);
        if (_kind(ballot) == _KIND_VALIDATOR) {
            _pendingCandidates.add(_subject(ballot));
        } else {
            _pendingAccountChanges.add(ballot);
        }
        return false;
    }

    /// @dev Withdraws `voter`'s vote on `ballot` (which it holds) and emits the matching event.
    function _removeVote(address voter, bytes32 ballot) private {
        _voters[ballot].remove(voter);
        _ballotsOf[voter].remove(ballot);
        address subject = _subject(ballot);
        uint256 kind = _kind(ballot);
        bool empty = _voters[ballot].length() == 0;
        if (kind == _KIND_VALIDATOR) {
            if (empty) _pendingCandidates.remove(subject);
            emit VoteWithdrawn(voter, subject);
        } else {
            if (empty) _pendingAccountChanges.remove(ballot);
            emit AccountVoteWithdrawn(voter, subject, kind == _KIND_ALLOW);
        }
    }

    /// @dev Clears every pending vote on an applied `ballot`: at most n, since only validators hold votes.
    function _clearBallot(bytes32 ballot) private {
        EnumerableSet.AddressSet storage voters = _voters[ballot];
        for (uint256 i = voters.length(); i > 0; --i) {
            address voter = voters.at(i - 1);
            voters.remove(voter);
            _ballotsOf[voter].remove(ballot);
        }
        if (_kind(ballot) == _KIND_VALIDATOR) {
            _pendingCandidates.remove(_subject(ballot));
        } else {
            _pendingAccountChanges.remove(ballot);
        }
    }

    /// @dev Drops the pending votes of a validator that was just removed: at most MAX_PENDING_VOTES.
    function _dropVotesBy(address voter) private {
        EnumerableSet.Bytes32Set storage ballots = _ballotsOf[voter];
        for (uint256 i = ballots.length(); i > 0; --i) {
            _removeVote(voter, ballots.at(i - 1));
        }
    }

    function _ballot(uint256 kind, address subject) private pure returns (bytes32) {
        return bytes32((kind << 160) | uint256(uint160(subject)));
    }

    function _subject(bytes32 ballot) private pure returns (address) {
        return address(uint160(uint256(ballot)));
    }

    function _kind(bytes32 ballot) private pure returns (uint256) {
        return uint256(ballot) >> 160;
    }
}
