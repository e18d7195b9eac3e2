// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {ICommoningAreas} from "./interfaces/ICommoningAreas.sol";
import {ILiquidDelegation} from "./interfaces/ILiquidDelegation.sol";

/// @dev The part of CO3Governance the delegation contract reads and calls.
interface IDelegationGovernance {
    /// @dev Leading fields of `CO3Governance.Proposal` (later fields, if any, are ignored by the decoder).
    struct ProposalHead {
        address proposer;
        uint64 voteStart;
        uint64 voteEnd;
        uint64 revealEnd;
        uint8 mode;
        bool commitReveal;
        bool canceled;
        uint256 areaId;
    }

    function registry() external view returns (ICitizenRegistry);
    function areas() external view returns (ICommoningAreas);
    function getProposal(uint256 proposalId) external view returns (ProposalHead memory);
    function state(uint256 proposalId) external view returns (uint8);
    function hasVoted(uint256 proposalId, address voter) external view returns (bool);
    function getVotes(uint256 proposalId, address voter) external view returns (uint256);
    function shiftDelegatedWeight(uint256 proposalId, address voter, uint256 weightDelta, uint32 headsDelta) external;
}

/**
 * @title LiquidDelegation
 * @notice Liquid (transitive) delegation for CO3Governance proposals counted one-citizen-one-vote or by
 * reputation. Token-weighted proposals keep the commons token's own ERC20Votes delegation.
 *
 * Delegations: a citizen points to another citizen globally (scope 0) or for one commoning area (scope =
 * area id), directly or by an EIP-712 signature anyone may submit (the API relays them), and may revoke at any
 * time. Pointers are checkpointed by timestamp (the suite's ERC-6372 clock), so the chains at a proposal's
 * snapshot are final once voting is open. For a proposal in area `a`, every hop follows the citizen's area-`a`
 * delegation if it was set at the snapshot, else its global one; consortium-wide proposals (area 0) follow
 * global delegations only.
 *
 * Rule (one proposal, open voting, snapshot `s`): an eligible citizen D who did not vote directly has its
 * weight at `s` (1, or its reputation in the proposal's domain; 0 if not an eligible member of the proposal's
 * electorate) added to the vote of the first citizen on its chain at `s` who voted directly, if that citizen is
 * at most `MAX_DEPTH` hops away. Chains that reach no direct voter within `MAX_DEPTH` hops (including cycles)
 * count nothing. A direct vote always overrides the voter's own delegation.
 *
 * Why counting per delegator and not per-delegate inflow counters: eligibility is per proposal (electorates,
 * snapshot-dependent reputation), so a delegate's inflow depends on the proposal. `countDelegations` is
 * permissionless (the API calls it after relaying votes; anyone else may, so nobody can withhold delegated
 * weight). Each delegator is counted at most once per proposal and only while the vote is Active.
 *
 * Exactness when a citizen votes after weight was counted through it: for every node X, `attributedThrough`
 * holds the weight counted through X while X had not voted. That weight always sits on the first direct voter
 * above X. When X votes, governance calls `onDirectVote`: X's flow (plus X's own weight if X had been counted)
 * moves from that voter to X, and the nodes in between are corrected — at most `MAX_DEPTH` hops. The final
 * tally is therefore independent of the order of votes and countings, as long as every delegator is counted
 * after the last vote on its chain (delegators counted too early are simply counted again later: never
 * counted, they stay countable).
 *
 * Commit–reveal proposals take no delegated weight: a representative's choice is hidden until after the vote,
 * when counting is closed. Delegators who care vote (secretly) themselves.
 *
 * Audit: `DelegateChanged` gives every pointer with its block timestamp; `DelegatedWeightCounted` and
 * `DelegatedWeightMoved` give every weight added to or moved between votes. `co3chain audit proposal`
 * recomputes them from events and snapshot state.
 *
 * No admin: nothing here is configurable. Governance binds to this contract once (its admin, the timelock).
 */
contract LiquidDelegation is ILiquidDelegation, EIP712, Nonces, IERC6372 {
    using Checkpoints for Checkpoints.Trace160;

    /// @notice Longest chain followed, in hops (delegator → … → direct voter).
    uint256 public constant MAX_DEPTH = 8;
    /// @notice Scope of global delegations (other scopes are commoning-area ids).
    uint256 public constant GLOBAL_SCOPE = 0;

    /// @notice EIP-712 type of a signed delegation.
    bytes32 public constant DELEGATE_TYPEHASH =
        keccak256("Delegate(address delegator,uint256 scope,address delegatee,uint256 nonce,uint256 expiry)");
    /// @notice EIP-712 type of a signed revocation.
    bytes32 public constant UNDELEGATE_TYPEHASH =
        keccak256("Undelegate(address delegator,uint256 scope,uint256 nonce,uint256 expiry)");

    uint8 private constant _TOKEN_WEIGHTED = 1;
    uint8 private constant _ACTIVE = 1; // CO3Governance.ProposalState.Active

    /// @notice The governance contract whose proposals this contract counts for.
    address public immutable governance;
    /// @notice Citizen registry (delegators and delegates must be citizens when delegating).
    ICitizenRegistry public immutable registry;
    /// @notice Commoning areas (scopes other than 0 must be existing areas).
    ICommoningAreas public immutable areas;

    mapping(address citizen => mapping(uint256 scope => Checkpoints.Trace160)) private _delegates;
    mapping(uint256 proposalId => mapping(address delegator => uint256)) private _counted;
    mapping(uint256 proposalId => mapping(address node => uint256)) private _through;
    mapping(uint256 proposalId => mapping(address node => uint256)) private _throughHeads;
    mapping(uint256 proposalId => mapping(address voter => uint256)) private _received;

    /// @notice `delegator`'s delegation for `scope` changed from `fromDelegate` to `toDelegate` (0: revoked).
    event DelegateChanged(
        address indexed delegator, uint256 indexed scope, address indexed fromDelegate, address toDelegate
    );
    /// @notice `delegator`'s `weight` was added to the vote of `representative`, `hops` hops up its chain.
    event DelegatedWeightCounted(
        uint256 indexed proposalId, address indexed delegator, address indexed representative, uint256 weight, uint8 hops
    );
    /// @notice `voter` voted directly: `moved` left `from`'s vote; `regained` of it (the weight delegated to
    /// `voter`) joined `voter`'s vote (the rest is `voter`'s own weight, already in its `VoteCast`).
    event DelegatedWeightMoved(
        uint256 indexed proposalId, address indexed voter, address indexed from, uint256 moved, uint256 regained
    );

    /// @notice A constructor argument is the zero address.
    error ZeroAddress();
    /// @notice Only the bound governance contract may call this.
    error OnlyGovernance(address caller);
    /// @notice `account` is not a citizen.
    error NotCitizen(address account);
    /// @notice A citizen cannot delegate to itself.
    error SelfDelegation(address delegator);
    /// @notice Delegating would close a cycle within `MAX_DEPTH` hops of the scope's chain.
    error DelegationCycle(address delegator, address delegatee);
    /// @notice The scope is neither 0 (global) nor an existing commoning area.
    error UnknownScope(uint256 scope);
    /// @notice `delegator` has no delegation in `scope` to revoke.
    error NotDelegated(address delegator, uint256 scope);
    /// @notice The signature expired at `expiry`.
    error SignatureExpired(uint256 expiry);
    /// @notice The signature is not `delegator`'s.
    error InvalidSignature(address delegator);
    /// @notice Delegation applies only to open one-citizen-one-vote and reputation proposals.
    error DelegationNotApplicable(uint256 proposalId);
    /// @notice Delegations are counted only while the proposal is Active.
    error ProposalNotActive(uint256 proposalId);

    /// @param governance_ The CO3Governance contract (its registry and areas are used here too).
    constructor(address governance_) EIP712("CO3 Liquid Delegation", "1") {
        if (governance_ == address(0)) revert ZeroAddress();
        governance = governance_;
        registry = IDelegationGovernance(governance_).registry();
        areas = IDelegationGovernance(governance_).areas();
    }

    // ------------------------------------------------------------------ delegations

    /// @notice Delegate the caller's vote in `scope` (0 = global, else an area id) to `delegatee`.
    function delegate(uint256 scope, address delegatee) external {
        _delegate(msg.sender, scope, delegatee);
    }

    /// @notice Revoke the caller's delegation in `scope` (a global one still applies to areas without their own).
    function undelegate(uint256 scope) external {
        _delegate(msg.sender, scope, address(0));
    }

    /// @notice `delegate` from `delegator`'s EIP-712 `Delegate` signature; anyone may submit it.
    function delegateBySig(
        address delegator,
        uint256 scope,
        address delegatee,
        uint256 nonce,
        uint256 expiry,
        bytes calldata signature
    ) external {
        _checkSigned(
            delegator, nonce, expiry, keccak256(abi.encode(DELEGATE_TYPEHASH, delegator, scope, delegatee, nonce, expiry)),
            signature
        );
        if (delegatee == address(0)) revert ZeroAddress();
        _delegate(delegator, scope, delegatee);
    }

    /// @notice `undelegate` from `delegator`'s EIP-712 `Undelegate` signature; anyone may submit it.
    function undelegateBySig(address delegator, uint256 scope, uint256 nonce, uint256 expiry, bytes calldata signature)
        external
    {
        _checkSigned(
            delegator, nonce, expiry, keccak256(abi.encode(UNDELEGATE_TYPEHASH, delegator, scope, nonce, expiry)), signature
        );
        _delegate(delegator, scope, address(0));
    }

    // ------------------------------------------------------------------ counting

    /**
     * @notice Count the delegated weight of `delegators` on `proposalId` (Active, open voting, one-citizen-one-
     * vote or reputation). Delegators already counted, who voted directly, without weight (not eligible in
     * the electorate at the snapshot), or whose chain reaches no direct voter within `MAX_DEPTH` hops are
     * skipped (the latter stay countable). Anyone may call.
     * @return counted How many delegators were counted by this call.
     */
    function countDelegations(uint256 proposalId, address[] calldata delegators) external returns (uint256 counted) {
        IDelegationGovernance gov = IDelegationGovernance(governance);
        (uint48 snapshot, uint256 areaId) = _applicable(gov, proposalId);
        if (gov.state(proposalId) != _ACTIVE) revert ProposalNotActive(proposalId);
        for (uint256 i = 0; i < delegators.length; ++i) {
            if (_countOne(gov, proposalId, delegators[i], areaId, snapshot)) ++counted;
        }
    }

    /// @inheritdoc ILiquidDelegation
    function onDirectVote(uint256 proposalId, address voter) external {
        if (msg.sender != governance) revert OnlyGovernance(msg.sender);
        uint256 own = _counted[proposalId][voter];
        uint256 regained = _through[proposalId][voter];
        uint256 moved = own + regained;
        if (moved == 0) return;
        uint256 regainedHeads = _throughHeads[proposalId][voter];
        uint256 movedHeads = regainedHeads + (own != 0 ? 1 : 0);
        address from = _release(proposalId, voter, moved, movedHeads);
        _received[proposalId][voter] += regained;
        emit DelegatedWeightMoved(proposalId, voter, from, moved, regained);
        IDelegationGovernance gov = IDelegationGovernance(governance);
        // Governance adds the deltas modulo 2^256 / 2^32: `0 - x` takes off `x` added before.
        unchecked {
            gov.shiftDelegatedWeight(proposalId, from, 0 - moved, uint32(0 - movedHeads));
        }
        if (regained != 0) gov.shiftDelegatedWeight(proposalId, voter, regained, uint32(regainedHeads));
    }

    /// @dev Takes `moved` weight (`heads` delegators) counted through `voter` off the first direct voter above it
    /// and off the nodes in between; returns that voter.
    function _release(uint256 proposalId, address voter, uint256 moved, uint256 heads) private returns (address from) {
        IDelegationGovernance gov = IDelegationGovernance(governance);
        IDelegationGovernance.ProposalHead memory p = gov.getProposal(proposalId);
        address[MAX_DEPTH] memory path;
        uint256 hops;
        (from, hops) = _firstVoter(gov, proposalId, voter, p.areaId, uint48(p.voteStart), path);
        // Counted weight through `voter` sits on the first direct voter above it, within MAX_DEPTH hops.
        assert(from != address(0));
        for (uint256 h = 0; h + 1 < hops; ++h) {
            _through[proposalId][path[h]] -= moved;
            _throughHeads[proposalId][path[h]] -= heads;
        }
        _received[proposalId][from] -= moved;
    }

    // ------------------------------------------------------------------ views

    /// @notice `citizen`'s current delegate in `scope` (0 if none).
    function delegateOf(address citizen, uint256 scope) external view returns (address) {
        return address(_delegates[citizen][scope].latest());
    }

    /// @notice `citizen`'s delegate in `scope` at `timepoint` (0 if none).
    function delegateAt(address citizen, uint256 scope, uint48 timepoint) external view returns (address) {
        return address(_delegates[citizen][scope].upperLookupRecent(timepoint));
    }

    /// @notice The delegate a proposal in `areaId` follows for `citizen` at `timepoint`: the area's, else global.
    function effectiveDelegateAt(address citizen, uint256 areaId, uint48 timepoint) public view returns (address) {
        return _delegateAt(citizen, areaId, timepoint);
    }

    /// @notice `citizen`'s chain for a proposal in `areaId` at `timepoint`, at most `MAX_DEPTH` hops.
    function chainAt(address citizen, uint256 areaId, uint48 timepoint) external view returns (address[] memory chain) {
        address[] memory buf = new address[](MAX_DEPTH);
        uint256 n;
        address node = citizen;
        while (n < MAX_DEPTH) {
            node = _delegateAt(node, areaId, timepoint);
            if (node == address(0)) break;
            buf[n++] = node;
        }
        chain = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            chain[i] = buf[i];
        }
    }

    /// @notice Weight of `delegator` counted on the proposal (0 if not counted).
    function countedWeight(uint256 proposalId, address delegator) external view returns (uint256) {
        return _counted[proposalId][delegator];
    }

    /// @notice Delegated weight currently added to `voter`'s direct vote on the proposal.
    function delegatedWeight(uint256 proposalId, address voter) external view returns (uint256) {
        return _received[proposalId][voter];
    }

    /// @notice Weight counted through `node` while it had not voted (bookkeeping for direct overrides).
    function attributedThrough(uint256 proposalId, address node) external view returns (uint256) {
        return _through[proposalId][node];
    }

    /// @notice The direct voter that `delegator`'s weight reaches now on the proposal (0 if none within depth).
    function representativeOf(uint256 proposalId, address delegator) external view returns (address rep) {
        IDelegationGovernance gov = IDelegationGovernance(governance);
        IDelegationGovernance.ProposalHead memory p = gov.getProposal(proposalId);
        address[MAX_DEPTH] memory path;
        (rep,) = _firstVoter(gov, proposalId, delegator, p.areaId, uint48(p.voteStart), path);
    }

    /// @notice EIP-712 domain separator (chain id and this contract).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IERC6372
    function clock() public view returns (uint48) {
        return Time.timestamp();
    }

    /// @inheritdoc IERC6372
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external pure returns (string memory) {
        return "mode=timestamp";
    }

    // ------------------------------------------------------------------ internals

    /// @dev Counts one delegator (see `countDelegations`); false when skipped.
    function _countOne(IDelegationGovernance gov, uint256 proposalId, address d, uint256 areaId, uint48 snapshot)
        private
        returns (bool)
    {
        if (_counted[proposalId][d] != 0 || gov.hasVoted(proposalId, d)) return false;
        address[MAX_DEPTH] memory path;
        (address rep, uint256 hops) = _firstVoter(gov, proposalId, d, areaId, snapshot, path);
        if (rep == address(0)) return false;
        uint256 weight = gov.getVotes(proposalId, d); // 0 unless eligible in the electorate at the snapshot
        if (weight == 0) return false;
        _counted[proposalId][d] = weight;
        for (uint256 h = 0; h + 1 < hops; ++h) {
            _through[proposalId][path[h]] += weight;
            _throughHeads[proposalId][path[h]] += 1;
        }
        _received[proposalId][rep] += weight;
        emit DelegatedWeightCounted(proposalId, d, rep, weight, uint8(hops));
        gov.shiftDelegatedWeight(proposalId, rep, weight, 1);
        return true;
    }

    function _delegate(address delegator, uint256 scope, address delegatee) private {
        Checkpoints.Trace160 storage trace = _delegates[delegator][scope];
        address previous = address(trace.latest());
        if (delegatee == address(0)) {
            if (previous == address(0)) revert NotDelegated(delegator, scope);
        } else {
            if (delegatee == delegator) revert SelfDelegation(delegator);
            if (!registry.isCitizen(delegator)) revert NotCitizen(delegator);
            if (!registry.isCitizen(delegatee)) revert NotCitizen(delegatee);
            if (scope != GLOBAL_SCOPE && !areas.areaExists(scope)) revert UnknownScope(scope);
            _checkNoCycle(delegator, scope, delegatee);
        }
        trace.push(uint96(clock()), uint160(delegatee));
        emit DelegateChanged(delegator, scope, previous, delegatee);
    }

    /// @dev Walks the scope's current chain from `delegatee` for `MAX_DEPTH` hops; reverts if it meets `delegator`.
    function _checkNoCycle(address delegator, uint256 scope, address delegatee) private view {
        address node = delegatee;
        uint48 now_ = clock();
        for (uint256 h = 0; h < MAX_DEPTH && node != address(0); ++h) {
            node = _delegateAt(node, scope, now_);
            if (node == delegator) revert DelegationCycle(delegator, delegatee);
        }
    }

    function _delegateAt(address citizen, uint256 areaId, uint48 timepoint) private view returns (address next) {
        if (areaId != GLOBAL_SCOPE) {
            next = address(_delegates[citizen][areaId].upperLookupRecent(timepoint));
            if (next != address(0)) return next;
        }
        return address(_delegates[citizen][GLOBAL_SCOPE].upperLookupRecent(timepoint));
    }

    /**
     * @dev First direct voter on `start`'s chain at `snapshot` within MAX_DEPTH hops, and its hop count; the
     * `hops - 1` non-voting nodes before it are written to `path`. (0, 0) if none.
     */
    function _firstVoter(
        IDelegationGovernance gov,
        uint256 proposalId,
        address start,
        uint256 areaId,
        uint48 snapshot,
        address[MAX_DEPTH] memory path
    ) private view returns (address, uint256) {
        address node = start;
        for (uint256 h = 1; h <= MAX_DEPTH; ++h) {
            node = _delegateAt(node, areaId, snapshot);
            if (node == address(0) || node == start) return (address(0), 0);
            if (gov.hasVoted(proposalId, node)) return (node, h);
            path[h - 1] = node;
        }
        return (address(0), 0);
    }

    /// @dev Snapshot and area of a proposal that takes delegated weight.
    function _applicable(IDelegationGovernance gov, uint256 proposalId) private view returns (uint48, uint256) {
        IDelegationGovernance.ProposalHead memory p = gov.getProposal(proposalId);
        if (p.mode == _TOKEN_WEIGHTED || p.commitReveal) revert DelegationNotApplicable(proposalId);
        return (uint48(p.voteStart), p.areaId);
    }

    function _checkSigned(address delegator, uint256 nonce, uint256 expiry, bytes32 structHash, bytes calldata sig)
        private
    {
        if (block.timestamp > expiry) revert SignatureExpired(expiry);
        _useCheckedNonce(delegator, nonce);
        if (!SignatureChecker.isValidSignatureNow(delegator, _hashTypedDataV4(structHash), sig)) {
            revert InvalidSignature(delegator);
        }
    }
}
