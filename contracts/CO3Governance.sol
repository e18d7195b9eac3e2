// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
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
import {ICommonsToken} from "./interfaces/ICommonsToken.sol";
import {IReputation} from "./interfaces/IReputation.sol";
import {ILiquidDelegation} from "./interfaces/ILiquidDelegation.sol"; // liquid delegation (issue 11 §4)

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
 * Eligibility: in every counting mode the voter must be an eligible citizen: (re-)registered at or before the
 * snapshot and still a citizen when voting (`ICitizenRegistry.isEligibleAt`) and a member of the proposal's
 * electorate at the snapshot (`IElectorates.isEligibleVoterAt`). Revoked or expired citizens, citizens outside
 * the electorate, and accounts that are not citizens (e.g. someone who bought tokens), have no weight.
 *
 * Electorates (docs/electorates.md): `proposeFor` names one. An area proposal's electorate must belong to the
 * area's managing PA (that PA's citizens, or groups of that PA such as the area's residents); `propose` on an
 * area uses all citizens of the managing PA, so another PA's citizens can never decide an area by default.
 * Consortium-wide proposals may use any defined electorate; `propose`/`proposeWithActions` use 0 (everyone).
 *
 * Weights (read at the snapshot):
 * - one-citizen-one-vote: 1. No delegation.
 * - token-weighted: `getPastVotes(voter, snapshot)` of the ERC20Votes commons token. Delegation is the
 *   token's own `delegate` / `delegateBySig` and is one hop only: delegated power is not delegated further.
 * - reputation-weighted: the decayed score of the voter in the proposal's domain (`bytes32(areaId)`, i.e. the
 *   global domain for consortium-wide proposals) at the snapshot. Not delegable.
 *
 * Quorum: a percentage (numerator over 100) fixed into the proposal when it is created (the value reported in
 * `ProposalCreated` is the one that applies), so changing it later cannot revive or kill an existing proposal
 * (CVE-2022-31198). quorum = ceil(numerator × total / 100) where total is the past citizen count, token
 * supply minus the tokens held by services (which cannot vote), or domain reputation at `voteStart`. Over a
 * sub-electorate (electorate != 0) the quorum is a head count in every mode: For + Abstain voters must reach
 * ceil(numerator × electorate size / 100), because no total of token or reputation weight restricted to the
 * electorate's members can be read at the snapshot (weights still decide For against Against). For and
 * Abstain weights count towards quorum; a proposal
 * succeeds iff quorum is reached and For > Against (+ unrevealed weight, see commit–reveal). Decayed
 * reputation is read rounded to the nearest point, the total and each part on their own, so a domain total can
 * exceed the sum of its parts by rounding units (at most half a unit per part, see Reputation): the
 * reputation quorum is compared with a tolerance of one unit per counted voter plus total / 2^56 (see
 * `quorumReached`), so a unanimous vote always reaches a 100 % quorum.
 *
 * Commit–reveal withholding: a holder could commit For and Against from two addresses and reveal only the side
 * that wins. Here commitments are public (`VoteCommitted`, `unrevealedVotes`) and weight committed but not
 * revealed by `revealEnd` counts against the proposal: it succeeds only if For > Against + unrevealed. So
 * withholding can never help a proposal pass; it can only act as the Against vote the holder could have cast.
 * Honest voters (or anyone they gave their salt, e.g. their app through the API's reveal relay) must reveal.
 *
 * Actions and the timelock: a proposal may carry calls (targets, values, calldatas, OZ Governor's shape). Once
 * Succeeded anyone may `queue` it: the calls are scheduled in the consortium timelock (this contract holds its
 * PROPOSER_ROLE), and after the timelock's delay anyone may `execute` them (here or on the timelock directly).
 * A succeeded proposal with actions not queued within `QUEUE_GRACE_PERIOD` after its vote is Expired.
 * Only consortium-wide proposals (areaId 0) may carry actions: an area's electorate cannot change the suite.
 *
 * Guardian: GUARDIAN_ROLE (the PA council contract, an M-of-N of the member PAs) may cancel a proposal while
 * it is Pending, Active or Revealing, with a reason (`ProposalVetoed`), e.g. for an unlawful question. Nobody
 * else can cancel a proposal once its vote started; its proposer may withdraw it before the vote starts.
 *
 * Voting windows: `propose` enforces minimum and maximum voting delay (now → voteStart), voting period
 * (voteStart → voteEnd) and reveal period set by the admin (the consortium timelock, i.e. the council).
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
        Canceled,
        Queued,
        Expired,
        Executed
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

    /// @notice Quorum, actions and execution bookkeeping of a proposal (kept apart from `Proposal`, whose ABI
    /// the API and the audit read).
    struct ProposalExtras {
        uint16 quorumNumerator;
        bool queued;
        bytes32 actionsHash;
        bytes32 operationId;
        uint32 voters;
        uint32 supporters; // For + Abstain voters counted (the quorum head count over a sub-electorate)
    }

    /// @notice Counting mode and windows of a proposal with actions (see `propose` for their meaning).
    struct VotingWindow {
        uint8 mode;
        bool commitReveal;
        uint64 voteStart;
        uint64 voteEnd;
        uint64 revealEnd;
    }

    /// @notice Bounds on the voting windows `propose` accepts (seconds).
    struct VotingBounds {
        uint64 minVotingDelay;
        uint64 maxVotingDelay;
        uint64 minVotingPeriod;
        uint64 maxVotingPeriod;
    }

    /// @dev Per (proposal, voter) record. `weight` is fixed when the vote is cast or committed.
    struct Receipt {
        uint8 status;
        uint8 support; // open votes: the support cast (liquid delegation adds weight to it)
        bytes32 commitment;
        uint256 weight;
    }

    /// @notice May create consortium-wide proposals and proposals in any area (the consortium PAs).
    bytes32 public constant PROPOSER_ROLE = keccak256("PROPOSER_ROLE");
    /// @notice May submit votes and commitments signed by citizens (the API relayer).
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");
    /// @notice May cancel a proposal during its vote, with a reason (the PA council contract).
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @notice EIP-712 type of a signed open vote.
    bytes32 public constant BALLOT_TYPEHASH =
        keccak256("Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)");
    /// @notice EIP-712 type of a signed commitment.
    bytes32 public constant COMMITMENT_TYPEHASH =
        keccak256("Commitment(uint256 proposalId,bytes32 commitment,address voter,uint256 nonce)");
    /// @notice EIP-712 type of a signed cancellation of every pending signed vote of `voter` on a proposal.
    bytes32 public constant CANCEL_TYPEHASH = keccak256("CancelBallots(uint256 proposalId,address voter,uint256 nonce)");

    /// @notice A succeeded proposal with actions must be queued within this time after its vote, else Expired.
    uint256 public constant QUEUE_GRACE_PERIOD = 14 days;
    /// @notice Voting-window bounds in force from deployment until the admin changes them.
    uint64 public constant DEFAULT_MIN_VOTING_DELAY = 0;
    uint64 public constant DEFAULT_MAX_VOTING_DELAY = 30 days;
    uint64 public constant DEFAULT_MIN_VOTING_PERIOD = 1 hours;
    uint64 public constant DEFAULT_MAX_VOTING_PERIOD = 90 days;

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
    /// @notice Consortium timelock that executes the actions of succeeded proposals.
    TimelockController public immutable timelock;

    mapping(uint256 proposalId => Proposal) private _proposals;
    mapping(uint256 proposalId => Tally) private _tallies;
    mapping(uint256 proposalId => mapping(address voter => Receipt)) private _receipts;
    mapping(address voter => mapping(uint256 proposalId => uint256)) private _nonces;
    Checkpoints.Trace208 private _quorumNumerators;
    mapping(uint256 proposalId => ProposalExtras) private _extras;
    mapping(uint256 proposalId => uint256) private _unrevealed;
    VotingBounds private _bounds;
    mapping(uint256 proposalId => uint256) private _electorates;

    /// @notice A proposal was created. `quorumNumerator` is fixed into the proposal: it is the one that applies.
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
    /// @notice Only members of `electorate` (see IElectorates) may vote on the proposal.
    event ProposalElectorate(uint256 indexed proposalId, uint256 indexed electorate);
    /// @notice `voter` cast an open vote with `weight`.
    event VoteCast(address indexed voter, uint256 indexed proposalId, uint8 support, uint256 weight);
    /// @notice `voter` committed to a hidden vote.
    event VoteCommitted(address indexed voter, uint256 indexed proposalId, bytes32 commitment);
    /// @notice The committed vote of `voter` was revealed and counted with `weight`.
    event VoteRevealed(address indexed voter, uint256 indexed proposalId, uint8 support, uint256 weight);
    /// @notice The proposal was canceled (by its proposer before the vote, or by the guardian, see `ProposalVetoed`).
    event ProposalCanceled(uint256 indexed proposalId);
    /// @notice The quorum numerator changed; it applies to proposals created from now on.
    event QuorumNumeratorUpdated(uint256 oldNumerator, uint256 newNumerator);
    /// @notice The proposal carries these calls, executed through the timelock if it succeeds.
    event ProposalActions(uint256 indexed proposalId, address[] targets, uint256[] values, bytes[] calldatas);
    /// @notice The guardian canceled the proposal during its vote, for `reason`.
    event ProposalVetoed(uint256 indexed proposalId, address indexed guardian, string reason);
    /// @notice The proposal's actions were scheduled in the timelock as `operationId`, executable from `eta`.
    event ProposalQueued(uint256 indexed proposalId, bytes32 indexed operationId, uint256 eta);
    /// @notice The proposal's actions were executed through the timelock.
    event ProposalExecuted(uint256 indexed proposalId, bytes32 indexed operationId);
    /// @notice The admin changed the voting-window bounds.
    event VotingBoundsUpdated(
        uint64 minVotingDelay, uint64 maxVotingDelay, uint64 minVotingPeriod, uint64 maxVotingPeriod
    );
    /// @notice `voter` cancelled its pending signed votes on the proposal (nonce `nonce` is used up).
    event SignedVotesCancelled(address indexed voter, uint256 indexed proposalId, uint256 nonce);

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
    /// @notice The voting delay (voteStart − now), period or reveal period is outside the bounds in force.
    error VotingWindowOutOfBounds(uint64 delay, uint64 period, uint64 revealPeriod);
    /// @notice Voting-window bounds must satisfy min ≤ max and a positive minimum period.
    error InvalidVotingBounds();
    /// @notice Actions are malformed (empty, or arrays of different lengths) or do not match the proposal.
    error InvalidActions(uint256 proposalId);
    /// @notice Only consortium-wide proposals (areaId 0) may carry actions.
    error ActionsNeedConsortiumProposal(uint256 areaId);
    /// @notice The electorate is undefined or, for an area proposal, not one of the area's managing PA.
    error ElectorateNotAllowed(uint256 areaId, uint256 electorate);

    /**
     * @param admin Consortium admin (DEFAULT_ADMIN_ROLE, the timelock after deploy): roles, quorum, bounds.
     * @param registry_ Citizen registry.
     * @param token_ Commons token (ERC20Votes with the timestamp clock).
     * @param reputation_ Reputation contract.
     * @param areas_ Commoning-area registry.
     * @param timelock_ Consortium timelock that executes proposals' actions (grants this contract PROPOSER_ROLE).
     */
    constructor(
        address admin,
        ICitizenRegistry registry_,
        IERC5805 token_,
        IReputation reputation_,
        ICommoningAreas areas_,
        TimelockController timelock_
    ) EIP712("CO3 Governance", "1") {
        if (
            admin == address(0) || address(registry_) == address(0) || address(token_) == address(0)
                || address(reputation_) == address(0) || address(areas_) == address(0)
                || address(timelock_) == address(0)
        ) revert ZeroAddress();
        _requireTimestampClock(address(registry_), registry_.CLOCK_MODE());
        _requireTimestampClock(address(token_), token_.CLOCK_MODE());
        _requireTimestampClock(address(reputation_), reputation_.CLOCK_MODE());
        registry = registry_;
        token = token_;
        reputation = reputation_;
        areas = areas_;
        timelock = timelock_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setQuorumNumerator(INITIAL_QUORUM_NUMERATOR);
        _setVotingBounds(
            VotingBounds(
                DEFAULT_MIN_VOTING_DELAY, DEFAULT_MAX_VOTING_DELAY, DEFAULT_MIN_VOTING_PERIOD, DEFAULT_MAX_VOTING_PERIOD
            )
        );
    }

    // ------------------------------------------------------------------ proposals

    /**
     * @notice Create a proposal. Consortium-wide (`areaId` 0) proposals need PROPOSER_ROLE; area proposals are
     * made by the area's managing PA or a PROPOSER_ROLE holder. The id binds the proposer, so nobody can
     * front-run a proposal under the same id. Electorate: the managing PA's citizens for an area proposal
     * (reverts `ElectorateNotAllowed` if the manager is bound to no PA), everyone for a consortium-wide one.
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
        VotingWindow memory w = VotingWindow(mode, commitReveal, voteStart, voteEnd, revealEnd);
        uint256 electorate = _defaultElectorate(areaId, _checkNewProposal(areaId, w));
        proposalId = _hashProposal(msg.sender, areaId, w, keccak256(bytes(description)));
        _store(proposalId, areaId, w, bytes32(0), description, electorate);
    }

    /**
     * @notice Create a proposal voted by `electorate` (see IElectorates): for an area proposal an electorate of
     * the area's managing PA, for a consortium-wide one any defined electorate. Same proposer and window rules
     * as `propose`; empty arrays mean no actions, and only consortium-wide proposals may carry actions.
     * @return proposalId `hashProposalFor(hashProposal(msg.sender, areaId, ...), actionsHash or 0, electorate)`.
     */
    function proposeFor(
        uint256 areaId,
        uint256 electorate,
        VotingWindow calldata w,
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas,
        string calldata description
    ) external returns (uint256 proposalId) {
        _checkElectorate(areaId, _checkNewProposal(areaId, w), electorate);
        bytes32 actionsHash;
        if (targets.length + values.length + calldatas.length != 0) actionsHash = hashActions(targets, values, calldatas);
        if (actionsHash != bytes32(0) && areaId != 0) revert ActionsNeedConsortiumProposal(areaId);
        proposalId = _createFor(areaId, electorate, w, actionsHash, description);
        if (actionsHash != bytes32(0)) emit ProposalActions(proposalId, targets, values, calldatas);
    }

    function _createFor(
        uint256 areaId,
        uint256 electorate,
        VotingWindow calldata w,
        bytes32 actionsHash,
        string calldata description
    ) private returns (uint256 proposalId) {
        uint256 baseId = _hashProposal(msg.sender, areaId, w, keccak256(bytes(description)));
        proposalId = hashProposalFor(baseId, actionsHash, electorate);
        _store(proposalId, areaId, w, actionsHash, description, electorate);
    }

    /// @notice The id `proposeFor` gives (`actionsHash` 0 when the proposal carries no actions).
    function hashProposalFor(uint256 baseId, bytes32 actionsHash, uint256 electorate) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(baseId, actionsHash, electorate)));
    }

    /// @notice The electorate voting on the proposal (0: the whole consortium).
    function proposalElectorate(uint256 proposalId) external view returns (uint256) {
        _proposal(proposalId);
        return _electorates[proposalId];
    }

    /**
     * @notice Create a consortium-wide proposal carrying calls that the timelock makes if it succeeds.
     * Same rules as `propose` (PROPOSER_ROLE, windows within bounds); `areaId` is always 0.
     * @return proposalId `hashProposalWithActions(hashProposal(msg.sender, 0, ...), hashActions(...))`.
     */
    function proposeWithActions(
        VotingWindow calldata w,
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas,
        string calldata description
    ) external returns (uint256 proposalId) {
        _checkNewProposal(0, w);
        bytes32 actionsHash = hashActions(targets, values, calldatas);
        proposalId = _withActions(_hashProposal(msg.sender, 0, w, keccak256(bytes(description))), actionsHash);
        _store(proposalId, 0, w, actionsHash, description, 0);
        emit ProposalActions(proposalId, targets, values, calldatas);
    }

    /// @notice Cancel a proposal that has not started (`now <= voteStart`). Its proposer only.
    function cancel(uint256 proposalId) external {
        Proposal storage p = _proposal(proposalId);
        if (msg.sender != p.proposer) revert UnauthorizedCanceler(msg.sender, proposalId);
        ProposalState current = state(proposalId);
        if (current != ProposalState.Pending) revert UnexpectedProposalState(proposalId, current);
        p.canceled = true;
        emit ProposalCanceled(proposalId);
    }

    /**
     * @notice Guardian veto: cancel a proposal while it is Pending, Active or Revealing, stating why.
     * GUARDIAN_ROLE only (the PA council contract, after an M-of-N motion of the member PAs).
     */
    function guardianCancel(uint256 proposalId, string calldata reason) external onlyRole(GUARDIAN_ROLE) {
        Proposal storage p = _proposal(proposalId);
        ProposalState current = state(proposalId);
        if (
            current != ProposalState.Pending && current != ProposalState.Active
                && current != ProposalState.Revealing
        ) revert UnexpectedProposalState(proposalId, current);
        p.canceled = true;
        emit ProposalVetoed(proposalId, msg.sender, reason);
        emit ProposalCanceled(proposalId);
    }

    /**
     * @notice Schedule the actions of a Succeeded proposal in the timelock (anyone may call). They become
     * executable after the timelock's minimum delay.
     */
    function queue(
        uint256 proposalId,
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas
    ) external returns (bytes32 operationId) {
        ProposalState current = state(proposalId);
        if (current != ProposalState.Succeeded) revert UnexpectedProposalState(proposalId, current);
        ProposalExtras storage x = _extras[proposalId];
        if (x.actionsHash == bytes32(0) || hashActions(targets, values, calldatas) != x.actionsHash) {
            revert InvalidActions(proposalId);
        }
        bytes32 salt = bytes32(proposalId);
        operationId = timelock.hashOperationBatch(targets, values, calldatas, bytes32(0), salt);
        x.queued = true;
        x.operationId = operationId;
        uint256 delay = timelock.getMinDelay();
        emit ProposalQueued(proposalId, operationId, block.timestamp + delay);
        timelock.scheduleBatch(targets, values, calldatas, bytes32(0), salt, delay);
    }

    /// @notice Execute the queued actions of a proposal once the timelock's delay has passed (anyone may call).
    function execute(
        uint256 proposalId,
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas
    ) external payable {
        ProposalState current = state(proposalId);
        if (current != ProposalState.Queued) revert UnexpectedProposalState(proposalId, current);
        if (hashActions(targets, values, calldatas) != _extras[proposalId].actionsHash) {
            revert InvalidActions(proposalId);
        }
        emit ProposalExecuted(proposalId, _extras[proposalId].operationId);
        bytes memory call = abi.encodeCall(
            TimelockController.executeBatch, (targets, values, calldatas, bytes32(0), bytes32(proposalId))
        );
        _callTimelock(call);
    }

    /// @dev Calls the timelock with `msg.value`, bubbling up its revert data.
    function _callTimelock(bytes memory call) private {
        (bool ok, bytes memory ret) = address(timelock).call{value: msg.value}(call);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    /// @notice Hash binding a proposal's calls (part of its id).
    function hashActions(address[] calldata targets, uint256[] calldata values, bytes[] calldata calldatas)
        public
        pure
        returns (bytes32)
    {
        if (targets.length == 0 || targets.length != values.length || targets.length != calldatas.length) {
            revert InvalidActions(0);
        }
        return keccak256(abi.encode(targets, values, calldatas));
    }

    /**
     * @notice The id `proposeWithActions` gives: `baseId` is `hashProposal(proposer, 0, ...)` of the same
     * parameters and `actionsHash` is `hashActions(targets, values, calldatas)`.
     */
    function hashProposalWithActions(uint256 baseId, bytes32 actionsHash) external pure returns (uint256) {
        return _withActions(baseId, actionsHash);
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
        return _hashProposal(
            proposer, areaId, VotingWindow(mode, commitReveal, voteStart, voteEnd, revealEnd), keccak256(bytes(description))
        );
    }

    function _hashProposal(address proposer, uint256 areaId, VotingWindow memory w, bytes32 descriptionHash)
        private
        pure
        returns (uint256)
    {
        return uint256(
            keccak256(
                abi.encode(proposer, areaId, w.mode, w.commitReveal, w.voteStart, w.voteEnd, w.revealEnd, descriptionHash)
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

    /// @notice Use up the caller's current nonce on `proposalId`: every vote or commitment it signed for that
    /// proposal and not yet submitted becomes invalid.
    function cancelSignedVotes(uint256 proposalId) external {
        _proposal(proposalId);
        uint256 nonce = _nonces[msg.sender][proposalId];
        _nonces[msg.sender][proposalId] = nonce + 1;
        emit SignedVotesCancelled(msg.sender, proposalId, nonce);
    }

    /**
     * @notice Same as `cancelSignedVotes` from `voter`'s EIP-712 `CancelBallots` signature, so a citizen without
     * gas can retract ballots it signed (e.g. two conflicting ones). Anyone may submit it.
     */
    function cancelSignedVotesBySig(uint256 proposalId, address voter, uint256 nonce, bytes calldata signature)
        external
    {
        _proposal(proposalId);
        bytes32 structHash = keccak256(abi.encode(CANCEL_TYPEHASH, proposalId, voter, nonce));
        _useSignedNonce(voter, proposalId, nonce, structHash, signature);
        emit SignedVotesCancelled(voter, proposalId, nonce);
    }

    // ------------------------------------------------------------------ liquid delegation hooks (issue 11 §4)
    // The rule and its bookkeeping live in LiquidDelegation (docs/delegation.md); governance only lets the bound
    // contract add or remove weight on open votes while the proposal is Active, and tells it of direct votes.

    /// @notice The liquid-delegation contract (zero until the admin binds it, once).
    ILiquidDelegation public delegation;

    /// @notice The admin bound the liquid-delegation contract (it cannot be changed: counts in flight rely on it).
    event DelegationBound(address delegation);
    /// @notice Not the bound delegation contract, or a contract that cannot be bound (already bound, other governance).
    error InvalidDelegation(address delegation);
    /// @notice Delegated weight goes only to a citizen who cast an open vote on the proposal.
    error NotOpenVoter(address voter, uint256 proposalId);

    /// @notice Bind the liquid-delegation contract, once. Admin only (the consortium timelock after deploy).
    function bindDelegation(ILiquidDelegation delegation_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(delegation) != address(0) || delegation_.governance() != address(this)) {
            revert InvalidDelegation(address(delegation_));
        }
        delegation = delegation_;
        emit DelegationBound(address(delegation_));
    }

    /**
     * @notice Add delegated weight to (or, with wrapped "negative" deltas, take it from) the open vote of `voter`
     * on an Active proposal: `weightDelta` on the side it voted for, `headsDelta` delegators on the head counts
     * (`voters`; `supporters` unless it voted Against). Deltas are added modulo 2^256 / 2^32 so one code path
     * serves both directions: the bound delegation contract passes `0 - x` to subtract `x` it added before, and
     * is the only caller (it emits `DelegatedWeightCounted` / `DelegatedWeightMoved` for each change).
     */
    function shiftDelegatedWeight(uint256 proposalId, address voter, uint256 weightDelta, uint32 headsDelta) external {
        if (msg.sender != address(delegation)) revert InvalidDelegation(msg.sender);
        _activeProposal(proposalId, false);
        Receipt storage r = _receipts[proposalId][voter];
        if (r.status != _VOTED) revert NotOpenVoter(voter, proposalId);
        ProposalExtras storage x = _extras[proposalId];
        Tally storage t = _tallies[proposalId];
        uint8 support = r.support;
        assembly ("memory-safe") {
            // Tally's three uint256 fields are in support order (against, for, abstain): the side's slot.
            let side := add(t.slot, support)
            sstore(side, add(sload(side), weightDelta)) // modulo 2^256, see above
        }
        unchecked {
            x.voters += headsDelta;
            if (support != AGAINST) x.supporters += headsDelta;
        }
    }
    // ------------------------------------------------------------------ end of liquid delegation hooks

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
        _unrevealed[proposalId] -= weight;
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

    /// @notice Set the quorum numerator (percent) for proposals created from now on. Admin only.
    function setQuorumNumerator(uint256 newNumerator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setQuorumNumerator(newNumerator);
    }

    /**
     * @notice Set the bounds `propose` enforces on voting delay (voteStart − now), voting period
     * (voteEnd − voteStart) and reveal period (revealEnd − voteEnd, same bounds as the voting period).
     * Admin only (the consortium timelock: a council motion that waited the delay).
     */
    function setVotingBounds(VotingBounds calldata bounds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setVotingBounds(bounds);
    }

    /// @notice Voting-window bounds in force.
    function votingBounds() external view returns (VotingBounds memory) {
        return _bounds;
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
     * @notice Weight of For + Abstain votes the proposal needs: ceil(numerator × total / 100), with the
     * numerator fixed at creation and the total read at `voteStart`. Reverts until the snapshot is in the past.
     */
    function quorum(uint256 proposalId) public view returns (uint256) {
        Proposal storage p = _proposal(proposalId);
        return Math.mulDiv(
            _extras[proposalId].quorumNumerator, _quorumBase(proposalId, p), QUORUM_DENOMINATOR, Math.Rounding.Ceil
        );
    }

    /**
     * @notice Whether counted For + Abstain weight reaches the quorum. For reputation-weighted proposals the
     * comparison tolerates the rounding of decayed reputation: one unit per counted voter plus total / 2^56
     * (a relative 1.4e-17), so a unanimous vote reaches a 100 % quorum although the rounded parts may sum to
     * slightly less than the rounded total.
     */
    function quorumReached(uint256 proposalId) public view returns (bool) {
        Proposal storage p = _proposal(proposalId);
        Tally storage t = _tallies[proposalId];
        uint256 needed = quorum(proposalId);
        uint256 counted = t.forVotes + t.abstainVotes;
        if (_electorates[proposalId] != 0) {
            counted = _extras[proposalId].supporters;
        } else if (p.mode == uint8(CountingMode.ReputationWeighted)) {
            counted += _extras[proposalId].voters + (_quorumBase(proposalId, p) >> 56);
        }
        return counted >= needed;
    }

    /// @notice Quorum numerator (percent) fixed into the proposal at creation.
    function proposalQuorumNumerator(uint256 proposalId) external view returns (uint256) {
        _proposal(proposalId);
        return _extras[proposalId].quorumNumerator;
    }

    // ------------------------------------------------------------------ views

    /**
     * @notice Lifecycle state of a proposal. After the vote: Defeated, or Succeeded; a succeeded proposal with
     * actions then becomes Queued (scheduled in the timelock), Executed (the timelock ran its calls), Expired
     * (not queued within `QUEUE_GRACE_PERIOD`) or Canceled (its timelock operation was cancelled).
     */
    function state(uint256 proposalId) public view returns (ProposalState) {
        Proposal storage p = _proposal(proposalId);
        if (p.canceled) return ProposalState.Canceled;
        uint256 now_ = block.timestamp;
        if (now_ <= p.voteStart) return ProposalState.Pending;
        if (now_ <= p.voteEnd) return ProposalState.Active;
        if (p.commitReveal && now_ <= p.revealEnd) return ProposalState.Revealing;
        Tally storage t = _tallies[proposalId];
        if (!quorumReached(proposalId) || t.forVotes <= t.againstVotes + _unrevealed[proposalId]) {
            return ProposalState.Defeated;
        }
        ProposalExtras storage x = _extras[proposalId];
        if (x.actionsHash == bytes32(0)) return ProposalState.Succeeded;
        if (x.queued) {
            if (timelock.isOperationDone(x.operationId)) return ProposalState.Executed;
            if (timelock.isOperation(x.operationId)) return ProposalState.Queued;
            return ProposalState.Canceled;
        }
        uint256 closed = p.commitReveal ? p.revealEnd : p.voteEnd;
        return now_ > closed + QUEUE_GRACE_PERIOD ? ProposalState.Expired : ProposalState.Succeeded;
    }

    /// @notice Hash of the proposal's actions (zero for a signal-only proposal) and its timelock operation id.
    function proposalActions(uint256 proposalId) external view returns (bytes32 actionsHash, bytes32 operationId) {
        _proposal(proposalId);
        ProposalExtras storage x = _extras[proposalId];
        return (x.actionsHash, x.operationId);
    }

    /// @notice Weight committed on a commit–reveal proposal and not (yet) revealed; it counts against it.
    function unrevealedVotes(uint256 proposalId) external view returns (uint256) {
        _proposal(proposalId);
        return _unrevealed[proposalId];
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
        return _weight(proposalId, p, voter);
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
        r.support = support;
        r.weight = weight;
        _extras[proposalId].voters += 1;
        _count(proposalId, support, weight);
        emit VoteCast(voter, proposalId, support, weight);
        if (address(delegation) != address(0)) delegation.onDirectVote(proposalId, voter); // liquid delegation
    }

    function _commitVote(uint256 proposalId, address voter, bytes32 commitment) private returns (uint256 weight) {
        Proposal storage p = _activeProposal(proposalId, true);
        if (commitment == bytes32(0)) revert EmptyCommitment();
        Receipt storage r = _receipts[proposalId][voter];
        weight = _checkNewVoter(p, r, proposalId, voter);
        r.status = _COMMITTED;
        r.commitment = commitment;
        r.weight = weight;
        _unrevealed[proposalId] += weight;
        _extras[proposalId].voters += 1;
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
        weight = _weight(proposalId, p, voter);
        if (weight == 0) revert NoVotingWeight(voter, proposalId);
    }

    /// @dev Every counting mode requires an eligible member of the electorate at the snapshot (no weight otherwise).
    function _weight(uint256 proposalId, Proposal storage p, address voter) private view returns (uint256) {
        uint48 snapshot = uint48(p.voteStart);
        if (!registry.isEligibleVoterAt(voter, _electorates[proposalId], snapshot)) return 0;
        if (p.mode == uint8(CountingMode.OneCitizenOneVote)) {
            return 1;
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
        if (support != AGAINST) _extras[proposalId].supporters += 1;
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

    function _checkProposer(address account, uint256 areaId) private view returns (address manager) {
        if (areaId != 0) {
            if (!areas.areaExists(areaId)) revert UnknownArea(areaId);
            ICommoningAreas.Area memory area = areas.getArea(areaId);
            if (area.closedAt != 0) revert AreaClosed(areaId);
            manager = area.managingPA;
            if (manager == account) return manager;
        }
        if (!hasRole(PROPOSER_ROLE, account)) revert UnauthorizedProposer(account, areaId);
    }

    /// @dev Mode, windows (also against the bounds in force) and proposer rights of a new proposal; returns the
    /// area's managing PA (zero for a consortium-wide proposal).
    function _checkNewProposal(uint256 areaId, VotingWindow memory w) private view returns (address) {
        if (w.mode > uint8(type(CountingMode).max)) revert InvalidCountingMode(w.mode);
        if (
            w.voteStart < block.timestamp || w.voteEnd <= w.voteStart || w.voteEnd > type(uint48).max
                || (w.commitReveal ? w.revealEnd <= w.voteEnd || w.revealEnd > type(uint48).max : w.revealEnd != 0)
        ) revert InvalidVotingWindow(w.voteStart, w.voteEnd, w.revealEnd);
        VotingBounds memory b = _bounds;
        uint64 delay = w.voteStart - uint64(block.timestamp);
        uint64 period = w.voteEnd - w.voteStart;
        uint64 revealPeriod = w.commitReveal ? w.revealEnd - w.voteEnd : 0;
        if (
            delay < b.minVotingDelay || delay > b.maxVotingDelay || period < b.minVotingPeriod
                || period > b.maxVotingPeriod
                || (w.commitReveal && (revealPeriod < b.minVotingPeriod || revealPeriod > b.maxVotingPeriod))
        ) revert VotingWindowOutOfBounds(delay, period, revealPeriod);
        return _checkProposer(msg.sender, areaId);
    }

    /// @dev An area proposal needs an electorate of the area's managing PA; a consortium-wide one a defined one.
    function _checkElectorate(uint256 areaId, address manager, uint256 electorate) private view returns (uint256) {
        if (areaId == 0 ? !registry.electorateExists(electorate) : _foreign(manager, electorate)) {
            revert ElectorateNotAllowed(areaId, electorate);
        }
        return electorate;
    }

    /// @dev All citizens of the managing PA for an area proposal, everyone for a consortium-wide one.
    function _defaultElectorate(uint256 areaId, address manager) private view returns (uint256) {
        return _checkElectorate(areaId, manager, areaId == 0 ? 0 : registry.defaultElectorateOf(manager));
    }

    function _foreign(address manager, uint256 electorate) private view returns (bool) {
        uint256 pa = registry.paOf(manager);
        return pa == 0 || registry.electoratePa(electorate) != pa;
    }

    /// @dev Stores a new proposal with the quorum numerator in force now and emits `ProposalCreated`.
    function _store(
        uint256 proposalId,
        uint256 areaId,
        VotingWindow memory w,
        bytes32 actionsHash,
        string calldata description,
        uint256 electorate
    ) private {
        if (_proposals[proposalId].proposer != address(0)) revert ProposalExists(proposalId);
        _proposals[proposalId] = Proposal({
            proposer: msg.sender,
            voteStart: w.voteStart,
            voteEnd: w.voteEnd,
            revealEnd: w.revealEnd,
            mode: w.mode,
            commitReveal: w.commitReveal,
            canceled: false,
            areaId: areaId
        });
        _extras[proposalId] = ProposalExtras({
            quorumNumerator: uint16(quorumNumerator()),
            queued: false,
            actionsHash: actionsHash,
            operationId: bytes32(0),
            voters: 0,
            supporters: 0
        });
        _electorates[proposalId] = electorate;
        _emitProposalCreated(proposalId, _proposals[proposalId], description);
        emit ProposalElectorate(proposalId, electorate);
    }

    function _withActions(uint256 baseId, bytes32 actionsHash) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(baseId, actionsHash)));
    }

    /// @dev Electorate size (one-citizen-one-vote or any sub-electorate), token supply or domain reputation at
    /// the snapshot.
    function _quorumBase(uint256 proposalId, Proposal storage p) private view returns (uint256) {
        uint48 snapshot = uint48(p.voteStart);
        if (snapshot >= clock()) revert SnapshotNotReached(proposalId, p.voteStart);
        uint256 electorate = _electorates[proposalId];
        if (electorate != 0 || p.mode == uint8(CountingMode.OneCitizenOneVote)) {
            // Excludes citizens expired at the snapshot.
            return registry.getPastElectorateSize(electorate, snapshot);
        } else if (p.mode == uint8(CountingMode.TokenWeighted)) {
            // Tokens held by services cannot vote: they are not part of the base.
            return token.getPastTotalSupply(snapshot) - ICommonsToken(address(token)).getPastServiceSupply(snapshot);
        }
        return reputation.getPastTotalScore(bytes32(p.areaId), snapshot);
    }

    function _setVotingBounds(VotingBounds memory b) private {
        if (
            b.minVotingDelay > b.maxVotingDelay || b.minVotingPeriod == 0 || b.minVotingPeriod > b.maxVotingPeriod
                || b.maxVotingPeriod > type(uint48).max || b.maxVotingDelay > type(uint48).max
        ) revert InvalidVotingBounds();
        _bounds = b;
        emit VotingBoundsUpdated(b.minVotingDelay, b.maxVotingDelay, b.minVotingPeriod, b.maxVotingPeriod);
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
            _extras[proposalId].quorumNumerator,
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
