// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title BN254
 * @notice G1 arithmetic of the alt_bn128 curve through the EVM precompiles (EIP-196: ecAdd 0x06,
 * ecMul 0x07) and modular exponentiation (EIP-198: 0x05). The point at infinity is `(0, 0)`, as in the
 * precompiles. Invalid points (off the curve, coordinates >= P) make the precompiles fail, which reverts
 * with {EcOperationFailed}: callers never have to validate points themselves.
 */
library BN254 {
    /// @dev Base field modulus.
    uint256 internal constant P = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @dev Group order (scalar field).
    uint256 internal constant N = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice An affine G1 point.
    struct G1 {
        uint256 x;
        uint256 y;
    }

    /// @notice A precompile call failed: an input was not a valid curve point.
    error EcOperationFailed();
    /// @notice The modexp precompile failed.
    error ModExpFailed();

    /// @notice The generator (1, 2).
    function generator() internal pure returns (G1 memory) {
        return G1(1, 2);
    }

    /// @notice Whether `p` is the point at infinity.
    function isInfinity(G1 memory p) internal pure returns (bool) {
        return p.x == 0 && p.y == 0;
    }

    /// @notice Whether two points are equal.
    function eq(G1 memory a, G1 memory b) internal pure returns (bool) {
        return a.x == b.x && a.y == b.y;
    }

    /// @notice `a + b` (precompile 0x06).
    function add(G1 memory a, G1 memory b) internal view returns (G1 memory r) {
        uint256[4] memory input = [a.x, a.y, b.x, b.y];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x06, input, 0x80, r, 0x40)
        }
        if (!ok) revert EcOperationFailed();
    }

    /// @notice `s * a` (precompile 0x07).
    function mul(G1 memory a, uint256 s) internal view returns (G1 memory r) {
        uint256[3] memory input = [a.x, a.y, s];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, input, 0x60, r, 0x40)
        }
        if (!ok) revert EcOperationFailed();
    }

    /// @notice `-a`.
    function neg(G1 memory a) internal pure returns (G1 memory) {
        if (isInfinity(a)) return a;
        return G1(a.x, P - (a.y % P));
    }

    /// @notice `a - b`.
    function sub(G1 memory a, G1 memory b) internal view returns (G1 memory) {
        return add(a, neg(b));
    }

    /// @notice `z * base - c * pt`, the commitment a verifier recomputes in a Chaum–Pedersen proof.
    function zMinusC(G1 memory base, uint256 z, G1 memory pt, uint256 c) internal view returns (G1 memory) {
        return add(mul(base, z), mul(pt, (N - (c % N)) % N));
    }

    /// @notice `base ** exponent mod modulus` over arbitrary-length big-endian integers (precompile 0x05).
    function modExp(bytes memory base, bytes memory exponent, bytes memory modulus)
        internal
        view
        returns (bytes memory result)
    {
        bytes memory input = abi.encodePacked(base.length, exponent.length, modulus.length, base, exponent, modulus);
        result = new bytes(modulus.length);
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x05, add(input, 0x20), mload(input), add(result, 0x20), mload(modulus))
        }
        if (!ok) revert ModExpFailed();
    }

    /// @notice The inverse of `a` modulo the group order N (Fermat: a^(N-2)); `a` must not be 0 mod N.
    function invN(uint256 a) internal view returns (uint256) {
        bytes memory r = modExp(abi.encode(a % N), abi.encode(N - 2), abi.encode(N));
        return abi.decode(r, (uint256));
    }
}
