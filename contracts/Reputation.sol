// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IReputation} from "./interfaces/IReputation.sol";

/**
 * @title Reputation
 * @notice Non-transferable, per-domain reputation with lazy exponential decay. There are no transfer,
 * approval or delegation functions: reputation only arrives through `award` (REWARDER_ROLE, i.e. the
 * AttestationHub) and fades with time.
 *
 * Storage: for every (account, domain) and for every domain total, an append-only list of checkpoints
 * `(time, value)` where `value` is the decayed score right after the update at `time`. The score at any
 * `t` is the value of the latest checkpoint at or before `t`, decayed by `2^(-(t - time) / halfLife)`.
 * Past values therefore depend only on checkpoints, never on later awards: they are deterministic.
 *
 * Decay precision: `2^(-x)` is split into `2^(-floor(x))` (an exact right shift) and `2^(-frac(x))`,
 * with `frac(x)` truncated to 64 binary digits and evaluated as a product of 64 precomputed 128-bit
 * fixed-point constants `2^(-2^-j)` (each rounded to nearest). The relative error of the factor is below
 * 2^-63 (dominated by the 64-bit truncation of the exponent, which can only make the factor larger) and
 * the result is floored, so `|decayed(v, dt) - v * 2^(-dt/halfLife)| <= 1 + v * 2^-63`; the function is
 * monotone non-increasing in `dt`. Each award adds at most one unit of rounding to the stored value.
 *
 * Totals use the same checkpointed decay, so (up to that per-update rounding) the decayed total equals the
 * sum of the decayed parts: decay is multiplicative with one global, immutable half-life.
 */
contract Reputation is AccessControl, IReputation {
    /// @notice Role allowed to award reputation (granted to the AttestationHub).
    bytes32 public constant REWARDER_ROLE = keccak256("REWARDER_ROLE");

    /// @notice Domain that accumulates every award, whatever its own domain.
    bytes32 public constant GLOBAL_DOMAIN = bytes32(0);

    /// @notice One checkpoint: the decayed value right after the update at `time`.
    struct Point {
        uint48 time;
        uint208 value;
    }

    uint48 private immutable _halfLife;

    mapping(address account => mapping(bytes32 domain => Point[])) private _scores;
    mapping(bytes32 domain => Point[]) private _totals;

    /// @param admin Consortium admin (DEFAULT_ADMIN_ROLE): grants REWARDER_ROLE.
    /// @param halfLifeSeconds Half-life of the decay; immutable so past values never change.
    constructor(address admin, uint48 halfLifeSeconds) {
        if (admin == address(0)) revert ZeroAddress();
        if (halfLifeSeconds == 0) revert InvalidHalfLife();
        _halfLife = halfLifeSeconds;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IReputation
    function award(address account, bytes32 domain, uint256 amount) external onlyRole(REWARDER_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint48 now_ = clock();
        uint256 newScore = _add(_scores[account][domain], now_, amount);
        _add(_totals[domain], now_, amount);
        if (domain != GLOBAL_DOMAIN) {
            _add(_scores[account][GLOBAL_DOMAIN], now_, amount);
            _add(_totals[GLOBAL_DOMAIN], now_, amount);
            _trackDomain(account, domain);
        }
        emit ReputationAwarded(account, domain, amount, newScore, _msgSender());
    }

    // ---------------------------------------------------------------------------- key recovery (KeyRecovery)
    /// @notice Role of the KeyRecovery contract (and nothing else): moves a recovered citizen's scores.
    bytes32 public constant RECOVERY_ROLE = keccak256("RECOVERY_ROLE");

    /// @notice Most area domains remembered per account (bounds the recovery loop; GLOBAL_DOMAIN is extra).
    uint256 public constant MAX_TRACKED_DOMAINS = 64;

    /// @dev Area domains in which an account was ever awarded (GLOBAL_DOMAIN excluded), at most the cap.
    mapping(address account => bytes32[]) private _domainsOf;
    mapping(address account => mapping(bytes32 domain => bool)) private _tracked;

    /// @notice `account` earned in a domain beyond `MAX_TRACKED_DOMAINS`: a key recovery will not move that
    /// domain's score (its GLOBAL_DOMAIN part does move). Auditors can count these events.
    event DomainNotTracked(address indexed account, bytes32 indexed domain);
    /// @notice A key recovery moved `amount` (the decayed score at this block) of `from` in `domain` to `to`.
    event ReputationRecovered(address indexed from, address indexed to, bytes32 indexed domain, uint256 amount);

    /// @notice Area domains in which `account` holds (or held) a score, in first-award order.
    function domainsOf(address account) external view returns (bytes32[] memory) {
        return _domainsOf[account];
    }

    /**
     * @notice Move every score of a citizen's lost key `from` (GLOBAL_DOMAIN and each tracked area domain)
     * to its new key `to`. RECOVERY_ROLE only (the KeyRecovery contract).
     * @dev The amount moved is the decayed score now; `from` gets a zero checkpoint and `to` an added one, so
     * past scores of both stay as they were (a proposal's snapshot before the move sees the reputation at
     * the old key only: no double weight). Totals do not change. At most `MAX_TRACKED_DOMAINS` + 1 domains.
     * @return globalAmount the GLOBAL_DOMAIN score moved; domains the number of area domains moved.
     */
    function recoverScores(address from, address to)
        external
        onlyRole(RECOVERY_ROLE)
        returns (uint256 globalAmount, uint256 domains)
    {
        if (from == address(0) || to == address(0)) revert ZeroAddress();
        uint48 now_ = clock();
        bytes32[] memory list = _domainsOf[from];
        for (uint256 i = 0; i < list.length; ++i) {
            bytes32 domain = list[i];
            delete _tracked[from][domain];
            if (_moveScore(from, to, domain, now_) != 0) {
                _trackDomain(to, domain);
                ++domains;
            }
        }
        delete _domainsOf[from];
        globalAmount = _moveScore(from, to, GLOBAL_DOMAIN, now_);
    }

    function _moveScore(address from, address to, bytes32 domain, uint48 now_) private returns (uint256 amount) {
        Point[] storage src = _scores[from][domain];
        amount = _valueAt(src, now_);
        if (amount == 0) return 0;
        Point storage last = src[src.length - 1];
        if (last.time == now_) {
            last.value = 0;
        } else {
            src.push(Point(now_, 0));
        }
        _add(_scores[to][domain], now_, amount);
        emit ReputationRecovered(from, to, domain, amount);
    }

    function _trackDomain(address account, bytes32 domain) private {
        if (_tracked[account][domain]) return;
        if (_domainsOf[account].length >= MAX_TRACKED_DOMAINS) {
            emit DomainNotTracked(account, domain);
            return;
        }
        _tracked[account][domain] = true;
        _domainsOf[account].push(domain);
    }
    // ------------------------------------------------------------------------ end of key recovery section

    /// @inheritdoc IReputation
    function scoreOf(address account, bytes32 domain) external view returns (uint256) {
        return _valueAt(_scores[account][domain], clock());
    }

    /// @inheritdoc IReputation
    function totalScore(bytes32 domain) external view returns (uint256) {
        return _valueAt(_totals[domain], clock());
    }

    /// @inheritdoc IReputation
    function getPastScore(address account, bytes32 domain, uint48 timepoint) external view returns (uint256) {
        _checkPast(timepoint);
        return _valueAt(_scores[account][domain], timepoint);
    }

    /// @inheritdoc IReputation
    function getPastTotalScore(bytes32 domain, uint48 timepoint) external view returns (uint256) {
        _checkPast(timepoint);
        return _valueAt(_totals[domain], timepoint);
    }

    /// @inheritdoc IReputation
    function halfLife() external view returns (uint48) {
        return _halfLife;
    }

    /// @notice Number of checkpoints of `account` in `domain` (for auditors recomputing scores).
    function numCheckpoints(address account, bytes32 domain) external view returns (uint256) {
        return _scores[account][domain].length;
    }

    /// @notice Checkpoint `pos` of `account` in `domain`.
    function checkpointAt(address account, bytes32 domain, uint256 pos) external view returns (Point memory) {
        return _scores[account][domain][pos];
    }

    /// @notice `value` decayed over `elapsed` seconds with this contract's half-life (see precision above).
    function decayed(uint256 value, uint256 elapsed) public view returns (uint256) {
        uint256 halvings = elapsed / _halfLife;
        if (value == 0 || halvings >= 256) return 0;
        uint256 remainder = elapsed % _halfLife;
        if (remainder != 0) {
            // remainder < halfLife < 2^48, so the shift cannot overflow; frac < 2^64.
            value = Math.mulDiv(value, _exp2NegFraction((remainder << 64) / _halfLife), 1 << 128);
        }
        return value >> halvings;
    }

    /// @inheritdoc IReputation
    function clock() public view returns (uint48) {
        return Time.timestamp();
    }

    /// @inheritdoc IReputation
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external pure returns (string memory) {
        return "mode=timestamp";
    }

    /// @dev Appends (or, within the same second, rewrites) the checkpoint after adding `amount` at `now_`.
    function _add(Point[] storage points, uint48 now_, uint256 amount) private returns (uint256 newValue) {
        uint256 len = points.length;
        if (len == 0) {
            newValue = amount;
            points.push(Point(now_, SafeCast.toUint208(newValue)));
            return newValue;
        }
        Point storage last = points[len - 1];
        newValue = decayed(last.value, now_ - last.time) + amount;
        if (last.time == now_) {
            last.value = SafeCast.toUint208(newValue);
        } else {
            points.push(Point(now_, SafeCast.toUint208(newValue)));
        }
    }

    /// @dev Decayed value at `t` from the latest checkpoint with `time <= t` (binary search).
    function _valueAt(Point[] storage points, uint48 t) private view returns (uint256) {
        uint256 low = 0;
        uint256 high = points.length;
        while (low < high) {
            uint256 mid = Math.average(low, high);
            if (points[mid].time > t) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        if (high == 0) return 0;
        Point storage p = points[high - 1];
        return decayed(p.value, t - p.time);
    }

    function _checkPast(uint48 timepoint) private view {
        uint48 now_ = clock();
        if (timepoint >= now_) revert FutureLookup(timepoint, now_);
    }

    /// @dev 2^(-frac / 2^64) as a 128-bit fixed-point number, for frac < 2^64.
    function _exp2NegFraction(uint256 frac) private pure returns (uint256 f) {
        f = 1 << 128;
        unchecked {
            if (frac & 0x8000000000000000 != 0) f = (f * 0xb504f333f9de6484597d89b3754abe9f) >> 128;
            if (frac & 0x4000000000000000 != 0) f = (f * 0xd744fccad69d6af439a68bb9902d3fde) >> 128;
            if (frac & 0x2000000000000000 != 0) f = (f * 0xeac0c6e7dd24392ed02d75b3706e54fb) >> 128;
            if (frac & 0x1000000000000000 != 0) f = (f * 0xf5257d152486cc2c7b9d0c7aed980fc3) >> 128;
            if (frac & 0x800000000000000 != 0) f = (f * 0xfa83b2db722a033a7c25bb14315d7fcd) >> 128;
            if (frac & 0x400000000000000 != 0) f = (f * 0xfd3e0c0cf486c174853f3a5931e0ee03) >> 128;
            if (frac & 0x200000000000000 != 0) f = (f * 0xfe9e115c7b8f884badd25995e79d2f09) >> 128;
            if (frac & 0x100000000000000 != 0) f = (f * 0xff4ecb59511ec8a5301ba217ef18dd7c) >> 128;
            if (frac & 0x80000000000000 != 0) f = (f * 0xffa756521c8daed19f3a1b48fb94c589) >> 128;
            if (frac & 0x40000000000000 != 0) f = (f * 0xffd3a751c0f7e10bd3b9f8ae012fbe07) >> 128;
            if (frac & 0x20000000000000 != 0) f = (f * 0xffe9d2b2f7db2755ddf1d28a378a438c) >> 128;
            if (frac & 0x10000000000000 != 0) f = (f * 0xfff4e91bff1b8c3d88338e0ebf284a4e) >> 128;
            if (frac & 0x8000000000000 != 0) f = (f * 0xfffa747ea0040664238f92f792405806) >> 128;
            if (frac & 0x4000000000000 != 0) f = (f * 0xfffd3a3b7814eb53cd7629d70fea116a) >> 128;
            if (frac & 0x2000000000000 != 0) f = (f * 0xfffe9d1cc60ddab126de1aec4a87e7b9) >> 128;
            if (frac & 0x1000000000000 != 0) f = (f * 0xffff4e8e25879bfa09ea263360240c1a) >> 128;
            if (frac & 0x800000000000 != 0) f = (f * 0xffffa7470363f4515426d76c762b6b62) >> 128;
            if (frac & 0x400000000000 != 0) f = (f * 0xffffd3a37dda03133bde87a8379c8933) >> 128;
            if (frac & 0x200000000000 != 0) f = (f * 0xffffe9d1bdf703aef21ea4dcfb0682d8) >> 128;
            if (frac & 0x100000000000 != 0) f = (f * 0xfffff4e8debe025e24128a3d460731f2) >> 128;
            if (frac & 0x80000000000 != 0) f = (f * 0xfffffa746f4fa1506788fbc89750bf71) >> 128;
            if (frac & 0x40000000000 != 0) f = (f * 0xfffffd3a37a3f8b07e7c4871dc00d76f) >> 128;
            if (frac & 0x20000000000 != 0) f = (f * 0xfffffe9d1bd1065a50971275792f1c84) >> 128;
            if (frac & 0x10000000000 != 0) f = (f * 0xffffff4e8de845adac77243cd0914b37) >> 128;
            if (frac & 0x8000000000 != 0) f = (f * 0xffffffa746f41376f74124cd483186d4) >> 128;
            if (frac & 0x4000000000 != 0) f = (f * 0xffffffd3a37a05e383e14c90273c94f6) >> 128;
            if (frac & 0x2000000000 != 0) f = (f * 0xffffffe9d1bd01fbc400bf822dc936b5) >> 128;
            if (frac & 0x1000000000 != 0) f = (f * 0xfffffff4e8de80c062846365949b61af) >> 128;
            if (frac & 0x800000000 != 0) f = (f * 0xfffffffa746f4050d1633246a8a0e09a) >> 128;
            if (frac & 0x400000000 != 0) f = (f * 0xfffffffd3a37a02490b9d93da3c1ebd0) >> 128;
            if (frac & 0x200000000 != 0) f = (f * 0xfffffffe9d1bd011525efca410b8eab8) >> 128;
            if (frac & 0x100000000 != 0) f = (f * 0xffffffff4e8de8086bb002532d71e54d) >> 128;
            if (frac & 0x80000000 != 0) f = (f * 0xffffffffa746f40426782229daaa3cfb) >> 128;
            if (frac & 0x40000000 != 0) f = (f * 0xffffffffd3a37a020f641954fda6eedd) >> 128;
            if (frac & 0x20000000 != 0) f = (f * 0xffffffffe9d1bd0106bc0eba82d29b40) >> 128;
            if (frac & 0x10000000 != 0) f = (f * 0xfffffffff4e8de80832087e142666c8c) >> 128;
            if (frac & 0x8000000 != 0) f = (f * 0xfffffffffa746f404180e411a17228c0) >> 128;
            if (frac & 0x4000000 != 0) f = (f * 0xfffffffffd3a37a020bc9a1110c8c656) >> 128;
            if (frac & 0x2000000 != 0) f = (f * 0xfffffffffe9d1bd0105d570a98684e54) >> 128;
            if (frac & 0x1000000 != 0) f = (f * 0xffffffffff4e8de8082e6e05d03521c9) >> 128;
            if (frac & 0x800000 != 0) f = (f * 0xffffffffffa746f4041727a3091acf87) >> 128;
            if (frac & 0x400000 != 0) f = (f * 0xffffffffffd3a37a020b8ff98ccd776c) >> 128;
            if (frac & 0x200000 != 0) f = (f * 0xffffffffffe9d1bd0105c706c876bfa0) >> 128;
            if (frac & 0x100000 != 0) f = (f * 0xfffffffffff4e8de8082e345e4bf60ca) >> 128;
            if (frac & 0x80000 != 0) f = (f * 0xfffffffffffa746f404171939280b0a4) >> 128;
            if (frac & 0x40000 != 0) f = (f * 0xfffffffffffd3a37a020b8c5f1489862) >> 128;
            if (frac & 0x20000 != 0) f = (f * 0xfffffffffffe9d1bd0105c6202a65c35) >> 128;
            if (frac & 0x10000 != 0) f = (f * 0xffffffffffff4e8de8082e30c3d3b21b) >> 128;
            if (frac & 0x8000 != 0) f = (f * 0xffffffffffffa746f40417185289fa0e) >> 128;
            if (frac & 0x4000 != 0) f = (f * 0xffffffffffffd3a37a020b8c256d0547) >> 128;
            if (frac & 0x2000 != 0) f = (f * 0xffffffffffffe9d1bd0105c611c084b4) >> 128;
            if (frac & 0x1000 != 0) f = (f * 0xfffffffffffff4e8de8082e308a2c2de) >> 128;
            if (frac & 0x800 != 0) f = (f * 0xfffffffffffffa746f40417184420190) >> 128;
            if (frac & 0x400 != 0) f = (f * 0xfffffffffffffd3a37a020b8c21d28d0) >> 128;
            if (frac & 0x200 != 0) f = (f * 0xfffffffffffffe9d1bd0105c610d9e6a) >> 128;
            if (frac & 0x100 != 0) f = (f * 0xffffffffffffff4e8de8082e308691b6) >> 128;
            if (frac & 0x80 != 0) f = (f * 0xffffffffffffffa746f404171843397b) >> 128;
            if (frac & 0x40 != 0) f = (f * 0xffffffffffffffd3a37a020b8c2198e5) >> 128;
            if (frac & 0x20 != 0) f = (f * 0xffffffffffffffe9d1bd0105c610cb7d) >> 128;
            if (frac & 0x10 != 0) f = (f * 0xfffffffffffffff4e8de8082e3086581) >> 128;
            if (frac & 0x8 != 0) f = (f * 0xfffffffffffffffa746f4041718432b1) >> 128;
            if (frac & 0x4 != 0) f = (f * 0xfffffffffffffffd3a37a020b8c21955) >> 128;
            if (frac & 0x2 != 0) f = (f * 0xfffffffffffffffe9d1bd0105c610ca9) >> 128;
            if (frac & 0x1 != 0) f = (f * 0xffffffffffffffff4e8de8082e308654) >> 128;
        }
    }
}
