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
 * It also keeps the account allow-list of a permissioned network: any validator may allow or disallow an
 * account, validators are always allowed, and the node reads `isAccountAllowed` for tx admission.
 */
contract ConsortiumValidators is IConsortiumValidators {
    using EnumerableSet for EnumerableSet.AddressSet;

    EnumerableSet.AddressSet private _validators;
    EnumerableSet.AddressSet private _allowed;
    EnumerableSet.AddressSet private _pendingCandidates;
    mapping(address candidate => EnumerableSet.AddressSet voters) private _votes;

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
        _castVote(candidate, true);
    }

    /// @inheritdoc IConsortiumValidators
    function voteRemove(address validator) external onlyValidator {
        if (!_validators.contains(validator)) revert NotValidator(validator);
        _castVote(validator, false);
    }

    /// @inheritdoc IConsortiumValidators
    function withdrawVote(address candidate) external onlyValidator {
        if (!_votes[candidate].remove(msg.sender)) revert NoVote(msg.sender, candidate);
        if (_votes[candidate].length() == 0) _pendingCandidates.remove(candidate);
        emit VoteWithdrawn(msg.sender, candidate);
    }

    /// @inheritdoc IConsortiumValidators
    function allowAccount(address account, bool allowed) external onlyValidator {
        if (account == address(0)) revert ZeroAddress();
        if (allowed) {
            _allowed.add(account);
        } else {
            _allowed.remove(account);
        }
        emit AccountAllowed(account, allowed, msg.sender);
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
    function votesFor(address candidate) external view returns (uint256) {
        return _votes[candidate].length();
    }

    /// @inheritdoc IConsortiumValidators
    function hasVoted(address voter, address candidate) external view returns (bool) {
        return _votes[candidate].contains(voter);
    }

    /// @inheritdoc IConsortiumValidators
    function voteThreshold() public view returns (uint256) {
        return _validators.length() / 2 + 1;
    }

    function _castVote(address candidate, bool add) private {
        if (!_votes[candidate].add(msg.sender)) revert AlreadyVoted(msg.sender, candidate);
        _pendingCandidates.add(candidate);
        emit VoteCast(msg.sender, candidate, add);
        if (_votes[candidate].length() < voteThreshold()) return;

        if (!add && _validators.length() == 1) revert CannotRemoveLastValidator();
        _clearVotesAbout(candidate);
        if (add) {
            _validators.add(candidate);
            emit ValidatorAdded(candidate);
        } else {
            _validators.remove(candidate);
            _dropVotesBy(candidate);
            emit ValidatorRemoved(candidate);
        }
    }

    /// @dev Clears every pending vote about `candidate` (votes are only ever held by current validators).
    function _clearVotesAbout(address candidate) private {
        EnumerableSet.AddressSet storage voters = _votes[candidate];
        for (uint256 i = voters.length(); i > 0; --i) {
            voters.remove(voters.at(i - 1));
        }
        _pendingCandidates.remove(candidate);
    }

    /// @dev Drops the pending votes cast by a validator that was just removed.
    function _dropVotesBy(address voter) private {
        for (uint256 i = _pendingCandidates.length(); i > 0; --i) {
            address candidate = _pendingCandidates.at(i - 1);
            if (_votes[candidate].remove(voter)) {
                emit VoteWithdrawn(voter, candidate);
                if (_votes[candidate].length() == 0) _pendingCandidates.remove(candidate);
            }
        }
    }
}
