// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ICommonsTreasury
 * @notice A consortium's commons treasury: token balance split into an unassigned pool, per-area budgets
 * and amounts reserved by payers (decision contracts) for decisions already taken.
 *
 * Money only moves along these edges, each one evented:
 *   deposit / plain transfer -> unassigned  --assignBudget / withdrawBudget (admin)-->  area budget
 *   area budget --reserve (payer)--> reserved[payer][area] --pay (payer)--> recipient
 *   reserved[payer][area] --release (payer)--> area budget
 *   unassigned --withdraw (admin)--> recipient
 */
interface ICommonsTreasury {
    /// @notice Anyone funded the unassigned pool with `amount` tokens pulled from `from`.
    event Deposited(address indexed from, uint256 amount);
    /// @notice The admin moved `amount` from the unassigned pool into `areaId`'s budget.
    event BudgetAssigned(uint256 indexed areaId, uint256 amount, uint256 newBudget);
    /// @notice The admin moved `amount` from `areaId`'s budget back to the unassigned pool.
    event BudgetWithdrawn(uint256 indexed areaId, uint256 amount, uint256 newBudget);
    /// @notice The admin sent `amount` of the unassigned pool to `to` (an executed decision).
    event Withdrawn(address indexed to, uint256 amount, bytes32 indexed ref);
    /// @notice `payer` reserved `amount` of `areaId`'s budget for decision `ref`.
    event Reserved(address indexed payer, uint256 indexed areaId, uint256 amount, bytes32 indexed ref);
    /// @notice `payer` returned `amount` it had reserved to `areaId`'s budget.
    event Released(address indexed payer, uint256 indexed areaId, uint256 amount, bytes32 indexed ref);
    /// @notice `payer` paid `amount` of its reservation on `areaId` to `to`.
    event Paid(address indexed payer, uint256 indexed areaId, address indexed to, uint256 amount, bytes32 ref);

    /// @notice A zero address was given where an account or token is required.
    error TreasuryZeroAddress();
    /// @notice A zero amount was given.
    error TreasuryZeroAmount();
    /// @notice `requested` exceeds what is `available` in the pool the operation draws from.
    error InsufficientFunds(uint256 requested, uint256 available);

    /// @notice Pull `amount` tokens from the caller (who approved them) into the unassigned pool.
    function deposit(uint256 amount) external;

    /// @notice Move `amount` from the unassigned pool to `areaId`'s budget. DEFAULT_ADMIN_ROLE only.
    function assignBudget(uint256 areaId, uint256 amount) external;

    /// @notice Move `amount` from `areaId`'s budget back to the unassigned pool. DEFAULT_ADMIN_ROLE only.
    function withdrawBudget(uint256 areaId, uint256 amount) external;

    /// @notice Send `amount` of the unassigned pool to `to`. DEFAULT_ADMIN_ROLE only.
    function withdraw(address to, uint256 amount, bytes32 ref) external;

    /// @notice Reserve `amount` of `areaId`'s budget for the calling payer. PAYER_ROLE only.
    function reserve(uint256 areaId, uint256 amount, bytes32 ref) external;

    /// @notice Return `amount` of the caller's reservation on `areaId` to the area budget. PAYER_ROLE only.
    function release(uint256 areaId, uint256 amount, bytes32 ref) external;

    /// @notice Pay `amount` of the caller's reservation on `areaId` to `to`. PAYER_ROLE only.
    function pay(uint256 areaId, address to, uint256 amount, bytes32 ref) external;

    /// @notice The token the treasury holds.
    function token() external view returns (address);

    /// @notice Budget of `areaId` not yet reserved.
    function budgetOf(uint256 areaId) external view returns (uint256);

    /// @notice Amount of `areaId`'s budget reserved by `payer` and not yet paid or released.
    function reservedOf(address payer, uint256 areaId) external view returns (uint256);

    /// @notice Tokens held but assigned to no area and reserved by no payer.
    function unassigned() external view returns (uint256);
}
