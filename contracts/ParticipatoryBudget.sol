// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {ICommoningAreas} from "./interfaces/ICommoningAreas.sol";
import {ICommonsTreasury} from "./interfaces/ICommonsTreasury.sol";

/**
 * @title ParticipatoryBudget
 * @notice Participatory budgeting rounds paid from a CommonsTreasury area budget.
 *
 * A PA officer (PROPOSER_ROLE) opens a round: an area (one it manages in CommoningAreas, or 0 for the
 * consortium-wide budget, so one PA cannot spend another PA's area budget), a budget, a vote window (at
 * least `minVotingPeriod`, fixed at deploy) and 1..MAX_PROJECTS projects, each with a cost and a payee.
 * Opening reserves the whole budget in the treasury, so the outcome can always be paid. The round's
 * snapshot is its creation time.
 *
 * Ballots (one per citizen per round, final): a bitmask of approved projects (bit i = project i).
 * - APPROVAL rounds: approve any non-empty subset, at most `maxChoices` projects when it is not 0.
 * - KNAPSACK rounds ("fill the budget", as Decidim and CONSUL run it): the approved projects' costs must
 *   sum to at most the budget.
 * Eligibility at the snapshot, from the registry's stored record: registered at or before the snapshot
 * (`registeredAt`, which a re-registration after revocation resets), not expired at the snapshot
 * (`expiresAt >= snapshot`) and not revoked now (the registry keeps no revocation time, so a revocation
 * always excludes: the conservative reading). A renewal keeps `registeredAt`, so a citizen whose record was
 * renewed after the snapshot stays eligible, as the registration was continuous.
 * Electorate (docs/electorates.md): a round is voted by one electorate (IElectorates), fixed at opening. An
 * area round's electorate must belong to the area's managing PA (`createRound` uses all of that PA's
 * citizens; `createRoundFor` may name e.g. the area's residents group); a consortium round (area 0) may use any
 * defined electorate (`createRound`: everyone). Within a sub-electorate a voter must also be a member at the
 * snapshot and still a citizen when voting (`isEligibleVoterAt`); `electorateSize` is the turnout base.
 * Ballots are cast directly or by an EIP-712 `BudgetBallot` signature relayed by a RELAYER_ROLE holder
 * (domain: name "CO3 ParticipatoryBudget", version "1", chain id, this contract; nonce per (voter, round)).
 *
 * Outcome rule (anyone calls `finalize` after the window; computed here, recomputable from events):
 *   1. rank projects by approvals, descending; ties by lower project index first;
 *   2. walk the ranking with `remaining = budget`: a project with zero approvals is never funded; a
 *      project with cost <= remaining is funded (remaining -= cost); a project that does not fit is
 *      skipped and the walk continues with the next one (so cheaper, less approved projects can still
 *      use the leftover);
 *   3. the unspent remainder is released back to the area budget.
 * The same rule is implemented in co3chain/budget/rule.py and checked against this contract.
 *
 * Payment (two tranches, to the project's payee): when the round's managing PA marks a funded project
 * in progress (with an evidence hash) the first tranche, floor(cost / 2), is paid; when it marks it
 * delivered (with an evidence hash) the rest is paid. DEFAULT_ADMIN_ROLE (the executor) may cancel a
 * funded or in-progress project; its unpaid part returns to the area budget, and may cancel a whole round
 * before its outcome (`cancelRound`). A vote starts at most MAX_START_DELAY after the round is opened, so no
 * officer can keep an area budget reserved indefinitely.
 */
contract ParticipatoryBudget is AccessControl, EIP712 {
    /// @notice Role of the PA officers who open rounds and manage their projects.
    bytes32 public constant PROPOSER_ROLE = keccak256("PROPOSER_ROLE");
    /// @notice Role of the relayers (the API) submitting signed ballots.
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");

    /// @notice EIP-712 type of a signed ballot.
    bytes32 public constant BALLOT_TYPEHASH =
        keccak256("BudgetBallot(uint256 roundId,uint256 selection,address voter,uint256 nonce)");

    /// @notice Most projects a round may list: bounds every loop of this contract.
    uint256 public constant MAX_PROJECTS = 32;
    /// @notice Floor of the configurable shortest vote window (development networks use minutes).
    uint64 public constant MIN_VOTING_PERIOD_FLOOR = 1 minutes;
    /// @notice Shortest vote window, fixed at deploy (1 day by default in `co3chain budget deploy`).
    uint64 public immutable minVotingPeriod;
    /// @notice Longest vote window.
    uint64 public constant MAX_VOTING_PERIOD = 90 days;
    /// @notice Latest a vote may start after the round is opened: bounds how long a budget stays reserved.
    uint64 public constant MAX_START_DELAY = 60 days;

    /// @notice Ballot kinds.
    enum BallotKind {
        Approval,
        Knapsack
    }

    /// @notice Life cycle of a listed project.
    enum ProjectState {
        Proposed,
        NotFunded,
        Funded,
        InProgress,
        Delivered,
        Cancelled
    }

    /// @notice A project as listed when the round is opened.
    struct ProjectInput {
        uint256 cost;
        address payee;
        bytes32 detailsHash;
    }

    /// @notice A round of participatory budgeting.
    struct Round {
        uint256 areaId;
        uint256 budget;
        uint256 spent;
        address manager;
        uint48 snapshot;
        uint64 voteStart;
        uint64 voteEnd;
        BallotKind kind;
        uint8 maxChoices;
        uint8 projectCount;
        bool finalized;
        bool cancelled;
        uint32 ballots;
        bytes32 metadataHash;
    }

    /// @notice Parameters of a round opened by `createRoundFor` (the arguments of `createRound`).
    struct RoundSpec {
        uint256 areaId;
        uint256 budget;
        uint64 voteStart;
        uint64 voteEnd;
        BallotKind kind;
        uint8 maxChoices;
        bytes32 metadataHash;
    }

    /// @notice A listed project and its tally, allocation and payments.
    struct Project {
        uint256 cost;
        address payee;
        ProjectState state;
        uint32 approvals;
        uint256 paid;
        bytes32 detailsHash;
    }

    ICitizenRegistry public immutable registry;
    ICommoningAreas public immutable areas;
    ICommonsTreasury public immutable treasury;

    uint256 private _roundCount;
    mapping(uint256 roundId => Round) private _rounds;
    mapping(uint256 roundId => mapping(uint256 index => Project)) private _projects;
    mapping(uint256 roundId => mapping(address voter => bool)) private _voted;
    mapping(address voter => mapping(uint256 roundId => uint256)) private _nonces;
    mapping(uint256 roundId => uint256) private _electorates;

    /// @notice A round was opened.
    event RoundCreated(
        uint256 indexed roundId,
        uint256 indexed areaId,
        address indexed manager,
        uint256 budget,
        uint48 snapshot,
        uint64 voteStart,
        uint64 voteEnd,
        BallotKind kind,
        uint8 maxChoices,
        bytes32 metadataHash
    );
    /// @notice Only members of `electorate` (IElectorates) may vote in the round.
    event RoundElectorate(uint256 indexed roundId, uint256 indexed electorate);
    /// @notice Project `index` of `roundId` was listed.
    event ProjectListed(uint256 indexed roundId, uint256 indexed index, uint256 cost, address payee, bytes32 detailsHash);
    /// @notice `voter` approved the projects of `selection` (bit i = project i).
    event BudgetBallotCast(uint256 indexed roundId, address indexed voter, uint256 selection, bool bySignature);
    /// @notice The round's outcome was computed: `fundedMask` (bit i = project i funded), `spent` allocated.
    event RoundFinalized(uint256 indexed roundId, uint256 fundedMask, uint256 spent, uint256 released);
    /// @notice The executor cancelled `roundId` before its outcome; the reserved budget went back to the area.
    event RoundCancelled(uint256 indexed roundId, bytes32 reasonHash);
    /// @notice Project `index` changed state; `evidenceHash` documents it; `payment` was paid to its payee.
    event ProjectStateChanged(
        uint256 indexed roundId, uint256 indexed index, ProjectState state, bytes32 evidenceHash, uint256 payment
    );

    error ZeroAddress();
    error UnknownRound(uint256 roundId);
    error UnknownProject(uint256 roundId, uint256 index);
    error InvalidProjectCount(uint256 count);
    error InvalidProject(uint256 index);
    error InvalidBudget();
    error InvalidWindow(uint64 voteStart, uint64 voteEnd);
    error InvalidMaxChoices(uint8 maxChoices, uint256 projectCount);
    error VotingClosed(uint256 roundId);
    error VotingNotOver(uint256 roundId);
    error NotEligible(address voter, uint256 roundId);
    error AlreadyVoted(address voter, uint256 roundId);
    error InvalidSelection(uint256 selection);
    error TooManyChoices(uint256 chosen, uint8 maxChoices);
    error OverBudget(uint256 cost, uint256 budget);
    error InvalidNonce(address voter, uint256 roundId, uint256 expected);
    error InvalidSignature(address voter);
    error AlreadyFinalized(uint256 roundId);
    error NotManager(address account, uint256 roundId);
    error NotAreaManager(address account, uint256 areaId);
    error ElectorateNotAllowed(uint256 areaId, uint256 electorate);
    error InvalidTransition(uint256 roundId, uint256 index, ProjectState from, ProjectState to);

    /// @param admin DEFAULT_ADMIN_ROLE holder (the executor after deploy).
    /// @param areas_ CommoningAreas: a round on area `a` != 0 may only be opened by `a`'s managing PA.
    /// @param minVotingPeriod_ Shortest vote window in seconds, between MIN_VOTING_PERIOD_FLOOR and MAX_VOTING_PERIOD.
    constructor(address admin, address registry_, address areas_, address treasury_, uint64 minVotingPeriod_)
        EIP712("CO3 ParticipatoryBudget", "1")
    {
        if (admin == address(0) || registry_ == address(0) || areas_ == address(0) || treasury_ == address(0)) {
            revert ZeroAddress();
        }
        if (minVotingPeriod_ < MIN_VOTING_PERIOD_FLOOR || minVotingPeriod_ > MAX_VOTING_PERIOD) {
            revert InvalidWindow(0, minVotingPeriod_);
        }
        minVotingPeriod = minVotingPeriod_;
        registry = ICitizenRegistry(registry_);
        areas = ICommoningAreas(areas_);
        treasury = ICommonsTreasury(treasury_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ rounds

    /**
     * @notice Open a round over `areaId`'s treasury budget and reserve `budget` in the treasury.
     * @param maxChoices For APPROVAL rounds, most projects one ballot may approve (0 = no limit); 0 for KNAPSACK.
     */
    function createRound(
        uint256 areaId,
        uint256 budget,
        uint64 voteStart,
        uint64 voteEnd,
        BallotKind kind,
        uint8 maxChoices,
        bytes32 metadataHash,
        ProjectInput[] calldata projects
    ) external returns (uint256 roundId) {
        RoundSpec memory spec = RoundSpec(areaId, budget, voteStart, voteEnd, kind, maxChoices, metadataHash);
        uint256 electorate = areaId == 0 ? 0 : registry.defaultElectorateOf(_msgSender());
        return _open(spec, projects, electorate);
    }

    /**
     * @notice `createRound` voted by `electorate`: for an area round an electorate of the area's managing PA, for
     * a consortium round (area 0) any defined electorate.
     */
    function createRoundFor(uint256 electorate, RoundSpec calldata spec, ProjectInput[] calldata projects)
        external
        returns (uint256 roundId)
    {
        return _open(spec, projects, electorate);
    }

    function _open(RoundSpec memory spec, ProjectInput[] calldata projects, uint256 electorate)
        private
        onlyRole(PROPOSER_ROLE)
        returns (uint256 roundId)
    {
        (uint256 areaId, uint256 budget, uint64 voteStart, uint64 voteEnd) =
            (spec.areaId, spec.budget, spec.voteStart, spec.voteEnd);
        (BallotKind kind, uint8 maxChoices) = (spec.kind, spec.maxChoices);
        uint256 n = projects.length;
        if (n == 0 || n > MAX_PROJECTS) revert InvalidProjectCount(n);
        if (budget == 0) revert InvalidBudget();
        if (
            voteStart < block.timestamp || voteStart > block.timestamp + MAX_START_DELAY
                || voteEnd < voteStart + minVotingPeriod
                || voteEnd > voteStart + MAX_VOTING_PERIOD
        ) revert InvalidWindow(voteStart, voteEnd);
        if (maxChoices > n || (kind == BallotKind.Knapsack && maxChoices != 0)) revert InvalidMaxChoices(maxChoices, n);
        // managerOf reverts UnknownArea for an area that does not exist.
        if (areaId != 0 && areas.managerOf(areaId) != _msgSender()) revert NotAreaManager(_msgSender(), areaId);
        _checkElectorate(areaId, electorate);

        roundId = ++_roundCount;
        Round storage r = _rounds[roundId];
        r.areaId = areaId;
        r.budget = budget;
        r.manager = _msgSender();
        r.snapshot = uint48(block.timestamp);
        r.voteStart = voteStart;
        r.voteEnd = voteEnd;
        r.kind = kind;
        r.maxChoices = maxChoices;
        r.projectCount = uint8(n);
        r.metadataHash = spec.metadataHash;
        _electorates[roundId] = electorate;
        _emitRoundCreated(roundId, r);
        emit RoundElectorate(roundId, electorate);

        for (uint256 i = 0; i < n; ++i) {
            ProjectInput calldata p = projects[i];
            // A project costing more than the whole budget could never be funded: refuse it at listing.
            if (p.cost == 0 || p.cost > budget || p.payee == address(0)) revert InvalidProject(i);
            Project storage stored = _projects[roundId][i];
            stored.cost = p.cost;
            stored.payee = p.payee;
            stored.detailsHash = p.detailsHash;
            emit ProjectListed(roundId, i, p.cost, p.payee, p.detailsHash);
        }

        treasury.reserve(areaId, budget, _ref(roundId));
    }

    // ------------------------------------------------------------------ ballots

    /// @notice Cast the caller's ballot approving the projects of `selection` (bit i = project i).
    function castBallot(uint256 roundId, uint256 selection) external {
        _cast(roundId, _msgSender(), selection, false);
    }

    /**
     * @notice Cast `voter`'s ballot from their EIP-712 `BudgetBallot` signature. RELAYER_ROLE only.
     * @param nonce Must equal `nonces(voter, roundId)`; it is consumed, so a signature is used once.
     */
    function castBallotBySig(uint256 roundId, uint256 selection, address voter, uint256 nonce, bytes calldata signature)
        external
        onlyRole(RELAYER_ROLE)
    {
        uint256 expected = _nonces[voter][roundId];
        if (nonce != expected) revert InvalidNonce(voter, roundId, expected);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(BALLOT_TYPEHASH, roundId, selection, voter, nonce)));
        if (!SignatureChecker.isValidSignatureNow(voter, digest, signature)) revert InvalidSignature(voter);
        _nonces[voter][roundId] = expected + 1;
        _cast(roundId, voter, selection, true);
    }

    function _cast(uint256 roundId, address voter, uint256 selection, bool bySignature) private {
        Round storage r = _requireRound(roundId);
        if (r.finalized || block.timestamp < r.voteStart || block.timestamp > r.voteEnd) revert VotingClosed(roundId);
        if (!isEligible(voter, roundId)) revert NotEligible(voter, roundId);
        if (_voted[roundId][voter]) revert AlreadyVoted(voter, roundId);
        uint256 n = r.projectCount;
        if (selection == 0 || selection >> n != 0) revert InvalidSelection(selection);

        uint256 chosen;
        uint256 cost;
        for (uint256 i = 0; i < n; ++i) {
            if (selection & (1 << i) != 0) {
                Project storage p = _projects[roundId][i];
                ++chosen;
                cost += p.cost;
                ++p.approvals;
            }
        }
        if (r.kind == BallotKind.Knapsack) {
            if (cost > r.budget) revert OverBudget(cost, r.budget);
        } else if (r.maxChoices != 0 && chosen > r.maxChoices) {
            revert TooManyChoices(chosen, r.maxChoices);
        }
        _voted[roundId][voter] = true;
        ++r.ballots;
        emit BudgetBallotCast(roundId, voter, selection, bySignature);
    }

    // ------------------------------------------------------------------ outcome

    /// @notice Compute and record the outcome of `roundId` after its window; anyone may call it once.
    function finalize(uint256 roundId) external returns (uint256 fundedMask) {
        Round storage r = _requireRound(roundId);
        if (r.finalized) revert AlreadyFinalized(roundId);
        if (block.timestamp <= r.voteEnd) revert VotingNotOver(roundId);

        uint256 n = r.projectCount;
        uint256[] memory approvals = new uint256[](n);
        uint256[] memory costs = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            approvals[i] = _projects[roundId][i].approvals;
            costs[i] = _projects[roundId][i].cost;
        }
        uint256 spent;
        (fundedMask, spent) = computeOutcome(r.budget, approvals, costs);

        r.finalized = true;
        r.spent = spent;
        for (uint256 i = 0; i < n; ++i) {
            ProjectState s = fundedMask & (1 << i) != 0 ? ProjectState.Funded : ProjectState.NotFunded;
            _projects[roundId][i].state = s;
            emit ProjectStateChanged(roundId, i, s, bytes32(0), 0);
        }
        uint256 released = r.budget - spent;
        emit RoundFinalized(roundId, fundedMask, spent, released);
        if (released != 0) treasury.release(r.areaId, released, _ref(roundId));
    }

    /**
     * @notice Cancel a round that has no outcome yet (a listing error, a court order): no project is funded and
     * the whole reserved budget returns to the area. DEFAULT_ADMIN_ROLE (the executor) only.
     */
    function cancelRound(uint256 roundId, bytes32 reasonHash) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Round storage r = _requireRound(roundId);
        if (r.finalized) revert AlreadyFinalized(roundId);
        r.finalized = true;
        r.cancelled = true;
        emit RoundCancelled(roundId, reasonHash);
        treasury.release(r.areaId, r.budget, _ref(roundId));
    }

    /**
     * @notice The outcome rule (see the contract documentation), as a pure function.
     * @return fundedMask bit i set when project i is funded.
     * @return spent total cost of the funded projects (never above `budget`).
     */
    function computeOutcome(uint256 budget, uint256[] memory approvals, uint256[] memory costs)
        public
        pure
        returns (uint256 fundedMask, uint256 spent)
    {
        uint256 n = approvals.length;
        if (n > MAX_PROJECTS || costs.length != n) revert InvalidProjectCount(n);
        uint256 remaining = budget;
        uint256 taken; // bit i set once project i has been ranked
        for (uint256 rank = 0; rank < n; ++rank) {
            // Pick the best not yet ranked project: most approvals, the lower index on ties (strict >).
            uint256 best = type(uint256).max;
            for (uint256 i = 0; i < n; ++i) {
                if (taken & (1 << i) != 0) continue;
                if (best == type(uint256).max || approvals[i] > approvals[best]) best = i;
            }
            taken |= 1 << best;
            if (approvals[best] == 0) break; // every later project has zero approvals too
            if (costs[best] <= remaining) {
                remaining -= costs[best];
                fundedMask |= 1 << best;
            }
        }
        spent = budget - remaining;
    }

    // ------------------------------------------------------------------ delivery

    /// @notice Mark a funded project in progress and pay its first tranche. The round's manager only.
    function startProject(uint256 roundId, uint256 index, bytes32 evidenceHash) external {
        (Round storage r, Project storage p) = _managed(roundId, index);
        _transition(roundId, index, p, ProjectState.Funded, ProjectState.InProgress);
        uint256 payment = p.cost / 2;
        _pay(r, p, roundId, index, ProjectState.InProgress, evidenceHash, payment);
    }

    /// @notice Mark a project in progress as delivered and pay the rest of its cost. The round's manager only.
    function deliverProject(uint256 roundId, uint256 index, bytes32 evidenceHash) external {
        (Round storage r, Project storage p) = _managed(roundId, index);
        _transition(roundId, index, p, ProjectState.InProgress, ProjectState.Delivered);
        uint256 payment = p.cost - p.paid;
        _pay(r, p, roundId, index, ProjectState.Delivered, evidenceHash, payment);
    }

    /// @notice Cancel a funded or in-progress project; its unpaid part returns to the area budget.
    function cancelProject(uint256 roundId, uint256 index, bytes32 evidenceHash)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        Round storage r = _requireRound(roundId);
        Project storage p = _requireProject(roundId, index);
        if (p.state != ProjectState.Funded && p.state != ProjectState.InProgress) {
            revert InvalidTransition(roundId, index, p.state, ProjectState.Cancelled);
        }
        uint256 unpaid = p.cost - p.paid;
        p.state = ProjectState.Cancelled;
        r.spent -= unpaid;
        emit ProjectStateChanged(roundId, index, ProjectState.Cancelled, evidenceHash, 0);
        if (unpaid != 0) treasury.release(r.areaId, unpaid, _ref(roundId));
    }

    // ------------------------------------------------------------------ views

    /// @notice Whether `voter` may vote in `roundId`: eligible at the round's snapshot (see above).
    function isEligible(address voter, uint256 roundId) public view returns (bool) {
        uint48 snapshot = _requireRound(roundId).snapshot;
        ICitizenRegistry.Citizen memory c = registry.getCitizen(voter);
        uint256 electorate = _electorates[roundId];
        return c.registeredAt != 0 && c.registeredAt <= snapshot && c.expiresAt >= snapshot && !c.revoked
            && (electorate == 0 || registry.isEligibleVoterAt(voter, electorate, snapshot));
    }

    /// @notice The electorate voting in the round (0: the whole consortium).
    function roundElectorate(uint256 roundId) external view returns (uint256) {
        _requireRound(roundId);
        return _electorates[roundId];
    }

    /// @notice Eligible citizens of the round's electorate at its snapshot (the turnout base); reverts while the
    /// snapshot is not in the past.
    function electorateSize(uint256 roundId) external view returns (uint256) {
        uint48 snapshot = _requireRound(roundId).snapshot;
        return registry.getPastElectorateSize(_electorates[roundId], snapshot);
    }

    function roundCount() external view returns (uint256) {
        return _roundCount;
    }

    function getRound(uint256 roundId) external view returns (Round memory) {
        return _requireRound(roundId);
    }

    function getProject(uint256 roundId, uint256 index) external view returns (Project memory) {
        return _requireProject(roundId, index);
    }

    function hasVoted(uint256 roundId, address voter) external view returns (bool) {
        return _voted[roundId][voter];
    }

    /// @notice Next nonce `voter` must sign for `roundId`.
    function nonces(address voter, uint256 roundId) external view returns (uint256) {
        return _nonces[voter][roundId];
    }

    /// @notice The EIP-712 digest a voter signs for a ballot (for clients and tests).
    function ballotDigest(uint256 roundId, uint256 selection, address voter, uint256 nonce)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(BALLOT_TYPEHASH, roundId, selection, voter, nonce)));
    }

    // ------------------------------------------------------------------ internals

    /// @dev An area round needs an electorate of the managing PA (the caller); a consortium round a defined one.
    function _checkElectorate(uint256 areaId, uint256 electorate) private view {
        uint256 pa = registry.paOf(_msgSender());
        bool ok = areaId == 0
            ? registry.electorateExists(electorate)
            : pa != 0 && registry.electoratePa(electorate) == pa;
        if (!ok) revert ElectorateNotAllowed(areaId, electorate);
    }

    function _requireRound(uint256 roundId) private view returns (Round storage r) {
        r = _rounds[roundId];
        if (r.manager == address(0)) revert UnknownRound(roundId);
    }

    function _requireProject(uint256 roundId, uint256 index) private view returns (Project storage) {
        if (index >= _requireRound(roundId).projectCount) revert UnknownProject(roundId, index);
        return _projects[roundId][index];
    }

    function _managed(uint256 roundId, uint256 index) private view returns (Round storage r, Project storage p) {
        r = _requireRound(roundId);
        p = _requireProject(roundId, index);
        if (_msgSender() != r.manager || !hasRole(PROPOSER_ROLE, _msgSender())) {
            revert NotManager(_msgSender(), roundId);
        }
    }

    function _transition(uint256 roundId, uint256 index, Project storage p, ProjectState from, ProjectState to)
        private
    {
        if (p.state != from) revert InvalidTransition(roundId, index, p.state, to);
        p.state = to;
    }

    function _pay(
        Round storage r,
        Project storage p,
        uint256 roundId,
        uint256 index,
        ProjectState state,
        bytes32 evidenceHash,
        uint256 payment
    ) private {
        p.paid += payment;
        emit ProjectStateChanged(roundId, index, state, evidenceHash, payment);
        if (payment != 0) treasury.pay(r.areaId, p.payee, payment, _ref(roundId));
    }

    function _emitRoundCreated(uint256 roundId, Round storage r) private {
        emit RoundCreated(
            roundId, r.areaId, r.manager, r.budget, r.snapshot, r.voteStart, r.voteEnd, r.kind, r.maxChoices,
            r.metadataHash
        );
    }

    /// @dev Treasury reference of a round: ties every treasury event to this contract's round.
    function _ref(uint256 roundId) private pure returns (bytes32) {
        return bytes32(roundId);
    }
}
