// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {ICommonsToken} from "./interfaces/ICommonsToken.sol";

/**
 * @title CommonsToken
 * @notice "CO3 Commons" (CO3): the reward token of the commoning areas. Minted only by `MINTER_ROLE`
 * (the AttestationHub), spendable at participating services (transferred to the service, or burned when
 * the service is configured to burn on spend), with ERC-20 permit and ERC-5805 votes on a timestamp clock
 * so governance snapshots use the same clock as the rest of the suite.
 *
 * The first mint to an account that has no delegate self-delegates it, so citizens' balances count as
 * votes without an extra transaction. This happens once per account: an explicit later
 * `delegate(address(0))` is respected.
 *
 * Service supply: the balance held by accepted services is checkpointed (`getPastServiceSupply`), because
 * services are not citizens and cannot vote: governance subtracts it from the token-weighted quorum base.
 *
 * `spendBySig` nonces are the ERC-2612/ERC-5805 per-owner nonces (`nonces(owner)`): a signature is valid
 * only for the current nonce, and using any of permit / delegateBySig / spendBySig advances it.
 */
contract CommonsToken is ERC20, ERC20Permit, ERC20Votes, AccessControl, ICommonsToken {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Role allowed to mint rewards (granted to the AttestationHub).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice EIP-712 type hash of a gasless spend authorization.
    bytes32 public constant SPEND_TYPEHASH = keccak256(
        "Spend(address owner,address service,uint256 amount,bytes32 ref,uint256 nonce,uint256 deadline)"
    );

    struct ServiceConfig {
        bool accepted;
        bool burnOnSpend;
    }

    mapping(address service => ServiceConfig) private _services;
    mapping(address account => bool) private _autoDelegated;
    Checkpoints.Trace208 private _serviceSupply;

    /// @notice The balance held by accepted services changed to `newSupply`.
    event ServiceSupplyChanged(uint256 newSupply);

    /// @param admin Consortium admin (DEFAULT_ADMIN_ROLE): manages services and grants MINTER_ROLE.
    constructor(address admin) ERC20("CO3 Commons", "CO3") ERC20Permit("CO3 Commons") {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ICommonsToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        if (to == address(0)) revert ZeroAddress();
        if (!_autoDelegated[to]) {
            _autoDelegated[to] = true;
            if (delegates(to) == address(0)) {
                _delegate(to, to);
                emit AutoDelegated(to);
            }
        }
        _mint(to, amount);
    }

    /// @inheritdoc ICommonsToken
    function setService(address service, bool accepted, bool burnOnSpend) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (service == address(0)) revert ZeroAddress();
        bool was = _services[service].accepted;
        _services[service] = ServiceConfig({accepted: accepted, burnOnSpend: burnOnSpend});
        uint256 held = balanceOf(service);
        if (was != accepted && held != 0) {
            uint256 current = _serviceSupply.latest();
            _pushServiceSupply(accepted ? current + held : current - held);
        }
        emit ServiceUpdated(service, accepted, burnOnSpend);
    }

    /// @inheritdoc ICommonsToken
    function spend(address service, uint256 amount, bytes32 ref) external {
        _spend(_msgSender(), service, amount, ref);
    }

    /// @inheritdoc ICommonsToken
    function spendBySig(
        address owner,
        address service,
        uint256 amount,
        bytes32 ref,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert SpendExpiredSignature(deadline);
        bytes32 structHash =
            keccak256(abi.encode(SPEND_TYPEHASH, owner, service, amount, ref, _useNonce(owner), deadline));
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), signature);
        if (err != ECDSA.RecoverError.NoError || recovered != owner) revert SpendInvalidSigner(owner);
        _spend(owner, service, amount, ref);
    }

    // ---------------------------------------------------------------------------- key recovery (KeyRecovery)
    /// @notice Role of the KeyRecovery contract (and nothing else): moves a recovered citizen's balance.
    bytes32 public constant RECOVERY_ROLE = keccak256("RECOVERY_ROLE");

    /// @notice A key recovery moved the whole balance `amount` of `from` to `to`; `to` now delegates to
    /// `delegatee` (itself when `from` was self-delegated, otherwise the delegate `from` had chosen).
    event BalanceRecovered(address indexed from, address indexed to, uint256 amount, address indexed delegatee);

    /**
     * @notice Move the whole balance of a citizen's lost key `from` to its new key `to`, with its delegation.
     * RECOVERY_ROLE only (the KeyRecovery contract, after a registrar-attested, delayed, cancellable request).
     * @dev Why a dedicated function and not an allowance: the lost key cannot sign anything. The delegation
     * moves first so the voting units follow the tokens in `_update` (a self-delegated citizen stays
     * self-delegated at its new key; an explicit opt-out, `delegates(from) == 0`, is kept). Votes that other
     * accounts delegated *to* `from` are theirs and are not moved: they re-delegate themselves. Voting power
     * at past snapshots does not change (checkpoints), so the new key cannot vote again on running proposals.
     */
    function recoverBalance(address from, address to) external onlyRole(RECOVERY_ROLE) returns (uint256 amount) {
        if (from == address(0) || to == address(0)) revert ZeroAddress();
        address current = delegates(from);
        address delegatee = current == from ? to : current;
        _autoDelegated[to] = true;
        if (delegates(to) != delegatee) _delegate(to, delegatee);
        amount = balanceOf(from);
        if (amount != 0) _transfer(from, to, amount);
        emit BalanceRecovered(from, to, amount, delegatee);
    }
    // ------------------------------------------------------------------------ end of key recovery section

    /// @inheritdoc ICommonsToken
    function services(address service) external view returns (bool accepted, bool burnOnSpend) {
        ServiceConfig storage s = _services[service];
        return (s.accepted, s.burnOnSpend);
    }

    /// @inheritdoc ICommonsToken
    function getPastServiceSupply(uint256 timepoint) external view returns (uint256) {
        uint48 now_ = clock();
        if (timepoint >= now_) revert ERC5805FutureLookup(timepoint, now_);
        return _serviceSupply.upperLookupRecent(uint48(timepoint));
    }

    /// @inheritdoc ICommonsToken
    function serviceSupply() external view returns (uint256) {
        return _serviceSupply.latest();
    }

    /// @notice ERC-6372 clock: the block timestamp (consistent with the registry, reputation and governance).
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice ERC-6372 clock description.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _spend(address owner, address service, uint256 amount, bytes32 ref) private {
        if (amount == 0) revert ZeroAmount();
        ServiceConfig memory s = _services[service];
        if (!s.accepted) revert ServiceNotAccepted(service);
        if (s.burnOnSpend) {
            _burn(owner, amount);
        } else {
            _transfer(owner, service, amount);
        }
        emit Spent(owner, service, amount, ref, s.burnOnSpend);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
        bool fromService = from != address(0) && _services[from].accepted;
        bool toService = to != address(0) && _services[to].accepted;
        if (fromService != toService && value != 0) {
            uint256 current = _serviceSupply.latest();
            _pushServiceSupply(toService ? current + value : current - value);
        }
    }

    function _pushServiceSupply(uint256 newSupply) private {
        _serviceSupply.push(clock(), uint208(newSupply));
        emit ServiceSupplyChanged(newSupply);
    }
}
