// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ICommonsTreasury} from "./interfaces/ICommonsTreasury.sol";

/**
 * @title CommonsTreasury
 * @notice The consortium's commons treasury, holding one ERC-20 (normally CommonsToken, CO3) and keeping
 * per-area budgets (area id 0 = consortium-wide budget).
 *
 * Who may move money:
 * - DEFAULT_ADMIN_ROLE (the timelock executor after deploy) assigns budgets to areas, takes them back and
 *   withdraws the unassigned pool: every such move is a council decision that went through the delay.
 * - PAYER_ROLE holders (decision contracts such as ParticipatoryBudget, granted by the admin) reserve part
 *   of an area budget when a decision is opened, pay from their own reservation when it is executed, and
 *   release what they did not spend. A payer can never touch another payer's reservation, an area budget
 *   beyond what it reserved, or the unassigned pool.
 * Nobody else can move tokens out. Anyone may deposit (a donation cannot hurt: only the admin assigns it).
 *
 * Euro budgets: the treasury is token-agnostic. For a budget kept in euros, deploy a second instance over an
 * accounting-unit ERC-20 (for example 1 unit = 1 euro cent, minted only by the executor to mirror the
 * amount the PA's council appropriated). Payments then record an obligation the PA settles off-chain, and
 * the evidence hash given at delivery carries the bank transfer reference; the chain keeps the allocation
 * and its audit trail, the bank keeps the money. See docs/participatory-budget.md.
 */
contract CommonsTreasury is AccessControl, ICommonsTreasury {
    using SafeERC20 for IERC20;

    /// @notice Role of the decision contracts allowed to reserve, pay and release.
    bytes32 public constant PAYER_ROLE = keccak256("PAYER_ROLE");

    IERC20 private immutable _token;

    mapping(uint256 areaId => uint256) private _budgets;
    mapping(address payer => mapping(uint256 areaId => uint256)) private _reserved;
    uint256 private _totalBudgets;
    uint256 private _totalReserved;

    /// @param admin DEFAULT_ADMIN_ROLE holder (the deployer during wiring, the executor afterwards).
    /// @param token_ The held token (CommonsToken, or an accounting unit for euro budgets).
    constructor(address admin, address token_) {
        if (admin == address(0) || token_ == address(0)) revert TreasuryZeroAddress();
        _token = IERC20(token_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ICommonsTreasury
    function deposit(uint256 amount) external {
        if (amount == 0) revert TreasuryZeroAmount();
        emit Deposited(_msgSender(), amount);
        _token.safeTransferFrom(_msgSender(), address(this), amount);
    }

    /// @inheritdoc ICommonsTreasury
    function assignBudget(uint256 areaId, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (amount == 0) revert TreasuryZeroAmount();
        uint256 free = unassigned();
        if (amount > free) revert InsufficientFunds(amount, free);
        uint256 updated = _budgets[areaId] + amount;
        _budgets[areaId] = updated;
        _totalBudgets += amount;
        emit BudgetAssigned(areaId, amount, updated);
    }

    /// @inheritdoc ICommonsTreasury
    function withdrawBudget(uint256 areaId, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (amount == 0) revert TreasuryZeroAmount();
        uint256 budget = _budgets[areaId];
        if (amount > budget) revert InsufficientFunds(amount, budget);
        _budgets[areaId] = budget - amount;
        _totalBudgets -= amount;
        emit BudgetWithdrawn(areaId, amount, budget - amount);
    }

    /// @inheritdoc ICommonsTreasury
    function withdraw(address to, uint256 amount, bytes32 ref) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (to == address(0)) revert TreasuryZeroAddress();
        if (amount == 0) revert TreasuryZeroAmount();
        uint256 free = unassigned();
        if (amount > free) revert InsufficientFunds(amount, free);
        emit Withdrawn(to, amount, ref);
        _token.safeTransfer(to, amount);
    }

    /// @inheritdoc ICommonsTreasury
    function reserve(uint256 areaId, uint256 amount, bytes32 ref) external onlyRole(PAYER_ROLE) {
        if (amount == 0) revert TreasuryZeroAmount();
        uint256 budget = _budgets[areaId];
        if (amount > budget) revert InsufficientFunds(amount, budget);
        _budgets[areaId] = budget - amount;
        _totalBudgets -= amount;
        _reserved[_msgSender()][areaId] += amount;
        _totalReserved += amount;
        emit Reserved(_msgSender(), areaId, amount, ref);
    }

    /// @inheritdoc ICommonsTreasury
    function release(uint256 areaId, uint256 amount, bytes32 ref) external onlyRole(PAYER_ROLE) {
        if (amount == 0) revert TreasuryZeroAmount();
        _takeReservation(areaId, amount);
        _budgets[areaId] += amount;
        _totalBudgets += amount;
        emit Released(_msgSender(), areaId, amount, ref);
    }

    /// @inheritdoc ICommonsTreasury
    function pay(uint256 areaId, address to, uint256 amount, bytes32 ref) external onlyRole(PAYER_ROLE) {
        if (to == address(0)) revert TreasuryZeroAddress();
        if (amount == 0) revert TreasuryZeroAmount();
        _takeReservation(areaId, amount);
        emit Paid(_msgSender(), areaId, to, amount, ref);
        _token.safeTransfer(to, amount);
    }

    /// @inheritdoc ICommonsTreasury
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ICommonsTreasury
    function budgetOf(uint256 areaId) external view returns (uint256) {
        return _budgets[areaId];
    }

    /// @inheritdoc ICommonsTreasury
    function reservedOf(address payer, uint256 areaId) external view returns (uint256) {
        return _reserved[payer][areaId];
    }

    /// @inheritdoc ICommonsTreasury
    function unassigned() public view returns (uint256) {
        // Budgets and reservations are always backed: only pay/withdraw send tokens out, and both first
        // deduct from a backed pool, so the subtraction cannot underflow.
        return _token.balanceOf(address(this)) - _totalBudgets - _totalReserved;
    }

    /// @notice Total of all area budgets and of all payers' reservations.
    function committed() external view returns (uint256 budgets, uint256 reserved) {
        return (_totalBudgets, _totalReserved);
    }

    function _takeReservation(uint256 areaId, uint256 amount) private {
        uint256 held = _reserved[_msgSender()][areaId];
        if (amount > held) revert InsufficientFunds(amount, held);
        _reserved[_msgSender()][areaId] = held - amount;
        _totalReserved -= amount;
    }
}
