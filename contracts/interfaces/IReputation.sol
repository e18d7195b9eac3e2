// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IReputation
 * @notice Non-transferable, per-domain reputation with lazy exponential decay (one global half-life).
 * Domains: `GLOBAL_DOMAIN` = bytes32(0) accumulates every award; a commoning area's domain is
 * `bytes32(areaId)`. Past values are deterministic: they are computed from checkpoints, never from
 * mutable state, so governance can read them at a proposal snapshot.
 */
interface IReputation {
    /// @notice `rewarder` awarded `amount` to `account` in `domain`; `newScore` is the decayed score after it.
    event ReputationAwarded(
        address indexed account, bytes32 indexed domain, uint256 amount, uint256 newScore, address indexed rewarder
    );

    /// @notice The half-life is zero.
    error InvalidHalfLife();
    /// @notice The account is the zero address.
    error ZeroAddress();
    /// @notice Award amounts must be positive.
    error ZeroAmount();
    /// @notice `timepoint` is not strictly before the current clock.
    error FutureLookup(uint256 timepoint, uint48 clock);

    /// @notice Award `amount` reputation to `account` in `domain` (and in GLOBAL_DOMAIN). REWARDER_ROLE only.
    function award(address account, bytes32 domain, uint256 amount) external;

    /// @notice Current decayed score of `account` in `domain`.
    function scoreOf(address account, bytes32 domain) external view returns (uint256);

    /// @notice Current decayed sum of all scores in `domain`.
    function totalScore(bytes32 domain) external view returns (uint256);

    /// @notice Decayed score of `account` in `domain` at past `timepoint` (strictly before clock()).
    function getPastScore(address account, bytes32 domain, uint48 timepoint) external view returns (uint256);

    /// @notice Decayed total of `domain` at past `timepoint` (strictly before clock()).
    function getPastTotalScore(bytes32 domain, uint48 timepoint) external view returns (uint256);

    /// @notice Half-life of the decay in seconds (immutable, so past values never change).
    function halfLife() external view returns (uint48);

    /// @notice ERC-6372 clock: the block timestamp.
    function clock() external view returns (uint48);

    /// @notice ERC-6372 clock description: `mode=timestamp`.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external view returns (string memory);
}
