// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IInitiativeGovernance
 * @notice The part of CO3Governance that CitizenInitiatives calls: the voting-window bounds in force and
 * `proposeFor`, which creates a proposal voted by a named electorate (the caller needs PROPOSER_ROLE).
 * The structs mirror `CO3Governance.VotingWindow` and `CO3Governance.VotingBounds` field for field (the ABI
 * encoding is what must match).
 */
interface IInitiativeGovernance {
    /// @notice Counting mode and windows of a proposal (CO3Governance.VotingWindow).
    struct VotingWindow {
        uint8 mode;
        bool commitReveal;
        uint64 voteStart;
        uint64 voteEnd;
        uint64 revealEnd;
    }

    /// @notice Bounds on the windows a proposal may have (CO3Governance.VotingBounds).
    struct VotingBounds {
        uint64 minVotingDelay;
        uint64 maxVotingDelay;
        uint64 minVotingPeriod;
        uint64 maxVotingPeriod;
    }

    /// @notice The voting-window bounds in force.
    function votingBounds() external view returns (VotingBounds memory);

    /// @notice Create a proposal in `areaId` voted by `electorate` (PROPOSER_ROLE).
    function proposeFor(
        uint256 areaId,
        uint256 electorate,
        VotingWindow calldata w,
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas,
        string calldata description
    ) external returns (uint256 proposalId);
}

/**
 * @title ICitizenInitiatives
 * @notice Types, events and errors of CitizenInitiatives (see the contract for the rules).
 */
interface ICitizenInitiatives {
    /// @notice How the number of supports an initiative needs is set.
    enum ThresholdKind {
        Absolute, // `value` supports
        Percentage // `value` basis points (1/10,000) of the electorate size at the snapshot, rounded up
    }

    /// @notice Life cycle of an initiative. `Expired` is never stored: it is a `Collecting` initiative whose
    /// window has passed without reaching its threshold.
    enum Status {
        Draft,
        Collecting,
        Expired,
        Qualified,
        Proposed
    }

    /// @notice A support threshold and the collection window, as set by the council (through the timelock).
    struct Threshold {
        ThresholdKind kind;
        uint64 value;
        uint64 collectionWindow;
    }

    /// @notice What a citizen drafts (one version of an initiative).
    struct Content {
        bytes32 textHash; // keccak256 of the initiative's full text (kept off-chain)
        string title; // short title, part of the proposal's description
        uint256 areaId; // commoning area of the resulting proposal, 0 = consortium-wide
        uint256 electorate; // who may support it and vote on it (IElectorates id)
        uint8 mode; // CO3Governance counting mode of the vote
        uint64 votingPeriod; // wished vote length, clamped into the governance's bounds when proposed
        address[] targets; // optional actions executed through the timelock if the vote succeeds
        uint256[] values;
        bytes[] calldatas;
    }

    /// @notice Stored state of an initiative.
    struct Initiative {
        address author;
        uint16 version;
        Status status;
        uint8 mode;
        uint48 snapshot;
        uint64 votingPeriod;
        uint64 openedAt;
        uint64 deadline;
        uint32 supportCount;
        uint32 required;
        uint256 areaId;
        uint256 electorate;
        uint256 electorateSize;
        bytes32 textHash;
        bytes32 actionsHash;
        bytes32 versionHash;
        uint256 proposalId;
    }

    /// @notice `author` drafted initiative `initiativeId` (its first version follows in `InitiativeVersioned`).
    event InitiativeDrafted(uint256 indexed initiativeId, address indexed author);
    /// @notice Version `version` of the initiative: `versionHash` = `contentHash` of these fields.
    event InitiativeVersioned(
        uint256 indexed initiativeId,
        uint16 indexed version,
        bytes32 versionHash,
        bytes32 textHash,
        uint256 areaId,
        uint256 electorate,
        uint8 mode,
        uint64 votingPeriod,
        bytes32 actionsHash,
        string title
    );
    /// @notice The actions of version `version` (emitted only when it has some).
    event InitiativeActions(
        uint256 indexed initiativeId, uint16 indexed version, address[] targets, uint256[] values, bytes[] calldatas
    );
    /// @notice The author opened the initiative for supports: the threshold in force is fixed into it.
    event InitiativeOpened(
        uint256 indexed initiativeId,
        uint16 version,
        bytes32 versionHash,
        uint48 snapshot,
        uint64 deadline,
        uint256 electorateSize,
        ThresholdKind thresholdKind,
        uint64 thresholdValue,
        uint32 required
    );
    /// @notice `supporter` supported the initiative; `supportCount` is the running count.
    event InitiativeSupported(
        uint256 indexed initiativeId, address indexed supporter, uint32 supportCount, bool bySignature
    );
    /// @notice The initiative reached its threshold within its window.
    event InitiativeQualified(uint256 indexed initiativeId, uint32 supportCount);
    /// @notice The initiative went to vote as governance proposal `proposalId`.
    event InitiativeProposed(uint256 indexed initiativeId, uint256 indexed proposalId, uint64 voteStart, uint64 voteEnd);
    /// @notice The governance refused the proposal (`reason` = its revert data); anyone may retry `submitToVote`.
    event InitiativeProposalFailed(uint256 indexed initiativeId, bytes reason);
    /// @notice The default threshold changed (applies to initiatives opened from now on).
    event DefaultThresholdSet(ThresholdKind kind, uint64 value, uint64 collectionWindow);
    /// @notice The threshold of `electorate` changed (applies to initiatives opened from now on).
    event ElectorateThresholdSet(uint256 indexed electorate, ThresholdKind kind, uint64 value, uint64 collectionWindow);
    /// @notice `electorate` uses the default threshold again.
    event ElectorateThresholdCleared(uint256 indexed electorate);

    error ZeroAddress();
    error UnknownInitiative(uint256 initiativeId);
    error UnknownElectorate(uint256 electorate);
    error InvalidThreshold();
    error InvalidTextHash();
    error InvalidTitle(uint256 length);
    error InvalidVotingPeriod(uint64 votingPeriod);
    error InvalidActions();
    error InvalidCountingMode(uint8 mode);
    error NotAuthor(address account, uint256 initiativeId);
    error NotEligible(address citizen, uint256 electorate);
    error UnexpectedStatus(uint256 initiativeId, Status current);
    error TooManyVersions(uint256 initiativeId);
    error VersionMismatch(uint256 initiativeId, bytes32 current);
    error AlreadySupported(address supporter, uint256 initiativeId);
    error InvalidNonce(address account, uint256 initiativeId, uint256 expected);
    error ExpiredSignature(uint256 deadline);
    error InvalidSignature(address signer);
    /// @notice Too little gas left to let the governance create the proposal (`needed` must be forwarded).
    error InsufficientGas(uint256 needed);
}
