// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {ICitizenInitiatives, IInitiativeGovernance} from "./interfaces/ICitizenInitiatives.sol";
import {IElectorates} from "./interfaces/IElectorates.sol";

/**
 * @title CitizenInitiatives
 * @notice Citizen-initiated proposals: a citizen drafts an initiative, collects supports from the citizens of
 * its electorate, and when the supports reach the council's threshold within the collection window the
 * initiative goes to vote by itself, as a CO3Governance proposal voted by the same electorate.
 *
 * Life cycle:
 * 1. Draft. An eligible citizen of the electorate drafts it: the hash of its full text, a short title, the
 *    area (0 = consortium-wide), the electorate, the counting mode, a wished voting period and optional
 *    actions (calls the timelock makes if the vote succeeds). Every version has an on-chain hash
 *    (`contentHash`, event `InitiativeVersioned`); the author may amend the draft (a new version, at most
 *    MAX_VERSIONS) until it opens.
 * 2. Collecting. The author opens it: the content is frozen, the snapshot is the second before the opening
 *    block (a timepoint already final, so registrations in the opening block cannot sway it) and the
 *    threshold in force for its electorate is fixed into it, so a later change of the rules can neither
 *    revive nor kill an initiative (the lesson of CVE-2022-31198 for quorums). `required` is the absolute
 *    count, or ceil(percentage × electorate size at the snapshot) with percentages in basis points, at
 *    least 1. The window closes `collectionWindow` seconds after opening.
 * 3. Supports. A citizen eligible in the electorate at the snapshot supports it once, directly or by an
 *    EIP-712 `SupportInitiative` signature relayed by a RELAYER_ROLE holder (the API), so citizens need no
 *    ETH. The signed message binds the initiative's version hash (what the citizen read), a nonce per
 *    (citizen, initiative) and a deadline; the domain binds the chain and this contract. Every support is an
 *    `InitiativeSupported` event: the count is recomputable from the logs.
 * 4. Qualified → Proposed. The support that reaches `required` (within the window) qualifies the initiative
 *    and, in the same transaction, calls `CO3Governance.proposeFor` (this contract holds PROPOSER_ROLE):
 *    voteStart = now + the governance's minimum voting delay, vote length = the wished period clamped into
 *    the governance's bounds, the same area, electorate, mode and actions, and a description naming the
 *    initiative, its version and text hash. Should the governance refuse (e.g. the area was closed since),
 *    the initiative stays Qualified with the reason in `InitiativeProposalFailed`, and anyone may retry with
 *    `submitToVote`. A window that passes before the threshold leaves the initiative Expired: it can never
 *    go to vote.
 *
 * The author's steps can also be gasless: `draftBySig`, `amendBySig` and `openBySig` take the author's
 * EIP-712 signature over the content hash (drafts use nonce key 0, later steps the initiative id).
 *
 * Trust: the thresholds are set by DEFAULT_ADMIN_ROLE, the consortium timelock after deploy, i.e. by the PA
 * council with a delay and events. Nobody, not even the admin, can add or remove supports, amend an opened
 * initiative or stop a qualified one from being proposed; the PA council keeps its veto on the resulting
 * proposal in CO3Governance (GUARDIAN_ROLE).
 */
contract CitizenInitiatives is ICitizenInitiatives, AccessControl, EIP712 {
    /// @notice Role of the relayers (the API) submitting citizens' signed steps.
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");

    /// @notice EIP-712 type of a signed draft (nonce key 0).
    bytes32 public constant DRAFT_TYPEHASH =
        keccak256("DraftInitiative(bytes32 contentHash,address author,uint256 nonce,uint256 deadline)");
    /// @notice EIP-712 type of a signed amendment.
    bytes32 public constant AMEND_TYPEHASH = keccak256(
        "AmendInitiative(uint256 initiativeId,bytes32 contentHash,address author,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type of a signed opening for supports.
    bytes32 public constant OPEN_TYPEHASH = keccak256(
        "OpenInitiative(uint256 initiativeId,bytes32 versionHash,address author,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type of a signed support.
    bytes32 public constant SUPPORT_TYPEHASH = keccak256(
        "SupportInitiative(uint256 initiativeId,bytes32 versionHash,address supporter,uint256 nonce,uint256 deadline)"
    );

    /// @notice Most actions an initiative may carry: bounds every loop of this contract.
    uint256 public constant MAX_ACTIONS = 10;
    /// @notice Longest calldata of one action.
    uint256 public constant MAX_CALLDATA_BYTES = 4096;
    /// @notice Longest title (bytes of UTF-8).
    uint256 public constant MAX_TITLE_BYTES = 200;
    /// @notice Most versions of one initiative (the draft and its amendments).
    uint16 public constant MAX_VERSIONS = 32;
    /// @notice Denominator of percentage thresholds (basis points).
    uint64 public constant BASIS_POINTS = 10_000;
    /// @notice Bounds of a collection window.
    uint64 public constant MIN_COLLECTION_WINDOW = 1 minutes;
    uint64 public constant MAX_COLLECTION_WINDOW = 365 days;
    /// @notice Gas the proposal call must receive, plus PROPOSE_GAS_PER_BYTE per byte of its calldata (storage of
    /// the proposal, its events and the copy of its actions): checked before the call, so a transaction with too
    /// little gas reverts instead of leaving the initiative Qualified by an out-of-gas inside the call.
    uint256 public constant PROPOSE_GAS = 400_000;
    uint256 public constant PROPOSE_GAS_PER_BYTE = 64;
    /// @notice Number of CO3Governance counting modes (OneCitizenOneVote, TokenWeighted, ReputationWeighted).
    uint8 public constant COUNTING_MODES = 3;

    /// @notice Source of electorates: eligibility and size at a timepoint (the citizen registry).
    IElectorates public immutable electorates;
    /// @notice The governance the qualified initiatives are proposed to.
    IInitiativeGovernance public immutable governance;

    uint256 private _count;
    mapping(uint256 initiativeId => Initiative) private _initiatives;
    mapping(uint256 initiativeId => string) private _titles;
    mapping(uint256 initiativeId => address[]) private _targets;
    mapping(uint256 initiativeId => uint256[]) private _values;
    mapping(uint256 initiativeId => bytes[]) private _calldatas;
    mapping(uint256 initiativeId => mapping(uint16 version => bytes32)) private _versionHashes;
    mapping(uint256 initiativeId => mapping(address supporter => bool)) private _supported;
    mapping(address account => mapping(uint256 key => uint256)) private _nonces;

    Threshold private _defaultThreshold;
    mapping(uint256 electorate => Threshold) private _electorateThresholds;
    mapping(uint256 electorate => bool) private _hasElectorateThreshold;

    /**
     * @param admin DEFAULT_ADMIN_ROLE holder: sets the thresholds (the consortium timelock after deploy).
     * @param electorates_ The electorates (the citizen registry).
     * @param governance_ CO3Governance; grant this contract its PROPOSER_ROLE.
     * @param defaultThreshold The threshold of every electorate without its own.
     */
    constructor(
        address admin,
        IElectorates electorates_,
        IInitiativeGovernance governance_,
        Threshold memory defaultThreshold
    ) EIP712("CO3 CitizenInitiatives", "1") {
        if (admin == address(0) || address(electorates_) == address(0) || address(governance_) == address(0)) {
            revert ZeroAddress();
        }
        electorates = electorates_;
        governance = governance_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setDefaultThreshold(defaultThreshold);
    }

    // ------------------------------------------------------------------ drafting

    /// @notice Draft an initiative as the caller; returns its id.
    function draft(Content calldata c) external returns (uint256 initiativeId) {
        return _draft(c, _msgSender());
    }

    /// @notice Draft an initiative from the author's EIP-712 `DraftInitiative` signature. RELAYER_ROLE only.
    function draftBySig(Content calldata c, address author, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
        onlyRole(RELAYER_ROLE)
        returns (uint256 initiativeId)
    {
        bytes32 structHash = keccak256(abi.encode(DRAFT_TYPEHASH, contentHash(c), author, nonce, deadline));
        _useSignature(author, 0, nonce, deadline, structHash, signature);
        return _draft(c, author);
    }

    /// @notice Replace the draft's content by a new version. Its author only, before it opens.
    function amend(uint256 initiativeId, Content calldata c) external {
        _amend(initiativeId, c, _msgSender());
    }

    /// @notice Amend from the author's EIP-712 `AmendInitiative` signature. RELAYER_ROLE only.
    function amendBySig(
        uint256 initiativeId,
        Content calldata c,
        address author,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external onlyRole(RELAYER_ROLE) {
        bytes32 structHash =
            keccak256(abi.encode(AMEND_TYPEHASH, initiativeId, contentHash(c), author, nonce, deadline));
        _useSignature(author, initiativeId, nonce, deadline, structHash, signature);
        _amend(initiativeId, c, author);
    }

    /// @notice Open the draft for supports; `versionHash` must be its current version's. Its author only.
    function open(uint256 initiativeId, bytes32 versionHash) external {
        _open(initiativeId, versionHash, _msgSender());
    }

    /// @notice Open from the author's EIP-712 `OpenInitiative` signature. RELAYER_ROLE only.
    function openBySig(
        uint256 initiativeId,
        bytes32 versionHash,
        address author,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external onlyRole(RELAYER_ROLE) {
        bytes32 structHash = keccak256(abi.encode(OPEN_TYPEHASH, initiativeId, versionHash, author, nonce, deadline));
        _useSignature(author, initiativeId, nonce, deadline, structHash, signature);
        _open(initiativeId, versionHash, author);
    }

    // ------------------------------------------------------------------ supports

    /// @notice Support the initiative as the caller.
    function support(uint256 initiativeId) external {
        _support(initiativeId, _msgSender(), false);
    }

    /**
     * @notice Support from the citizen's EIP-712 `SupportInitiative` signature over the initiative's current
     * version hash. RELAYER_ROLE only.
     * @param nonce Must equal `nonces(supporter, initiativeId)`; it is consumed, so a signature is used once.
     * @param deadline Last timestamp the signature is valid at.
     */
    function supportBySig(
        uint256 initiativeId,
        address supporter,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external onlyRole(RELAYER_ROLE) {
        bytes32 versionHash = _initiative(initiativeId).versionHash;
        bytes32 structHash =
            keccak256(abi.encode(SUPPORT_TYPEHASH, initiativeId, versionHash, supporter, nonce, deadline));
        _useSignature(supporter, initiativeId, nonce, deadline, structHash, signature);
        _support(initiativeId, supporter, true);
    }

    /// @notice Propose a Qualified initiative whose automatic proposal was refused (anyone may retry).
    function submitToVote(uint256 initiativeId) external returns (bool proposed) {
        Initiative storage it = _initiative(initiativeId);
        if (it.status != Status.Qualified) revert UnexpectedStatus(initiativeId, status(initiativeId));
        return _submit(initiativeId, it);
    }

    // ------------------------------------------------------------------ thresholds (admin)

    /// @notice Set the threshold of electorates without their own. Applies to initiatives opened afterwards.
    function setDefaultThreshold(Threshold calldata t) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDefaultThreshold(t);
    }

    /// @notice Set `electorate`'s own threshold. Applies to initiatives opened afterwards.
    function setElectorateThreshold(uint256 electorate, Threshold calldata t) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkThreshold(t);
        _electorateThresholds[electorate] = t;
        _hasElectorateThreshold[electorate] = true;
        emit ElectorateThresholdSet(electorate, t.kind, t.value, t.collectionWindow);
    }

    /// @notice Make `electorate` use the default threshold again.
    function clearElectorateThreshold(uint256 electorate) external onlyRole(DEFAULT_ADMIN_ROLE) {
        delete _electorateThresholds[electorate];
        delete _hasElectorateThreshold[electorate];
        emit ElectorateThresholdCleared(electorate);
    }

    // ------------------------------------------------------------------ views

    /// @notice The hash identifying a version: binds every field of `c` (actions through `hashActions`).
    function contentHash(Content calldata c) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                c.textHash,
                keccak256(bytes(c.title)),
                c.areaId,
                c.electorate,
                c.mode,
                c.votingPeriod,
                hashActions(c.targets, c.values, c.calldatas)
            )
        );
    }

    /// @notice Hash of the actions as CO3Governance computes it (`abi.encode(targets, values, calldatas)`), or 0
    /// for an initiative without actions.
    function hashActions(address[] calldata targets, uint256[] calldata values, bytes[] calldata calldatas)
        public
        pure
        returns (bytes32)
    {
        if (targets.length == 0 && values.length == 0 && calldatas.length == 0) return bytes32(0);
        return keccak256(abi.encode(targets, values, calldatas));
    }

    /// @notice Status now (a Collecting initiative past its window is Expired).
    function status(uint256 initiativeId) public view returns (Status) {
        Initiative storage it = _initiative(initiativeId);
        if (it.status == Status.Collecting && block.timestamp > it.deadline) return Status.Expired;
        return it.status;
    }

    /// @notice The stored initiative (its `status` field is the stored one: see `status` for Expired).
    function getInitiative(uint256 initiativeId) external view returns (Initiative memory) {
        return _initiative(initiativeId);
    }

    /// @notice Title of the current version.
    function titleOf(uint256 initiativeId) external view returns (string memory) {
        _initiative(initiativeId);
        return _titles[initiativeId];
    }

    /// @notice Actions of the current version (empty arrays when it has none).
    function actionsOf(uint256 initiativeId)
        external
        view
        returns (address[] memory targets, uint256[] memory values, bytes[] memory calldatas)
    {
        _initiative(initiativeId);
        return (_targets[initiativeId], _values[initiativeId], _calldatas[initiativeId]);
    }

    /// @notice Hash of version `version` (1-based) of the initiative; 0 for a version that does not exist.
    function versionHashOf(uint256 initiativeId, uint16 version) external view returns (bytes32) {
        _initiative(initiativeId);
        return _versionHashes[initiativeId][version];
    }

    /// @notice Number of initiatives drafted so far (ids are 1..count).
    function initiativeCount() external view returns (uint256) {
        return _count;
    }

    /// @notice Whether `supporter` supported the initiative.
    function hasSupported(uint256 initiativeId, address supporter) external view returns (bool) {
        return _supported[initiativeId][supporter];
    }

    /// @notice Whether `citizen` may support the initiative: eligible in its electorate at its snapshot. False
    /// before the initiative opens (it has no snapshot yet).
    function isEligibleSupporter(uint256 initiativeId, address citizen) public view returns (bool) {
        Initiative storage it = _initiative(initiativeId);
        if (it.status == Status.Draft) return false;
        return electorates.isEligibleVoterAt(citizen, it.electorate, it.snapshot);
    }

    /// @notice Next nonce `account` must sign for `key` (0 for drafts, else the initiative id).
    function nonces(address account, uint256 key) external view returns (uint256) {
        return _nonces[account][key];
    }

    /// @notice The threshold an initiative of `electorate` opened now would get, and whether it is the
    /// electorate's own (false: the default).
    function thresholdOf(uint256 electorate) public view returns (Threshold memory, bool own) {
        own = _hasElectorateThreshold[electorate];
        return (own ? _electorateThresholds[electorate] : _defaultThreshold, own);
    }

    /// @notice Supports needed by `t` for an electorate of `electorateSize` citizens (see the contract doc).
    function requiredSupports(Threshold memory t, uint256 electorateSize) public pure returns (uint256) {
        if (t.kind == ThresholdKind.Absolute) return t.value;
        return Math.max(1, Math.mulDiv(electorateSize, t.value, BASIS_POINTS, Math.Rounding.Ceil));
    }

    /// @notice The description the initiative's proposal gets (its id binds it).
    function proposalDescription(uint256 initiativeId) public view returns (string memory) {
        Initiative storage it = _initiative(initiativeId);
        return string.concat(
            "Citizen initiative #",
            Strings.toString(initiativeId),
            " v",
            Strings.toString(it.version),
            " (text ",
            Strings.toHexString(uint256(it.textHash), 32),
            "): ",
            _titles[initiativeId]
        );
    }

    /// @notice EIP-712 digest a supporter signs (for clients and tests).
    function supportDigest(uint256 initiativeId, address supporter, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        bytes32 versionHash = _initiative(initiativeId).versionHash;
        return _hashTypedDataV4(
            keccak256(abi.encode(SUPPORT_TYPEHASH, initiativeId, versionHash, supporter, nonce, deadline))
        );
    }

    /// @notice EIP-712 domain separator (chain id and this contract).
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ internals

    function _draft(Content calldata c, address author) private returns (uint256 initiativeId) {
        initiativeId = ++_count;
        Initiative storage it = _initiatives[initiativeId];
        it.author = author;
        emit InitiativeDrafted(initiativeId, author);
        _setContent(initiativeId, it, c, author);
    }

    function _amend(uint256 initiativeId, Content calldata c, address author) private {
        Initiative storage it = _initiative(initiativeId);
        if (it.author != author) revert NotAuthor(author, initiativeId);
        if (it.status != Status.Draft) revert UnexpectedStatus(initiativeId, status(initiativeId));
        if (it.version >= MAX_VERSIONS) revert TooManyVersions(initiativeId);
        _setContent(initiativeId, it, c, author);
    }

    /// @dev Checks `c` and stores it as the next version.
    function _setContent(uint256 initiativeId, Initiative storage it, Content calldata c, address author) private {
        _checkContent(c);
        // The author must belong to the electorate (as of the last final second): no initiative for others.
        if (!electorates.isEligibleVoterAt(author, c.electorate, uint48(block.timestamp - 1))) {
            revert NotEligible(author, c.electorate);
        }
        bytes32 actionsHash = hashActions(c.targets, c.values, c.calldatas);
        bytes32 versionHash = contentHash(c);
        uint16 version = it.version + 1;
        it.version = version;
        it.areaId = c.areaId;
        it.electorate = c.electorate;
        it.mode = c.mode;
        it.votingPeriod = c.votingPeriod;
        it.textHash = c.textHash;
        it.actionsHash = actionsHash;
        it.versionHash = versionHash;
        _versionHashes[initiativeId][version] = versionHash;
        _titles[initiativeId] = c.title;
        delete _targets[initiativeId];
        delete _values[initiativeId];
        delete _calldatas[initiativeId];
        uint256 n = c.targets.length;
        for (uint256 i = 0; i < n; ++i) {
            _targets[initiativeId].push(c.targets[i]);
            _values[initiativeId].push(c.values[i]);
            _calldatas[initiativeId].push(c.calldatas[i]);
        }
        emit InitiativeVersioned(
            initiativeId, version, versionHash, c.textHash, c.areaId, c.electorate, c.mode, c.votingPeriod,
            actionsHash, c.title
        );
        if (n != 0) emit InitiativeActions(initiativeId, version, c.targets, c.values, c.calldatas);
    }

    function _checkContent(Content calldata c) private view {
        if (c.textHash == bytes32(0)) revert InvalidTextHash();
        uint256 titleLength = bytes(c.title).length;
        if (titleLength == 0 || titleLength > MAX_TITLE_BYTES) revert InvalidTitle(titleLength);
        if (c.mode >= COUNTING_MODES) revert InvalidCountingMode(c.mode);
        if (c.votingPeriod == 0 || c.votingPeriod > type(uint48).max) revert InvalidVotingPeriod(c.votingPeriod);
        uint256 n = c.targets.length;
        if (n > MAX_ACTIONS || c.values.length != n || c.calldatas.length != n) revert InvalidActions();
        for (uint256 i = 0; i < n; ++i) {
            if (c.targets[i] == address(0) || c.calldatas[i].length > MAX_CALLDATA_BYTES) {
                revert InvalidActions();
            }
        }
        if (!electorates.electorateExists(c.electorate)) revert UnknownElectorate(c.electorate);
    }

    function _open(uint256 initiativeId, bytes32 versionHash, address author) private {
        Initiative storage it = _initiative(initiativeId);
        if (it.author != author) revert NotAuthor(author, initiativeId);
        if (it.status != Status.Draft) revert UnexpectedStatus(initiativeId, status(initiativeId));
        if (versionHash != it.versionHash) revert VersionMismatch(initiativeId, it.versionHash);
        (Threshold memory t,) = thresholdOf(it.electorate);
        uint48 snapshot = uint48(block.timestamp - 1);
        uint256 size = electorates.getPastElectorateSize(it.electorate, snapshot);
        uint256 required = requiredSupports(t, size);
        it.status = Status.Collecting;
        it.snapshot = snapshot;
        it.openedAt = uint64(block.timestamp);
        it.deadline = uint64(block.timestamp) + t.collectionWindow;
        it.electorateSize = size;
        // Percentages of an electorate above 2^32 citizens cannot occur; absolute values are capped at setting.
        it.required = uint32(Math.min(required, type(uint32).max));
        emit InitiativeOpened(
            initiativeId, it.version, it.versionHash, snapshot, it.deadline, size, t.kind, t.value, it.required
        );
    }

    function _support(uint256 initiativeId, address supporter, bool bySignature) private {
        Initiative storage it = _initiative(initiativeId);
        Status current = status(initiativeId);
        if (current != Status.Collecting) revert UnexpectedStatus(initiativeId, current);
        if (!electorates.isEligibleVoterAt(supporter, it.electorate, it.snapshot)) {
            revert NotEligible(supporter, it.electorate);
        }
        if (_supported[initiativeId][supporter]) revert AlreadySupported(supporter, initiativeId);
        _supported[initiativeId][supporter] = true;
        uint32 supportCount = it.supportCount + 1;
        it.supportCount = supportCount;
        emit InitiativeSupported(initiativeId, supporter, supportCount, bySignature);
        if (supportCount >= it.required) {
            it.status = Status.Qualified;
            emit InitiativeQualified(initiativeId, supportCount);
            _submit(initiativeId, it);
        }
    }

    /**
     * @dev Proposes the qualified initiative to the governance; on refusal keeps it Qualified and emits the
     * reason. The status is Proposed during the call, so even a governance calling back could not propose the
     * same initiative twice.
     */
    function _submit(uint256 initiativeId, Initiative storage it) private returns (bool) {
        // A plain view of the governance: if it fails (out of gas included) the whole transaction reverts.
        IInitiativeGovernance.VotingBounds memory b = governance.votingBounds();
        uint64 voteStart = uint64(block.timestamp) + b.minVotingDelay;
        uint64 voteEnd = voteStart + uint64(Math.min(Math.max(it.votingPeriod, b.minVotingPeriod), b.maxVotingPeriod));
        bytes memory call = _proposeCall(initiativeId, it, voteStart, voteEnd);
        // A call receives at most 63/64 of the gas left (EIP-150): make sure that is enough, so nobody (and no
        // gas estimate) can make the proposal fail for want of gas while the support itself succeeds.
        uint256 needed = PROPOSE_GAS + call.length * PROPOSE_GAS_PER_BYTE;
        if (gasleft() < needed + needed / 63 + 5_000) revert InsufficientGas(needed);
        it.status = Status.Proposed; // before the call: a re-entrant submitToVote cannot propose twice
        (bool ok, bytes memory ret) = address(governance).call(call);
        if (!ok || ret.length != 32) {
            it.status = Status.Qualified;
            emit InitiativeProposalFailed(initiativeId, ret);
            return false;
        }
        uint256 proposalId = abi.decode(ret, (uint256));
        it.proposalId = proposalId;
        emit InitiativeProposed(initiativeId, proposalId, voteStart, voteEnd);
        return true;
    }

    /// @dev ABI-encoded `proposeFor` call of the initiative (built apart to keep the stack shallow).
    function _proposeCall(uint256 initiativeId, Initiative storage it, uint64 voteStart, uint64 voteEnd)
        private
        view
        returns (bytes memory)
    {
        return abi.encodeCall(
            IInitiativeGovernance.proposeFor,
            (
                it.areaId,
                it.electorate,
                IInitiativeGovernance.VotingWindow(it.mode, false, voteStart, voteEnd, 0),
                _targets[initiativeId],
                _values[initiativeId],
                _calldatas[initiativeId],
                proposalDescription(initiativeId)
            )
        );
    }

    /// @dev Checks and consumes the (account, key) nonce, the deadline and `account`'s signature (EOA or ERC-1271).
    function _useSignature(
        address account,
        uint256 key,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        bytes calldata signature
    ) private {
        if (block.timestamp > deadline) revert ExpiredSignature(deadline);
        uint256 expected = _nonces[account][key];
        if (nonce != expected) revert InvalidNonce(account, key, expected);
        if (!SignatureChecker.isValidSignatureNow(account, _hashTypedDataV4(structHash), signature)) {
            revert InvalidSignature(account);
        }
        _nonces[account][key] = expected + 1;
    }

    function _initiative(uint256 initiativeId) private view returns (Initiative storage it) {
        it = _initiatives[initiativeId];
        if (it.author == address(0)) revert UnknownInitiative(initiativeId);
    }

    function _setDefaultThreshold(Threshold memory t) private {
        _checkThreshold(t);
        _defaultThreshold = t;
        emit DefaultThresholdSet(t.kind, t.value, t.collectionWindow);
    }

    function _checkThreshold(Threshold memory t) private pure {
        bool valueOk = t.kind == ThresholdKind.Absolute
            ? t.value >= 1 && t.value <= type(uint32).max
            : t.value >= 1 && t.value <= BASIS_POINTS;
        if (!valueOk || t.collectionWindow < MIN_COLLECTION_WINDOW || t.collectionWindow > MAX_COLLECTION_WINDOW) {
            revert InvalidThreshold();
        }
    }
}
