// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title ConsortiumCouncil
 * @notice The PA council: an on-chain M-of-N of the consortium's member public administrations. A member
 * proposes a *motion* (a list of calls), members approve it, and once `threshold()` current members approve,
 * anyone executes it; the calls are then made by this contract.
 *
 * The council has no power of its own: it can do only what the roles it holds allow, namely
 * - schedule operations in the consortium timelock (PROPOSER_ROLE): every rule, role, reward or signer-set
 *   change then waits `getMinDelay()` seconds in public before anyone can execute it;
 * - cancel, in the timelock, operations that the council itself scheduled (never those queued by a citizens'
 *   vote in CO3Governance: this contract refuses such a cancel);
 * - act as guardian of CO3Governance (GUARDIAN_ROLE): cancel a proposal during its vote, with a reason.
 *
 * Membership: the council keeps its own member list, changed only by the timelock (`addMember`,
 * `removeMember`, `setThreshold`), i.e. by a council motion that waited the delay. Why not read the
 * validator set live: a validator address is a node's block-signing key, kept hot on a server, while a
 * council member is a PA's governance key (an officer's or a PA multisig); a compromised node must not also
 * vote rule changes. When a PA joins or leaves the consortium (ConsortiumValidators), the council adds or
 * removes its governance key by a motion; both changes are events an auditor can compare.
 *
 * Threshold: `threshold()` is ⌊n/2⌋+1 of the current members unless the timelock set a fixed value. Only
 * approvals of *current* members count (a removed member's approvals lapse, also if re-added), and a motion
 * lapses `MOTION_LIFETIME` after it was proposed. Loops run over at most `MAX_MEMBERS` members.
 */
contract ConsortiumCouncil {
    /// @notice Upper bound on the number of members (bounds every loop of this contract).
    uint256 public constant MAX_MEMBERS = 32;
    /// @notice A motion not executed within this time after its proposal can no longer be executed.
    uint256 public constant MOTION_LIFETIME = 30 days;

    /// @notice Lifecycle of a motion.
    enum MotionState {
        None,
        Open,
        Executed,
        Withdrawn,
        Expired
    }

    struct Motion {
        address proposer;
        uint64 createdAt;
        bool executed;
        bool withdrawn;
    }

    /// @notice The consortium timelock: the only account that may change members and threshold.
    TimelockController public immutable timelock;

    address[] private _members;
    /// @dev member => membership epoch (0 = not a member). A new epoch per admission voids old approvals.
    mapping(address account => uint256) private _memberEpoch;
    uint256 private _epochs;
    /// @dev 0 = majority of the current members.
    uint256 private _threshold;
    mapping(uint256 motionId => Motion) private _motions;
    mapping(uint256 motionId => mapping(address member => uint256 epoch)) private _approvals;
    /// @notice Timelock operations scheduled by this council (the only ones it may cancel).
    mapping(bytes32 operationId => bool) public scheduledByCouncil;

    /// @notice `account` became a member.
    event MemberAdded(address indexed account);
    /// @notice `account` stopped being a member.
    event MemberRemoved(address indexed account);
    /// @notice The threshold setting changed (0 = majority ⌊n/2⌋+1 of the current members).
    event ThresholdChanged(uint256 oldSetting, uint256 newSetting);
    /// @notice A member proposed a motion (and approved it).
    event MotionProposed(
        uint256 indexed motionId,
        address indexed proposer,
        address[] targets,
        uint256[] values,
        bytes[] calldatas,
        string description
    );
    /// @notice `member` approved the motion; `approvals` current-member approvals now count towards it.
    event MotionApproved(uint256 indexed motionId, address indexed member, uint256 approvals);
    /// @notice `member` withdrew its approval.
    event ApprovalRevoked(uint256 indexed motionId, address indexed member);
    /// @notice The proposer withdrew the motion.
    event MotionWithdrawn(uint256 indexed motionId);
    /// @notice The motion's calls were made by the council; `executor` sent the transaction.
    event MotionExecuted(uint256 indexed motionId, address indexed executor);

    /// @notice A zero address where an account is required.
    error ZeroAddress();
    /// @notice Only the timelock may call this function.
    error OnlyTimelock(address caller);
    /// @notice `account` is not a council member.
    error NotMember(address account);
    /// @notice `account` is already a member.
    error AlreadyMember(address account);
    /// @notice The member list would be empty or exceed `MAX_MEMBERS`.
    error InvalidMemberCount(uint256 count);
    /// @notice A threshold must be 0 (majority) or between 1 and the number of members.
    error InvalidThreshold(uint256 threshold, uint256 members);
    /// @notice The motion has no calls, or its arrays differ in length.
    error InvalidMotion();
    /// @notice A motion with this id exists already.
    error MotionExists(uint256 motionId);
    /// @notice The motion is not open (unknown, executed, withdrawn or expired).
    error MotionNotOpen(uint256 motionId, MotionState state);
    /// @notice `member` already approved (or has not approved, for a revocation).
    error ApprovalUnchanged(uint256 motionId, address member);
    /// @notice Only the motion's proposer may withdraw it.
    error NotProposer(address account, uint256 motionId);
    /// @notice Not enough current members approved the motion.
    error NotEnoughApprovals(uint256 motionId, uint256 approvals, uint256 threshold);
    /// @notice The council may cancel only timelock operations it scheduled.
    error NotCouncilOperation(bytes32 operationId);
    /// @notice Call `index` of the motion reverted (its revert data follows).
    error CallFailed(uint256 index, bytes returnData);

    modifier onlyTimelock() {
        if (msg.sender != address(timelock)) revert OnlyTimelock(msg.sender);
        _;
    }

    modifier onlyMember() {
        if (_memberEpoch[msg.sender] == 0) revert NotMember(msg.sender);
        _;
    }

    /**
     * @param timelock_ The consortium timelock (changes of members and threshold come from it).
     * @param members_ Governance keys of the member PAs (1 to `MAX_MEMBERS`, distinct).
     * @param threshold_ Approvals needed (0: majority ⌊n/2⌋+1 of the current members).
     */
    constructor(TimelockController timelock_, address[] memory members_, uint256 threshold_) {
        if (address(timelock_) == address(0)) revert ZeroAddress();
        if (members_.length == 0 || members_.length > MAX_MEMBERS) revert InvalidMemberCount(members_.length);
        timelock = timelock_;
        for (uint256 i = 0; i < members_.length; ++i) {
            _addMember(members_[i]);
        }
        _setThreshold(threshold_);
    }

    // ------------------------------------------------------------------ motions

    /// @notice Id of a motion: binds its calls and description.
    function hashMotion(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas,
        bytes32 descriptionHash
    ) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(targets, values, calldatas, descriptionHash)));
    }

    /**
     * @notice Propose a motion (members only); the proposer's approval is recorded.
     * @return motionId `hashMotion(targets, values, calldatas, keccak256(description))`.
     */
    function propose(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas,
        string calldata description
    ) external onlyMember returns (uint256 motionId) {
        if (targets.length == 0 || targets.length != values.length || targets.length != calldatas.length) {
            revert InvalidMotion();
        }
        motionId = hashMotion(targets, values, calldatas, keccak256(bytes(description)));
        if (_motions[motionId].proposer != address(0)) revert MotionExists(motionId);
        _motions[motionId] = Motion({
            proposer: msg.sender, createdAt: uint64(block.timestamp), executed: false, withdrawn: false
        });
        emit MotionProposed(motionId, msg.sender, targets, values, calldatas, description);
        _approve(motionId, msg.sender);
    }

    /// @notice Approve an open motion (members only).
    function approve(uint256 motionId) external onlyMember {
        _requireOpen(motionId);
        _approve(motionId, msg.sender);
    }

    /// @notice Withdraw the caller's approval of an open motion.
    function revokeApproval(uint256 motionId) external onlyMember {
        _requireOpen(motionId);
        if (_approvals[motionId][msg.sender] != _memberEpoch[msg.sender]) {
            revert ApprovalUnchanged(motionId, msg.sender);
        }
        delete _approvals[motionId][msg.sender];
        emit ApprovalRevoked(motionId, msg.sender);
    }

    /// @notice The proposer withdraws its open motion; it can then never be executed.
    function withdraw(uint256 motionId) external {
        _requireOpen(motionId);
        if (_motions[motionId].proposer != msg.sender) revert NotProposer(msg.sender, motionId);
        _motions[motionId].withdrawn = true;
        emit MotionWithdrawn(motionId);
    }

    /**
     * @notice Make the calls of an open motion that `threshold()` current members approved. Anyone may call.
     * Calls to the timelock are checked: `schedule`/`scheduleBatch` are recorded as council operations, and a
     * `cancel` is allowed only for a council operation.
     */
    function execute(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata calldatas,
        bytes32 descriptionHash
    ) external payable returns (uint256 motionId) {
        motionId = hashMotion(targets, values, calldatas, descriptionHash);
        _requireOpen(motionId);
        uint256 have = approvals(motionId);
        uint256 need = threshold();
        if (have < need) revert NotEnoughApprovals(motionId, have, need);
        _motions[motionId].executed = true;
        emit MotionExecuted(motionId, msg.sender);
        for (uint256 i = 0; i < targets.length; ++i) {
            if (targets[i] == address(timelock)) _checkTimelockCall(calldatas[i]);
            (bool ok, bytes memory ret) = targets[i].call{value: values[i]}(calldatas[i]);
            if (!ok) revert CallFailed(i, ret);
        }
    }

    // ------------------------------------------------------------------ membership (timelock only)

    /// @notice Admit `account` as a member. Timelock only.
    function addMember(address account) external onlyTimelock {
        if (_members.length >= MAX_MEMBERS) revert InvalidMemberCount(_members.length + 1);
        _addMember(account);
    }

    /// @notice Remove `account`; a fixed threshold must stay reachable. Timelock only.
    function removeMember(address account) external onlyTimelock {
        if (_memberEpoch[account] == 0) revert NotMember(account);
        uint256 n = _members.length;
        if (n == 1) revert InvalidMemberCount(0);
        if (_threshold > n - 1) revert InvalidThreshold(_threshold, n - 1);
        for (uint256 i = 0; i < n; ++i) {
            if (_members[i] == account) {
                _members[i] = _members[n - 1];
                _members.pop();
                break;
            }
        }
        delete _memberEpoch[account];
        emit MemberRemoved(account);
    }

    /// @notice Set the threshold (0 = majority of the current members). Timelock only.
    function setThreshold(uint256 newThreshold) external onlyTimelock {
        _setThreshold(newThreshold);
    }

    // ------------------------------------------------------------------ views

    /// @notice Current members.
    function members() external view returns (address[] memory) {
        return _members;
    }

    /// @notice Whether `account` is a current member.
    function isMember(address account) external view returns (bool) {
        return _memberEpoch[account] != 0;
    }

    /// @notice Approvals a motion needs now: the fixed setting, or ⌊n/2⌋+1 of the current members.
    function threshold() public view returns (uint256) {
        return _threshold == 0 ? _members.length / 2 + 1 : _threshold;
    }

    /// @notice The stored threshold setting (0 = majority).
    function thresholdSetting() external view returns (uint256) {
        return _threshold;
    }

    /// @notice Approvals of current members for `motionId`.
    function approvals(uint256 motionId) public view returns (uint256 count) {
        uint256 n = _members.length;
        for (uint256 i = 0; i < n; ++i) {
            address m = _members[i];
            if (_approvals[motionId][m] == _memberEpoch[m]) ++count;
        }
    }

    /// @notice Whether `member` (currently) approves `motionId`.
    function hasApproved(uint256 motionId, address member) external view returns (bool) {
        uint256 epoch = _memberEpoch[member];
        return epoch != 0 && _approvals[motionId][member] == epoch;
    }

    /// @notice Lifecycle state of a motion.
    function motionState(uint256 motionId) public view returns (MotionState) {
        Motion storage m = _motions[motionId];
        if (m.proposer == address(0)) return MotionState.None;
        if (m.executed) return MotionState.Executed;
        if (m.withdrawn) return MotionState.Withdrawn;
        if (block.timestamp > m.createdAt + MOTION_LIFETIME) return MotionState.Expired;
        return MotionState.Open;
    }

    /// @notice Proposer and creation time of a motion.
    function getMotion(uint256 motionId) external view returns (Motion memory) {
        return _motions[motionId];
    }

    // ------------------------------------------------------------------ internals

    function _approve(uint256 motionId, address member) private {
        uint256 epoch = _memberEpoch[member];
        if (_approvals[motionId][member] == epoch) revert ApprovalUnchanged(motionId, member);
        _approvals[motionId][member] = epoch;
        emit MotionApproved(motionId, member, approvals(motionId));
    }

    function _requireOpen(uint256 motionId) private view {
        MotionState s = motionState(motionId);
        if (s != MotionState.Open) revert MotionNotOpen(motionId, s);
    }

    function _addMember(address account) private {
        if (account == address(0)) revert ZeroAddress();
        if (_memberEpoch[account] != 0) revert AlreadyMember(account);
        _members.push(account);
        _memberEpoch[account] = ++_epochs;
        emit MemberAdded(account);
    }

    function _setThreshold(uint256 newThreshold) private {
        if (newThreshold > _members.length) revert InvalidThreshold(newThreshold, _members.length);
        emit ThresholdChanged(_threshold, newThreshold);
        _threshold = newThreshold;
    }

    /// @dev Records council-scheduled operations and allows cancelling only those.
    function _checkTimelockCall(bytes calldata data) private {
        if (data.length < 4) return;
        bytes4 selector = bytes4(data[:4]);
        if (selector == TimelockController.schedule.selector) {
            (address target, uint256 value, bytes memory payload, bytes32 predecessor, bytes32 salt,) =
                abi.decode(data[4:], (address, uint256, bytes, bytes32, bytes32, uint256));
            scheduledByCouncil[timelock.hashOperation(target, value, payload, predecessor, salt)] = true;
        } else if (selector == TimelockController.scheduleBatch.selector) {
            (address[] memory ts, uint256[] memory vs, bytes[] memory ps, bytes32 predecessor, bytes32 salt,) =
                abi.decode(data[4:], (address[], uint256[], bytes[], bytes32, bytes32, uint256));
            scheduledByCouncil[timelock.hashOperationBatch(ts, vs, ps, predecessor, salt)] = true;
        } else if (selector == TimelockController.cancel.selector) {
            bytes32 id = abi.decode(data[4:], (bytes32));
            if (!scheduledByCouncil[id]) revert NotCouncilOperation(id);
        }
    }
}
