// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {ICommoningAreas} from "./interfaces/ICommoningAreas.sol";
import {IReputation} from "./interfaces/IReputation.sol";

/**
 * @title CO3Governance
 * @notice Proposals and votes of the CO3 consortium: consortium-wide or scoped to one commoning area, counted
 * one-citizen-one-vote, by commons-token voting power or by area reputation, with optional commit–reveal.
 *
 * Time: every timepoint is a block timestamp (ERC-6372 `mode=timestamp`), the same clock as the registry,
 * the token and the reputation contract (checked at construction, see OZ issue #5346). A proposal's snapshot
 * is `voteStart`; voting is open strictly after it, while `voteStart < now <= voteEnd`, so that every weight
 * and total is read at a timepoint that is already final. With commit–reveal, commitments are made in that
 * window and revealed while `voteEnd < now <= revealEnd`.
 *
 * Weights (read at the snapshot):
 * - one-citizen-one-vote: 1 if the voter was (re-)registered at or before the snapshot and is still a citizen
 *   when voting (`ICitizenRegistry.isEligibleAt`), so revoked or expired citizens cannot vote. No delegation.
 * - token-weighted: `getPastVotes(voter, snapshot)` of the ERC20Votes commons token. Delegation is the
 *   token's own `delegate` / `delegateBySig` and is one hop only: delegated power is not delegated further.
 * - reputation-weighted: the decayed score of the voter in the proposal's domain (`bytes32(areaId)`, i.e. the
 *   global domain for consortium-wide proposals) at the snapshot. Not delegable.
 *
 * Quorum: a percentage (numerator over 100) checkpointed over time and read at `voteStart`, never at creation
 * nor at the time of the query, so changing it later cannot revive or kill an already started proposal
 * (CVE-2022-31198). quorum = ceil(numerator × total / 100) where total is the past citizen count, token
 * supply or domain reputation at the snapshot. For and Abstain weights count towards quorum; a proposal
 * succeeds iff quorum is reached and For > Against.
 *
 * Signed votes: citizens sign EIP-712 `Ballot` or `Commitment` messages that a RELAYER_ROLE holder (the API)
 * submits. Nonces are kept per (voter, proposal), so using one signed vote never invalidates another pending
 * signed vote of the same voter on a different proposal (OZ issue #5565); the domain binds chain and contract.
 *
 * Every tally can be recomputed from `VoteCast` and `VoteRevealed` events (they carry the weight).
 */
contract CO3Governance is AccessControl, EIP712, IERC6372 {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice How the weight of a vote is determined.
    enum CountingMode {
        OneCitizenOneVote,
        TokenWeighted,
        ReputationWeighted
    }

    /// @notice Lifecycle of a proposal.
    enum ProposalState {
        Pending,
        Active,
        Revealing,
        Succeeded,
        Defeated,
        Canceled
    }

    /// @notice Stored parameters of a proposal.
    struct Proposal {
        address proposer;
        uint64 voteStart;
        uint64 voteEnd;
        uint64 revealEnd;
        uint8 mode;
        bool commitReveal;
        bool canceled;
        uint256 areaId;
    }

    /// @notice Running tally of a proposal (revealed votes only, for commit–reveal proposals).
    struct Tally {
        uint256 againstVotes;
        uint256 forVotes;
        uint256 abstainVotes;
    }

    /// @dev Per (proposal, voter) record. `weight` is fixed when the vote is cast or committed.
    struct Receipt {
        uint8 status;
        bytes32 commitment;
        uint256 weight;
    }

    /// @notice May create consortium-wide proposals and proposals in any area (the consortium PAs).
    bytes32 public constant PROPOSER_ROLE = keccak256("PROPOSER_ROLE");
    /// @notice May submit votes and commitments signed by citizens (the API relayer).
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");

    /// @notice EIP-712 type of a signed open vote.
    bytes32 public constant BALLOT_TYPEHASH =
        keccak256("Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)");
    /// @notice EIP-712 type of a signed commitment.
    bytes32 public constant COMMITMENT_TYPEHASH =
        keccak256("Commitment(uint256 proposalId,bytes32 commitment,address voter,uint256 nonce)");

    /// @notice Quorum numerator denominator: numerators are percentages.
    uint256 public constant QUORUM_DENOMINATOR = 100;
    /// @notice Quorum numerator in force from deployment until the admin changes it.
    uint256 public constant INITIAL_QUORUM_NUMERATOR = 10;

    /// @notice Support values.
    uint8 public constant AGAINST = 0;
    uint8 public constant FOR = 1;
    uint8 public constant ABSTAIN = 2;

    uint8 private constant _NONE = 0;
    uint8 private constant _VOTED = 1;
    uint8 private constant _COMMITTED = 2;
    uint8 private constant _REVEALED = 3;

    /// @notice Citizen registry used for one-citizen-one-vote eligibility and electorate size.
    ICitizenRegistry public immutable registry;
    /// @notice ERC-5805 commons token used for token-weighted voting.
    IERC5805 public immutable token;
    /// @notice Reputation contract used for reputation-weighted voting.
    IReputation public immutable reputation;
    /// @notice Commoning-area registry: area existence and managing PA.
    ICommoningAreas public immutable areas;

    mapping(uint256 proposalId => Proposal) private _proposals;
    mapping(uint256 proposalId => Tally) private _tallies;
    mapping(uint256 proposalId => mapping(address voter => Receipt)) private _receipts;
    mapping(address voter => mapping(uint256 proposalId => uint256)) private _nonces;
    Checkpoints.Trace208 private _quorumNumerators;

    /// @notice A proposal was created. `quorumNumerator` is the one in force at creation; the effective one is
    /// the checkpoint at `voteStart` (see `QuorumNumeratorUpdated`).
    event ProposalCreated(
        uint256 indexed proposalId,
        address indexed proposer,
        uint256 indexed areaId,
        uint8 mode,
        bool commitReveal,
        uint64 voteStart,
        uint64 voteEnd,
        uint64 revealEnd,
        uint256 quorumNumerator,
        string description
    );
    /// @notice `voter` cast an open vote with `weight`.
    event VoteCast(address indexed voter, uint256 indexed proposalId, uint8 support, uint256 weight);
    /// @notice `voter` committed to a hidden vote.
    event VoteCommitted(address indexed voter, uint256 indexed proposalId, bytes32 commitment);
    /// @notice The committed vote of `voter` was revealed and counted with `weight`.
    event VoteRevealed(address indexed voter, uint256 indexed proposalId, uint8 support, uint256 weight);
    /// @notice The proposal was canceled before its vote started.
    event ProposalCanceled(uint256 indexed proposalId);
    /// @notice The quorum numerator changed; it applies to proposals whose `voteStart` is at or after this block.
    event QuorumNumeratorUpdated(uint256 oldNumerator, uint256 newNumerator);

    /// @notice A constructor argument is the zero address.
    error ZeroAddress();
    /// @notice `source` does not use the timestamp clock (ERC-6372 `mode=timestamp`).
    error ClockModeMismatch(address source);
    /// @notice The counting mode is not one of `CountingMode`.
    error InvalidCountingMode(uint8 mode);
    /// @notice The support value is not 0 (Against), 1 (For) or 2 (Abstain).
    error InvalidSupport(uint8 support);
    /// @notice The voting windows are invalid (start ≥ now, start < end, end < revealEnd iff commit–reveal).
    error InvalidVotingWindow(uint64 voteStart, uint64 voteEnd, uint64 revealEnd);
    /// @notice The area does not exist.
    error UnknownArea(uint256 areaId);
    /// @notice The area is closed and takes no new proposals.
    error AreaClosed(uint256 areaId);
    /// @notice `account` may not create proposals for `areaId` (0 = consortium-wide).
    error UnauthorizedProposer(address account, uint256 areaId);
    /// @notice A proposal with this id already exists.
    error ProposalExists(uint256 proposalId);
    /// @notice No proposal has this id.
    error UnknownProposal(uint256 proposalId);
    /// @notice The proposal is not in a state that allows the operation.
    error UnexpectedProposalState(uint256 proposalId, ProposalState current);
    /// @notice Only the proposer or the admin may cancel.
    error UnauthorizedCanceler(address account, uint256 proposalId);
    /// @notice Open votes are not accepted by commit–reveal proposals (and commitments only by those).
    error WrongVotingMethod(uint256 proposalId, bool commitReveal);
    /// @notice `voter` already voted or committed on the proposal.
    error AlreadyVoted(address voter, uint256 proposalId);
    /// @notice `voter` has no voting weight on the proposal at its snapshot.
    error NoVotingWeight(address voter, uint256 proposalId);
    /// @notice The signed nonce is not the current nonce of (voter, proposal).
    error InvalidNonce(address voter, uint256 proposalId, uint256 expected);
    /// @notice The signature is not a valid signature of `voter` over the message.
    error InvalidSignature(address voter);
    /// @notice The commitment is zero.
    error EmptyCommitment();
    /// @notice `voter` has no unrevealed commitment on the proposal.
    error NoCommitment(address voter, uint256 proposalId);
    /// @notice The revealed vote and salt do not hash to the commitment.
    error CommitmentMismatch(address voter, uint256 proposalId);
    /// @notice Quorum numerators are percentages (at most 100).
    error InvalidQuorumNumerator(uint256 numerator);
    /// @notice The proposal's snapshot is not in the past yet.
    error SnapshotNotReached(uint256 proposalId, uint64 voteStart);

    /**
     * @param admin Consortium admin (DEFAULT_ADMIN_ROLE): manages roles and the quorum, may cancel.
     * @param registry_ Citizen registry.
     * @param token_ Commons token (ERC20Votes with the timestamp clock).
     * @param reputation_ Reputation contract.
     * @param areas_ Commoning-area registry.
     */
    constructor(
        address admin,
        ICitizenRegistry registry_,
        IERC5805 token_,
        IReputation reputation_,
        ICommoningAreas areas_
    ) EIP712("CO3 Governance", "1") {
        if (
            admin == address(0) || address(registry_) == address(0) || address(token_) == address(0)
                || address(reputation_) == address(0) || address(areas_) == address(0)
        ) revert ZeroAddress();
        _requireTimestampClock(address(registry_), registry_.CLOCK_MODE());
        _requireTimestampClock(address(token_), token_.CLOCK_MODE());
        _requireTimestampClock(address(reputation_), reputation_.CLOCK_MODE());
        registry = registry_;
        token = token_;
        reputation = reputation_;
        areas = areas_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setQuorumNumerator(INITIAL_QUORUM_NUMERATOR);
    }

    // ------------------------------------------------------------------ proposals

    /**
     * @notice Create a proposal. Consortium-wide (`areaId` 0) proposals need PROPOSER_ROLE; area proposals are
     * made by the area's managing PA or a PROPOSER_ROLE holder. The id binds the proposer, so nobody can
     * front-run a proposal under the same id.
     * @param areaId Commoning area the proposal belongs to, 0 for consortium-wide (reputation domain too).
     * @param mode A `CountingMode` value (taken as uint8 so an out-of-range value gets a custom error).
     * @param commitReveal Whether votes are committed hidden and revealed after `voteEnd`.
     * @param voteStart Snapshot timepoint (≥ now); voting opens strictly after it.
     * @param voteEnd Last second of voting (> voteStart).
     * @param revealEnd Last second of the reveal phase (> voteEnd) for commit–reveal proposals, else 0.
     * @param description Human-readable text (its hash is part of the id).
     * @return proposalId `hashProposal(msg.sender, ...)`.
     */
    function propose(
        uint256 areaId,
        uint8 mode,
        bool commitReveal,
        uint64 voteStart,
        uint64 voteEnd,
        uint64 revealEnd,
        string calldata description
    ) external returns (uint256 proposalId) {
        if (mode > uint8(type(CountingMode).max)) revert InvalidCountingMode(mode);
        if (
            voteStart < block.timestamp || voteEnd <= voteStart || voteEnd > type(uint48).max
                || (commitReveal ? revealEnd <= voteEnd || revealEnd > type(uint48).max : revealEnd != 0)
        ) revert InvalidVotingWindow(voteStart, voteEnd, revealEnd);
        _checkProposer(msg.sender, areaId);

        proposalId = hashProposal(msg.sender, areaId, mode, commitReveal, voteStart, voteEnd, revealEnd, description);
        if (_proposals[proposalId].proposer != address(0)) revert ProposalExists(proposalId);
        _proposals[proposalId] = Proposal({
            proposer: msg.sender,
            voteStart: voteStart,
            voteEnd: voteEnd,
            revealEnd: revealEnd,
            mode: mode,
            commitReveal: commitReveal,
            canceled: false,
            areaId: areaId
        });
        _emitProposalCreated(proposalId, _proposals[proposalId], description);
    }

    /// @notice Cancel a proposal that has not started (`now <= voteStart`). Proposer or admin only.
    function cancel(uint256 proposalId) external {
        Proposal storage p = _proposal(proposalId);
        if (msg.sender != p.proposer && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert UnauthorizedCanceler(msg.sender, proposalId);
        }
        ProposalState current = state(proposalId);
        if (current != ProposalState.Pending) revert UnexpectedProposalState(proposalId, current);
        p.canceled = true;
        emit ProposalCanceled(proposalId);
    }

    /// @notice The id `propose` gives to these parameters when called by `proposer`.
    function hashProposal(
        address proposer,
        uint256 areaId,
        uint8 mode,
        bool commitReveal,
        uint64 voteStart,
        uint64 voteEnd,
        uint64 revealEnd,
        string calldata description
    ) public pure returns (uint256) {
        return uint256(
            keccak256(
                abi.encode(
                    proposer,
                    areaId,
                    mode,
                    commitReveal,
                    voteStart,
                    voteEnd,
                    revealEnd,
                    keccak256(bytes(description))
                )
            )
        );
    }

    // ------------------------------------------------------------------ open voting

    /// @notice Cast an open vote with the caller's weight at the snapshot.
    function castVote(uint256 proposalId, uint8 support) external returns (uint256 weight) {
        return _castVote(proposalId, msg.sender, support);
    }

    /**
     * @notice Cast `voter`'s open vote from their EIP-712 `Ballot` signature. RELAYER_ROLE only.
     * @param nonce Must equal `nonces(voter, proposalId)`; it is consumed.
     */
    function castVoteBySig(uint256 proposalId, uint8 support, address voter, uint256 nonce, bytes calldata signature)
        external
        onlyRole(RELAYER_ROLE)
        returns (uint256 weight)
    {
        bytes32 structHash = keccak256(abi.encode(BALLOT_TYPEHASH, proposalId, support, voter, nonce));
        _useSignedNonce(voter, proposalId, nonce, structHash, signature);
        return _castVote(proposalId, voter, support);
    }

    // ------------------------------------------------------------------ commit–reveal

    /// @notice Commit to a hidden vote: `commitment = voteCommitment(proposalId, voter, support, salt)`.
    function commitVote(uint256 proposalId, bytes32 commitment) external returns (uint256 weight) {
        return _commitVote(proposalId, msg.sender, commitment);
    }

    /// @notice Commit `voter`'s hidden vote from their EIP-712 `Commitment` signature. RELAYER_ROLE only.
    function commitVoteBySig(
        uint256 proposalId,
        bytes32 commitment,
        address voter,
        uint256 nonce,
        bytes calldata signature
    ) external onlyRole(RELAYER_ROLE) returns (uint256 weight) {
        bytes32 structHash = keccak256(abi.encode(COMMITMENT_TYPEHASH, proposalId, commitment, voter, nonce));
        _useSignedNonce(voter, proposalId, nonce, structHash, signature);
        return _commitVote(proposalId, voter, commitment);
    }

    /**
     * @notice Reveal `voter`'s committed vote during the reveal phase; anyone holding the salt may call.
     * The weight fixed at commit time is added to the tally.
     */
    function revealVote(uint256 proposalId, address voter, uint8 support, bytes32 salt) external {
        ProposalState current = state(proposalId);
        if (current != ProposalState.Revealing) revert UnexpectedProposalState(proposalId, current);
        Receipt storage r = _receipts[proposalId][voter];
        if (r.status != _COMMITTED) revert NoCommitment(voter, proposalId);
        if (r.commitment != voteCommitment(proposalId, voter, support, salt)) {
            revert CommitmentMismatch(voter, proposalId);
        }
        if (support > ABSTAIN) revert InvalidSupport(support);
        r.status = _REVEALED;
        uint256 weight = r.weight;
        _count(proposalId, support, weight);
        emit VoteRevealed(voter, proposalId, support, weight);
    }

    /// @notice The commitment a voter submits for (`support`, `salt`).
    function voteCommitment(uint256 proposalId, address voter, uint8 support, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(proposalId, voter, support, salt));
    }

    // ------------------------------------------------------------------ quorum

    /// @notice Set the quorum numerator (percent) for proposals whose vote starts from now on. Admin only.
    function setQuorumNumerator(uint256 newNumerator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setQuorumNumerator(newNumerator);
    }

    /// @notice Current quorum numerator (percent).
    function quorumNumerator() public view returns (uint256) {
        return _quorumNumerators.latest();
    }

    /// @notice Quorum numerator (percent) in force at `timepoint`.
    function quorumNumeratorAt(uint48 timepoint) public view returns (uint256) {
        return _quorumNumerators.upperLookupRecent(timepoint);
    }

    /**
     * @notice Weight of For + Abstain votes the proposal needs: ceil(numerator × total / 100), both read at
     * `voteStart`. Reverts until the snapshot is in the past.
     */
    function quorum(uint256 proposalId) public view returns (uint256) {
        Proposal storage p = _proposal(proposalId);
        uint48 snapshot = uint48(p.voteStart);
        if (snapshot >= clock()) revert SnapshotNotReached(proposalId, p.voteStart);
        uint256 total;
        if (p.mode == uint8(CountingMode.OneCitizenOneVote)) {
            total = registry.getPastCitizenCount(snapshot);
        } else if (p.mode == uint8(CountingMode.TokenWeighted)) {
            total = token.getPastTotalSupply(snapshot);
        } else {
            total = reputation.getPastTotalScore(bytes32(p.areaId), snapshot);
        }
        return Math.mulDiv(quorumNumeratorAt(snapshot), total, QUORUM_DENOMINATOR, Math.Rounding.Ceil);
    }

    // ------------------------------------------------------------------ views

    /// @notice Lifecycle state of a proposal.
    function state(uint256 proposalId) public view returns (ProposalState) {
        Proposal storage p = _proposal(proposalId);
        if (p.canceled) return ProposalState.Canceled;
        uint256 now_ = block.timestamp;
        if (now_ <= p.voteStart) return ProposalState.Pending;
        if (now_ <= p.voteEnd) return ProposalState.Active;
        if (p.commitReveal && now_ <= p.revealEnd) return ProposalState.Revealing;
        Tally storage t = _tallies[proposalId];
        bool reached = t.forVotes + t.abstainVotes >= quorum(proposalId);
        return reached && t.forVotes > t.againstVotes ? ProposalState.Succeeded : ProposalState.Defeated;
    }

    /// @notice Stored parameters of a proposal.
    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        return _proposal(proposalId);
    }

    /// @notice Counted weights (revealed votes only for commit–reveal proposals).
    function proposalVotes(uint256 proposalId)
        external
        view
        returns (uint256 againstVotes, uint256 forVotes, uint256 abstainVotes)
    {
        _proposal(proposalId);
        Tally storage t = _tallies[proposalId];
        return (t.againstVotes, t.forVotes, t.abstainVotes);
    }

    /// @notice True once `voter` has cast or committed a vote on the proposal.
    function hasVoted(uint256 proposalId, address voter) external view returns (bool) {
        return _receipts[proposalId][voter].status != _NONE;
    }

    /// @notice True once `voter`'s commitment on the proposal has been revealed.
    function hasRevealed(uint256 proposalId, address voter) external view returns (bool) {
        return _receipts[proposalId][voter].status == _REVEALED;
    }

    /// @notice Commitment of `voter` on the proposal (zero if none).
    function commitmentOf(uint256 proposalId, address voter) external view returns (bytes32) {
        return _receipts[proposalId][voter].commitment;
    }

    /// @notice Weight `voter` would have on the proposal now (0 if none); reverts before the snapshot.
    function getVotes(uint256 proposalId, address voter) external view returns (uint256) {
        Proposal storage p = _proposal(proposalId);
        if (p.voteStart >= clock()) revert SnapshotNotReached(proposalId, p.voteStart);
        return _weight(p, voter);
    }

    /// @notice Next nonce `voter` must sign for `proposalId`.
    function nonces(address voter, uint256 proposalId) external view returns (uint256) {
        return _nonces[voter][proposalId];
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

    function _castVote(uint256 proposalId, address voter, uint8 support) private returns (uint256 weight) {
        Proposal storage p = _activeProposal(proposalId, false);
        if (support > ABSTAIN) revert InvalidSupport(support);
        Receipt storage r = _receipts[proposalId][voter];
        weight = _checkNewVoter(p, r, proposalId, voter);
        r.status = _VOTED;
        r.weight = weight;
        _count(proposalId, support, weight);
        emit VoteCast(voter, proposalId, support, weight);
    }

    function _commitVote(uint256 proposalId, address voter, bytes32 commitment) private returns (uint256 weight) {
        Proposal storage p = _activeProposal(proposalId, true);
        if (commitment == bytes32(0)) revert EmptyCommitment();
        Receipt storage r = _receipts[proposalId][voter];
        weight = _checkNewVoter(p, r, proposalId, voter);
        r.status = _COMMITTED;
        r.commitment = commitment;
        r.weight = weight;
        emit VoteCommitted(voter, proposalId, commitment);
    }

    /// @dev The proposal must be Active and use (or not use) commit–reveal as the caller expects.
    function _activeProposal(uint256 proposalId, bool commitReveal) private view returns (Proposal storage p) {
        p = _proposal(proposalId);
        ProposalState current = state(proposalId);
        if (current != ProposalState.Active) revert UnexpectedProposalState(proposalId, current);
        if (p.commitReveal != commitReveal) revert WrongVotingMethod(proposalId, p.commitReveal);
    }

    /// @dev Rejects double votes and zero weights; returns the voter's weight at the snapshot.
    function _checkNewVoter(Proposal storage p, Receipt storage r, uint256 proposalId, address voter)
        private
        view
        returns (uint256 weight)
    {
        if (r.status != _NONE) revert AlreadyVoted(voter, proposalId);
        weight = _weight(p, voter);
        if (weight == 0) revert NoVotingWeight(voter, proposalId);
    }

    function _weight(Proposal storage p, address voter) private view returns (uint256) {
        uint48 snapshot = uint48(p.voteStart);
        if (p.mode == uint8(CountingMode.OneCitizenOneVote)) {
            return registry.isEligibleAt(voter, snapshot) ? 1 : 0;
        } else if (p.mode == uint8(CountingMode.TokenWeighted)) {
            return token.getPastVotes(voter, snapshot);
        }
        return reputation.getPastScore(voter, bytes32(p.areaId), snapshot);
    }

    function _count(uint256 proposalId, uint8 support, uint256 weight) private {
        Tally storage t = _tallies[proposalId];
        if (support == AGAINST) t.againstVotes += weight;
        else if (support == FOR) t.forVotes += weight;
        else t.abstainVotes += weight;
    }

    /// @dev Checks and consumes the (voter, proposal) nonce and verifies `voter`'s signature (EOA or ERC-1271).
    function _useSignedNonce(
        address voter,
        uint256 proposalId,
        uint256 nonce,
        bytes32 structHash,
        bytes calldata signature
    ) private {
        uint256 expected = _nonces[voter][proposalId];
        if (nonce != expected) revert InvalidNonce(voter, proposalId, expected);
        if (!SignatureChecker.isValidSignatureNow(voter, _hashTypedDataV4(structHash), signature)) {
            revert InvalidSignature(voter);
        }
        _nonces[voter][proposalId] = expected + 1;
    }

    function _checkProposer(address account, uint256 areaId) private view {
        if (areaId != 0) {
            if (!areas.areaExists(areaId)) revert UnknownArea(areaId);
            ICommoningAreas.Area memory area = areas.getArea(areaId);
            if (area.closedAt != 0) revert AreaClosed(areaId);
            if (area.managingPA == account) return;
        }
        if (!hasRole(PROPOSER_ROLE, account)) revert UnauthorizedProposer(account, areaId);
    }

    function _emitProposalCreated(uint256 proposalId, Proposal storage p, string calldata description) private {
        emit ProposalCreated(
            proposalId,
            p.proposer,
            p.areaId,
            p.mode,
            p.commitReveal,
            p.voteStart,
            p.voteEnd,
            p.revealEnd,
            quorumNumerator(),
            description
        );
    }

    function _proposal(uint256 proposalId) private view returns (Proposal storage p) {
        p = _proposals[proposalId];
        if (p.proposer == address(0)) revert UnknownProposal(proposalId);
    }

    function _setQuorumNumerator(uint256 newNumerator) private {
        if (newNumerator > QUORUM_DENOMINATOR) revert InvalidQuorumNumerator(newNumerator);
        uint256 oldNumerator = _quorumNumerators.latest();
        _quorumNumerators.push(clock(), SafeCast.toUint208(newNumerator));
        emit QuorumNumeratorUpdated(oldNumerator, newNumerator);
    }

    function _requireTimestampClock(address source, string memory mode) private pure {
        if (keccak256(bytes(mode)) != keccak256("mode=timestamp")) revert ClockModeMismatch(source);
    }
}
