// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BN254} from "./BN254.sol";

/**
 * @title BlindRsa
 * @notice Verification of RSA blind signatures finalized as in RFC 9474 (RSABSSA), with EMSA-PSS encoding
 * over SHA-256, MGF1-SHA-256 and a zero-length salt ("PSSZERO", deterministic). Why SHA-256 and not the
 * RFC's SHA-384: the EVM has a SHA-256 precompile and no SHA-384; the PSS construction and the blinding
 * protocol are unchanged. Why PSS and not PKCS#1 v1.5: RFC 9474's security argument for one-more
 * unforgeability rests on the PSS encoding.
 *
 * The modulus must be a whole number of bytes with its top bit set (so emLen == k and one leading bit of the
 * encoded message is cleared), which the registrar-key admin check enforces.
 */
library BlindRsa {
    uint256 private constant H_LEN = 32;

    /// @notice Whether `signature` is a valid RSASSA-PSS (SHA-256, sLen 0) signature of `message`.
    function verify(bytes memory message, bytes calldata signature, bytes memory exponent, bytes memory modulus)
        internal
        view
        returns (bool)
    {
        uint256 k = modulus.length;
        if (signature.length != k || _compare(signature, modulus) >= 0) return false;
        bytes memory em = BN254.modExp(signature, exponent, modulus);
        // emBits = 8k - 1, emLen = k; em = maskedDB (k - 33) ‖ H (32) ‖ 0xbc
        if (uint8(em[k - 1]) != 0xbc || uint8(em[0]) & 0x80 != 0) return false;
        uint256 dbLen = k - H_LEN - 1;
        bytes32 h;
        assembly ("memory-safe") {
            h := mload(add(add(em, 0x20), dbLen))
        }
        // DB = maskedDB xor MGF1(H), word by word in place; it must be 0x00.. ‖ 0x01 (no salt), top bit cleared.
        bytes memory db = _mgf1(h, dbLen);
        for (uint256 off = 0; off < dbLen; off += 32) {
            assembly ("memory-safe") {
                let p := add(add(db, 0x20), off)
                mstore(p, xor(mload(p), mload(add(add(em, 0x20), off))))
            }
        }
        db[0] &= 0x7f;
        assembly ("memory-safe") {
            mstore(db, dbLen) // drop the tail beyond dbLen (it overlapped H and 0xbc)
        }
        bytes memory expected = new bytes(dbLen);
        expected[dbLen - 1] = 0x01;
        if (keccak256(db) != keccak256(expected)) return false;
        bytes32 mHash = sha256(message);
        return sha256(abi.encodePacked(bytes8(0), mHash)) == h;
    }

    function _mgf1(bytes32 seed, uint256 len) private pure returns (bytes memory out) {
        uint256 blocks = (len + H_LEN - 1) / H_LEN;
        out = new bytes(blocks * H_LEN);
        for (uint256 c = 0; c < blocks; ++c) {
            bytes32 block_ = sha256(abi.encodePacked(seed, uint32(c)));
            assembly ("memory-safe") {
                mstore(add(add(out, 0x20), mul(c, 0x20)), block_)
            }
        }
    }

    /// @dev Compare two equal-length big-endian integers: -1, 0, 1.
    function _compare(bytes calldata a, bytes memory b) private pure returns (int256) {
        for (uint256 i = 0; i < a.length; ++i) {
            if (uint8(a[i]) < uint8(b[i])) return -1;
            if (uint8(a[i]) > uint8(b[i])) return 1;
        }
        return 0;
    }
}
