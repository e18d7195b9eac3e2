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
 * `(time, value)` where `value` is the decayed score right after the update at `time`, in fixed point with 64
 * fractional bits (units of 2^-64 points, see `checkpointAt`). The score at any `t` is the value of the latest
 * checkpoint at or before `t`, decayed by `2^(-(t - time) / halfLife)` and rounded to the nearest whole point
 * (halves up). Past values therefore depend only on checkpoints, never on later awards: they are deterministic.
 *
 * Rounding, and why: a reward of 5 must read 5 until the decay has really taken half a point away (27 days with
 * a 180-day half-life), then fall by halves over half-lives (3 after one, 1 after two and three, 0 after four).
 * So a read rounds once, to nearest: `value * 2^(-frac(x)) / 2^(floor(x))` is one product of `value` and the
 * 128-bit factor `2^(-frac(x))` over one power of two, computed by `Math.mulDiv` with its 512-bit intermediate
 * (`value` may use 208 bits and the factor 128, so the product does not fit 256 bits), and the remainder decides
 * the half. Checkpoints are never rounded to whole points: an update stores `decay(stored) + amount` at 2^-64
 * resolution, rounded down. Rounding the stored value to whole points would let frequent updates (a busy domain's
 * total is re-checkpointed by every award in it) mint or erase score: to nearest, a value below about
 * `halfLife / (2 ln 2 * gap)` points (11 million for per-second updates at 180 days) loses less than half a point
 * per update and would never decay, and one point a day would stall near half its true sum; floored (the
 * previous rule), every update lost up to a point and one point a day stayed at 1.
 *
 * Decay precision: with `x = elapsed / halfLife`, `frac(x)` is rounded *up* to 64 binary digits and `2^(-frac(x))`
 * is a product of 64 constants `2^(-2^-j)` in 128-bit fixed point, rounded down, each product rounded down. So
 * every step errs low and the factor `F` satisfies `F_exact * (1 - 2^-64) < F <= F_exact`. For a list of
 * checkpoints with `n` updates whose values stayed below `V` points, and `E` the exact score (every award decayed
 * exactly, recoveries moved exactly):
 * - a read never exceeds `round(E)`: no sequence of awards, recoveries or re-checkpoints, however many or small,
 *   lifts a score above its exact value by more than half a point;
 * - with the drift `d = (n + 1) * (V + 1) * 2^-64` points, `round(E - d) <= read <= round(E)`: a read is
 *   `round(E)` unless `E` lies within `d` above a half (for `V < 2^32` points and `n < 2^24` updates, `d` is
 *   below 2^-7 points; it only exceeds a point for values above 2^63 / n);
 * - `decayed(v, dt)` (whole points, rounded half up) is within `1/2 + v * 2^-64` of `v * 2^(-dt / halfLife)`,
 *   never above its rounding, and non-increasing in `dt`.
 *
 * Totals use the same fixed-point checkpoints, and a key recovery moves the exact stored value, so the exact total
 * equals the sum of the exact parts (decay is multiplicative with one global, immutable half-life). Reads of a
 * total and of its k non-zero parts round independently, so `|total - sum(parts)| <= floor(k / 2)` points (each
 * part moves by less than half a point, the total's own rounding absorbs the rest), plus one only when a value
 * lies within its drift of a half.
 */
contract Reputation is AccessControl, IReputation {
    /// @notice Role allowed to award reputation (granted to the AttestationHub).
    bytes32 public constant REWARDER_ROLE = keccak256("REWARDER_ROLE");

    /// @notice Domain that accumulates every award, whatever its own domain.
    bytes32 public constant GLOBAL_DOMAIN = bytes32(0);

    /// @notice One checkpoint: the decayed value right after the update at `time`, in units of 2^-64 points
    /// (`value >> 64` whole points; reads round `value` decayed to the nearest point).
    struct Point {
        uint48 time;
        uint208 value;
    }

    /// @dev Checkpoint values are fixed point with this many fractional bits (units of 2^-64 points).
    uint256 private constant _FRACTION_BITS = 64;

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
        // At most 2^144 - 1 points, so that the fixed-point value fits a checkpoint's 208 bits.
        uint256 scaled = uint256(SafeCast.toUint144(amount)) << _FRACTION_BITS;
        uint256 newScore = _add(_scores[account][domain], now_, scaled);
        _add(_totals[domain], now_, scaled);
        if (domain != GLOBAL_DOMAIN) {
            _add(_scores[account][GLOBAL_DOMAIN], now_, scaled);
            _add(_totals[GLOBAL_DOMAIN], now_, scaled);
            _trackDomain(account, domain);
        }
        emit ReputationAwarded(account, domain, amount, _roundedPoints(newScore), _msgSender());
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
    /// @notice A key recovery moved the score of `from` in `domain` to `to`; `amount` is that score at this block
    /// (rounded to whole points like `scoreOf`; the exact fixed-point value is what moves).
    event ReputationRecovered(address indexed from, address indexed to, bytes32 indexed domain, uint256 amount);

    /// @notice Area domains in which `account` holds (or held) a score, in first-award order.
    function domainsOf(address account) external view returns (bytes32[] memory) {
        return _domainsOf[account];
    }

    /**
     * @notice Move every score of a citizen's lost key `from` (GLOBAL_DOMAIN and each tracked area domain)
     * to its new key `to`. RECOVERY_ROLE only (the KeyRecovery contract).
     * @dev The amount moved is the exact (fixed-point) decayed score now, so a move neither rounds nor mints:
     * `from` gets a zero checkpoint and `to` an added one, so past scores of both stay as they were (a proposal's
     * snapshot before the move sees the reputation at the old key only: no double weight). A score that reads 0
     * (below half a point) is not moved. Totals do not change. At most `MAX_TRACKED_DOMAINS` + 1 domains.
     * @return globalAmount the GLOBAL_DOMAIN score moved (whole points, as `scoreOf` read it); domains the number
     * of area domains moved.
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
        uint256 scaled = _storedAt(src, now_);
        amount = _roundedPoints(scaled);
        if (amount == 0) return 0;
        Point storage last = src[src.length - 1];
        if (last.time == now_) {
            last.value = 0;
        } else {
            src.push(Point(now_, 0));
        }
        _add(_scores[to][domain], now_, scaled);
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

    /// @notice Checkpoint `pos` of `account` in `domain`; its `value` is in units of 2^-64 points (see `Point`).
    function checkpointAt(address account, bytes32 domain, uint256 pos) external view returns (Point memory) {
        return _scores[account][domain][pos];
    }

    /**
     * @notice `value` whole points decayed over `elapsed` seconds with this contract's half-life, rounded to the
     * nearest point (halves up): what a score of `value` reads `elapsed` seconds after its last update (see the
     * precision statement above).
     */
    function decayed(uint256 value, uint256 elapsed) public view returns (uint256) {
        return _decay(value, elapsed, 0, true);
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

    /**
     * @dev Appends (or, within the same second, rewrites) the checkpoint after adding `scaled` (2^-64 points) at
     * `now_`. The previous value is decayed rounded down, never to whole points (see the contract's NatSpec).
     * @return newValue the new checkpoint value, in 2^-64 points.
     */
    function _add(Point[] storage points, uint48 now_, uint256 scaled) private returns (uint256 newValue) {
        uint256 len = points.length;
        if (len == 0) {
            newValue = scaled;
            points.push(Point(now_, SafeCast.toUint208(newValue)));
            return newValue;
        }
        Point storage last = points[len - 1];
        newValue = _decay(last.value, now_ - last.time, 0, false) + scaled;
        if (last.time == now_) {
            last.value = SafeCast.toUint208(newValue);
        } else {
            points.push(Point(now_, SafeCast.toUint208(newValue)));
        }
    }

    /// @dev Score at `t` in whole points: the latest checkpoint at or before `t`, decayed and rounded once.
    function _valueAt(Point[] storage points, uint48 t) private view returns (uint256) {
        (uint256 value, uint256 elapsed) = _checkpointAt(points, t);
        return _decay(value, elapsed, _FRACTION_BITS, true);
    }

    /// @dev Score at `t` in 2^-64 points, rounded down (what a key recovery moves).
    function _storedAt(Point[] storage points, uint48 t) private view returns (uint256) {
        (uint256 value, uint256 elapsed) = _checkpointAt(points, t);
        return _decay(value, elapsed, 0, false);
    }

    /// @dev Value of the latest checkpoint with `time <= t` (binary search) and the seconds since; (0, 0) if none.
    function _checkpointAt(Point[] storage points, uint48 t) private view returns (uint256 value, uint256 elapsed) {
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
        if (high == 0) return (0, 0);
        Point storage p = points[high - 1];
        return (p.value, t - p.time);
    }

    /// @dev A fixed-point value (2^-64 points) as whole points, rounded half up: how it reads without decay.
    function _roundedPoints(uint256 scaled) private pure returns (uint256) {
        return (scaled >> _FRACTION_BITS) + ((scaled >> (_FRACTION_BITS - 1)) & 1);
    }

    /**
     * @dev `value * 2^(-elapsed / halfLife) / 2^extraBits`, rounded down or half up, once. The decay factor is
     * `F / 2^(128 + floor(x))` with `F = 2^(-frac(x))` in 128-bit fixed point (frac rounded up, so `F` errs low),
     * so the result is the single quotient `value * F / 2^shift`, `shift = 128 + floor(x) + extraBits`, taken
     * by `Math.mulDiv` over the full 512-bit product; `mulmod` gives the remainder that decides the half.
     */
    function _decay(uint256 value, uint256 elapsed, uint256 extraBits, bool halfUp) private view returns (uint256) {
        uint256 halvings = elapsed / _halfLife;
        if (value == 0 || halvings > 256) return 0;
        uint256 shift = 128 + halvings + extraBits;
        // value * F < 2^384, so beyond that shift the quotient is below 1/2: zero in both roundings.
        if (shift > 384) return 0;
        uint256 remainder = elapsed % _halfLife;
        // remainder < halfLife < 2^48, so the shift cannot overflow and the rounded-up fraction stays < 2^64.
        uint256 factor = remainder == 0 ? 1 << 128 : _exp2NegFraction(Math.ceilDiv(remainder << 64, _halfLife));
        if (shift < 256) {
            uint256 denominator = 1 << shift;
            // At most `value` (shift >= 128 and F <= 2^128); equal only when F = 2^128 and shift = 128, where the
            // remainder is zero, so the + 1 cannot overflow.
            uint256 quotient = Math.mulDiv(value, factor, denominator);
            if (halfUp && mulmod(value, factor, denominator) >= denominator >> 1) ++quotient;
            return quotient;
        }
        // floor(value * F / 2^(shift - 1)) in two steps (nested floors by powers of two compose exactly); < 2^129.
        uint256 halves = Math.mulDiv(value, factor, 1 << 255) >> (shift - 256);
        return halfUp ? (halves >> 1) + (halves & 1) : halves >> 1;
    }

    function _checkPast(uint48 timepoint) private view {
        uint48 now_ = clock();
        if (timepoint >= now_) revert FutureLookup(timepoint, now_);
    }

    /// @dev 2^(-frac / 2^64) as a 128-bit fixed-point number, for frac < 2^64, never above the exact value:
    /// the constants 2^(-2^-j) * 2^128 are rounded down and so is every product.
    function _exp2NegFraction(uint256 frac) private pure returns (uint256 f) {
        f = 1 << 128;
        unchecked {
            if (frac & 0x8000000000000000 != 0) f = (f * 0xb504f333f9de6484597d89b3754abe9f) >> 128;
            if (frac & 0x4000000000000000 != 0) f = (f * 0xd744fccad69d6af439a68bb9902d3fde) >> 128;
            if (frac & 0x2000000000000000 != 0) f = (f * 0xeac0c6e7dd24392ed02d75b3706e54fa) >> 128;
            if (frac & 0x1000000000000000 != 0) f = (f * 0xf5257d152486cc2c7b9d0c7aed980fc3) >> 128;
            if (frac & 0x800000000000000 != 0) f = (f * 0xfa83b2db722a033a7c25bb14315d7fcc) >> 128;
            if (frac & 0x400000000000000 != 0) f = (f * 0xfd3e0c0cf486c174853f3a5931e0ee03) >> 128;
            if (frac & 0x200000000000000 != 0) f = (f * 0xfe9e115c7b8f884badd25995e79d2f09) >> 128;
            if (frac & 0x100000000000000 != 0) f = (f * 0xff4ecb59511ec8a5301ba217ef18dd7c) >> 128;
            if (frac & 0x80000000000000 != 0) f = (f * 0xffa756521c8daed19f3a1b48fb94c589) >> 128;
            if (frac & 0x40000000000000 != 0) f = (f * 0xffd3a751c0f7e10bd3b9f8ae012fbe06) >> 128;
            if (frac & 0x20000000000000 != 0) f = (f * 0xffe9d2b2f7db2755ddf1d28a378a438c) >> 128;
            if (frac & 0x10000000000000 != 0) f = (f * 0xfff4e91bff1b8c3d88338e0ebf284a4d) >> 128;
            if (frac & 0x8000000000000 != 0) f = (f * 0xfffa747ea0040664238f92f792405805) >> 128;
            if (frac & 0x4000000000000 != 0) f = (f * 0xfffd3a3b7814eb53cd7629d70fea116a) >> 128;
            if (frac & 0x2000000000000 != 0) f = (f * 0xfffe9d1cc60ddab126de1aec4a87e7b8) >> 128;
            if (frac & 0x1000000000000 != 0) f = (f * 0xffff4e8e25879bfa09ea263360240c1a) >> 128;
            if (frac & 0x800000000000 != 0) f = (f * 0xffffa7470363f4515426d76c762b6b61) >> 128;
            if (frac & 0x400000000000 != 0) f = (f * 0xffffd3a37dda03133bde87a8379c8932) >> 128;
            if (frac & 0x200000000000 != 0) f = (f * 0xffffe9d1bdf703aef21ea4dcfb0682d8) >> 128;
            if (frac & 0x100000000000 != 0) f = (f * 0xfffff4e8debe025e24128a3d460731f1) >> 128;
            if (frac & 0x80000000000 != 0) f = (f * 0xfffffa746f4fa1506788fbc89750bf71) >> 128;
            if (frac & 0x40000000000 != 0) f = (f * 0xfffffd3a37a3f8b07e7c4871dc00d76e) >> 128;
            if (frac & 0x20000000000 != 0) f = (f * 0xfffffe9d1bd1065a50971275792f1c83) >> 128;
            if (frac & 0x10000000000 != 0) f = (f * 0xffffff4e8de845adac77243cd0914b37) >> 128;
            if (frac & 0x8000000000 != 0) f = (f * 0xffffffa746f41376f74124cd483186d4) >> 128;
            if (frac & 0x4000000000 != 0) f = (f * 0xffffffd3a37a05e383e14c90273c94f5) >> 128;
            if (frac & 0x2000000000 != 0) f = (f * 0xffffffe9d1bd01fbc400bf822dc936b5) >> 128;
            if (frac & 0x1000000000 != 0) f = (f * 0xfffffff4e8de80c062846365949b61af) >> 128;
            if (frac & 0x800000000 != 0) f = (f * 0xfffffffa746f4050d1633246a8a0e09a) >> 128;
            if (frac & 0x400000000 != 0) f = (f * 0xfffffffd3a37a02490b9d93da3c1ebcf) >> 128;
            if (frac & 0x200000000 != 0) f = (f * 0xfffffffe9d1bd011525efca410b8eab7) >> 128;
            if (frac & 0x100000000 != 0) f = (f * 0xffffffff4e8de8086bb002532d71e54d) >> 128;
            if (frac & 0x80000000 != 0) f = (f * 0xffffffffa746f40426782229daaa3cfa) >> 128;
            if (frac & 0x40000000 != 0) f = (f * 0xffffffffd3a37a020f641954fda6eedd) >> 128;
            if (frac & 0x20000000 != 0) f = (f * 0xffffffffe9d1bd0106bc0eba82d29b40) >> 128;
            if (frac & 0x10000000 != 0) f = (f * 0xfffffffff4e8de80832087e142666c8b) >> 128;
            if (frac & 0x8000000 != 0) f = (f * 0xfffffffffa746f404180e411a17228bf) >> 128;
            if (frac & 0x4000000 != 0) f = (f * 0xfffffffffd3a37a020bc9a1110c8c656) >> 128;
            if (frac & 0x2000000 != 0) f = (f * 0xfffffffffe9d1bd0105d570a98684e53) >> 128;
            if (frac & 0x1000000 != 0) f = (f * 0xffffffffff4e8de8082e6e05d03521c9) >> 128;
            if (frac & 0x800000 != 0) f = (f * 0xffffffffffa746f4041727a3091acf87) >> 128;
            if (frac & 0x400000 != 0) f = (f * 0xffffffffffd3a37a020b8ff98ccd776b) >> 128;
            if (frac & 0x200000 != 0) f = (f * 0xffffffffffe9d1bd0105c706c876bf9f) >> 128;
            if (frac & 0x100000 != 0) f = (f * 0xfffffffffff4e8de8082e345e4bf60ca) >> 128;
            if (frac & 0x80000 != 0) f = (f * 0xfffffffffffa746f404171939280b0a3) >> 128;
            if (frac & 0x40000 != 0) f = (f * 0xfffffffffffd3a37a020b8c5f1489861) >> 128;
            if (frac & 0x20000 != 0) f = (f * 0xfffffffffffe9d1bd0105c6202a65c34) >> 128;
            if (frac & 0x10000 != 0) f = (f * 0xffffffffffff4e8de8082e30c3d3b21b) >> 128;
            if (frac & 0x8000 != 0) f = (f * 0xffffffffffffa746f40417185289fa0d) >> 128;
            if (frac & 0x4000 != 0) f = (f * 0xffffffffffffd3a37a020b8c256d0547) >> 128;
            if (frac & 0x2000 != 0) f = (f * 0xffffffffffffe9d1bd0105c611c084b3) >> 128;
            if (frac & 0x1000 != 0) f = (f * 0xfffffffffffff4e8de8082e308a2c2dd) >> 128;
            if (frac & 0x800 != 0) f = (f * 0xfffffffffffffa746f4041718442018f) >> 128;
            if (frac & 0x400 != 0) f = (f * 0xfffffffffffffd3a37a020b8c21d28d0) >> 128;
            if (frac & 0x200 != 0) f = (f * 0xfffffffffffffe9d1bd0105c610d9e6a) >> 128;
            if (frac & 0x100 != 0) f = (f * 0xffffffffffffff4e8de8082e308691b5) >> 128;
            if (frac & 0x80 != 0) f = (f * 0xffffffffffffffa746f404171843397a) >> 128;
            if (frac & 0x40 != 0) f = (f * 0xffffffffffffffd3a37a020b8c2198e5) >> 128;
            if (frac & 0x20 != 0) f = (f * 0xffffffffffffffe9d1bd0105c610cb7c) >> 128;
            if (frac & 0x10 != 0) f = (f * 0xfffffffffffffff4e8de8082e3086580) >> 128;
            if (frac & 0x8 != 0) f = (f * 0xfffffffffffffffa746f4041718432b1) >> 128;
            if (frac & 0x4 != 0) f = (f * 0xfffffffffffffffd3a37a020b8c21954) >> 128;
            if (frac & 0x2 != 0) f = (f * 0xfffffffffffffffe9d1bd0105c610ca9) >> 128;
            if (frac & 0x1 != 0) f = (f * 0xffffffffffffffff4e8de8082e308654) >> 128;
        }
    }
}
