// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ILiquidDelegation
 * @notice What CO3Governance needs from the liquid-delegation contract: its binding and the hook run when a
 * citizen votes directly (a direct vote overrides the delegation for that proposal).
 */
interface ILiquidDelegation {
    /// @notice The governance contract this delegation contract counts for (checked when it is wired).
    function governance() external view returns (address);

    /**
     * @notice Called by governance right after `voter` cast an open vote on `proposalId`. If delegated weight
     * had been counted on a representative through `voter` (or `voter`'s own weight, counted as a delegator),
     * that weight leaves the representative: governance subtracts `moved` from `from`'s vote and adds
     * `regained` (the weight delegated to `voter`) to `voter`'s vote. `wasCounted` tells whether `voter`
     * itself had been counted as a delegator (its own weight is part of `moved`, not of `regained`).
     */
    function onDirectVote(uint256 proposalId, address voter)
        external
        returns (address from, uint256 moved, uint256 regained, bool wasCounted);
}
