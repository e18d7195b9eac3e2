// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ICommonsToken
 * @notice CO3-specific surface of the commons token. The token is also ERC-20, ERC-2612 (permit) and
 * ERC-5805 (`IVotes` + ERC-6372 with `mode=timestamp`): import OpenZeppelin's `IVotes`/`IERC5805` for
 * `getPastVotes` / `getPastTotalSupply` / `delegate`.
 */
interface ICommonsToken {
    /// @notice Admin set how `service` accepts tokens.
    event ServiceUpdated(address indexed service, bool accepted, bool burnOnSpend);
    /// @notice `owner` spent `amount` at `service`; `burned` tells whether the tokens were burned or transferred.
    event Spent(address indexed owner, address indexed service, uint256 amount, bytes32 indexed ref, bool burned);
    /// @notice `account` was self-delegated automatically on its first mint.
    event AutoDelegated(address indexed account);

    /// @notice The address is zero.
    error ZeroAddress();
    /// @notice Spend amounts must be positive.
    error ZeroAmount();
    /// @notice `service` is not an accepted participating service.
    error ServiceNotAccepted(address service);
    /// @notice The spend authorization expired (`block.timestamp > deadline`).
    error SpendExpiredSignature(uint256 deadline);
    /// @notice The spend signature does not recover to `owner` for the current nonce.
    error SpendInvalidSigner(address owner);

    /// @notice Mint `amount` to `to`. MINTER_ROLE only (the AttestationHub).
    function mint(address to, uint256 amount) external;

    /// @notice Admin: accept (or stop accepting) `service`; `burnOnSpend` burns spent tokens instead of transferring.
    function setService(address service, bool accepted, bool burnOnSpend) external;

    /// @notice Spend `amount` of the caller's tokens at accepted `service` with a free-form reference.
    function spend(address service, uint256 amount, bytes32 ref) external;

    /// @notice Gasless spend: a relayer submits `owner`'s EIP-712 `Spend` signature (current nonce, deadline).
    function spendBySig(
        address owner,
        address service,
        uint256 amount,
        bytes32 ref,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice How `service` accepts tokens.
    function services(address service) external view returns (bool accepted, bool burnOnSpend);

    /// @notice Tokens held by accepted services at `timepoint` (< clock()): they cannot vote, so governance
    /// leaves them out of the token-weighted quorum base.
    function getPastServiceSupply(uint256 timepoint) external view returns (uint256);

    /// @notice Tokens held by accepted services now.
    function serviceSupply() external view returns (uint256);
}
