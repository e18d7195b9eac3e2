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
     * @notice Called by governance right after `voter` cast an open vote on `proposalId`. If weight had been
     * counted through `voter` (delegators below it, or `voter` itself as a delegator), the delegation contract
     * moves it from the representative that held it to `voter`'s vote (`shiftDelegatedWeight`): a direct vote
     * overrides the delegation.
     */
    function onDirectVote(uint256 proposalId, address voter) external;
}
