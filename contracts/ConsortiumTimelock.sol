// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title ConsortiumTimelock
 * @notice The consortium executor: OpenZeppelin's `TimelockController`, unchanged, under the suite's name.
 * It holds DEFAULT_ADMIN_ROLE of every contract of the suite, so every change of a rule, a role, a reward or a
 * signer set is a scheduled operation (`CallScheduled`) that anyone can see for at least `getMinDelay()`
 * seconds before anyone can execute it (`CallExecuted`).
 *
 * Who may schedule (PROPOSER_ROLE): the PA council (`ConsortiumCouncil`, an on-chain M-of-N of the member
 * PAs) and `CO3Governance` (proposals with actions that citizens voted). Who may cancel (CANCELLER_ROLE): the
 * council, which cancels only operations it scheduled itself. Who may execute: anyone (EXECUTOR_ROLE is
 * granted to the zero address). The timelock is its own admin: changing its delay or its proposers is
 * itself a timelocked operation. OpenZeppelin's code is used as is so auditors and tools know its events.
 */
contract ConsortiumTimelock is TimelockController {
    /**
     * @param minDelay Seconds between scheduling and execution of every operation.
     * @param proposers Initial PROPOSER_ROLE and CANCELLER_ROLE holders (may be empty: granted during deploy).
     * @param executors Initial EXECUTOR_ROLE holders (the zero address opens execution to anyone).
     * @param admin Optional deploy-time admin that wires the roles and then renounces (zero: none).
     */
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
