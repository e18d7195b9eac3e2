// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IElectorates
 * @notice Who may vote on what: electorates of the consortium, read at a past timepoint of the timestamp
 * clock (ERC-6372 `mode=timestamp`) so that eligibility and quorum bases at a snapshot are provable.
 *
 * Electorate ids (a kind tag in the top byte, an id in the low bits; see docs/electorates.md):
 * - `0`: the whole consortium (every eligible citizen);
 * - `(1 << 248) | paId`: the citizens registered by one public administration;
 * - `(2 << 248) | groupId`: the members of one electoral group (district, area residence or association);
 * - `(3 << 248) | unionId`: a registered union of several groups of one PA and one exclusive kind (district or
 *   area residence): a citizen is in at most one group of such a kind, so the union's size is a sum.
 */
interface IElectorates {
    /// Whether `citizen` was an eligible citizen belonging to `electorate` at `timepoint` (0 = whole consortium).
    function isEligibleVoterAt(address citizen, uint256 electorate, uint48 timepoint) external view returns (bool);

    /// Number of eligible citizens in `electorate` at a past `timepoint`.
    function getPastElectorateSize(uint256 electorate, uint48 timepoint) external view returns (uint256);

    /// Whether `electorate` is defined (0, the whole consortium, always is).
    function electorateExists(uint256 electorate) external view returns (bool);

    /// @notice The PA an account acts for (registrar officer or area manager), 0 if unbound.
    function paOf(address account) external view returns (uint256);

    /// @notice The PA owning `electorate` (0 for the consortium or an undefined electorate).
    function electoratePa(uint256 electorate) external view returns (uint256);

    /// @notice The electorate of all citizens registered by the PA `account` acts for (0 if it acts for none):
    /// the default electorate of an area whose managing PA is `account`.
    function defaultElectorateOf(address account) external view returns (uint256);
}
