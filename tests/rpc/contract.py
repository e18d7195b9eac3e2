"""A tiny test contract (compiled once with solc 0.8.30, optimizer 200 runs, cancun) and its ABI.

Why embedded: RPC tests must not depend on the Solidity toolchain. Source::

#   // SPDX-License-Identifier: Apache-2.0
#   pragma solidity ^0.8.24;
#
#   contract Counter {
#       event Incremented(address indexed by, uint256 value);
#
#       error TooLarge(uint256 value);
#
#       uint256 public count;
#
#       function increment(uint256 by) external returns (uint256) {
#           if (by == 0) revert("zero");
#           if (by > 1000) revert TooLarge(by);
#           count += by;
#           emit Incremented(msg.sender, count);
#           return count;
#       }
#   }
"""

from __future__ import annotations

COUNTER_ABI = [
    {
        "inputs": [{"internalType": "uint256", "name": "value", "type": "uint256"}],
        "name": "TooLarge",
        "type": "error",
    },
    {
        "anonymous": False,
        "inputs": [
            {"indexed": True, "internalType": "address", "name": "by", "type": "address"},
            {"indexed": False, "internalType": "uint256", "name": "value", "type": "uint256"},
        ],
        "name": "Incremented",
        "type": "event",
    },
    {
        "inputs": [],
        "name": "count",
        "outputs": [{"internalType": "uint256", "name": "", "type": "uint256"}],
        "stateMutability": "view",
        "type": "function",
    },
    {
        "inputs": [{"internalType": "uint256", "name": "by", "type": "uint256"}],
        "name": "increment",
        "outputs": [{"internalType": "uint256", "name": "", "type": "uint256"}],
        "stateMutability": "nonpayable",
        "type": "function",
    },
]

COUNTER_BYTECODE = "0x" + (
    "6080604052348015600e575f5ffd5b5061018d8061001c5f395ff3fe608060405234801561000f575f5ffd5b506004361061"
    "0034575f3560e01c806306661abd146100385780637cf5dab014610052575b5f5ffd5b6100405f5481565b60405190815260"
    "200160405180910390f35b61004061006036600461011b565b5f815f036100a25760405162461bcd60e51b81526004016100"
    "99906020808252600490820152637a65726f60e01b604082015260600190565b60405180910390fd5b6103e88211156100c8"
    "57604051630fa6ad5f60e11b815260048101839052602401610099565b815f5f8282546100d89190610132565b9091555050"
    "5f5460405190815233907f38ac789ed44572701765277c4d0970f2db1c1a571ed39e84358095ae4eaa542090602001604051"
    "80910390a250505f5490565b5f6020828403121561012b575f5ffd5b5035919050565b8082018082111561015157634e487b"
    "7160e01b5f52601160045260245ffd5b9291505056fea26469706673582212200539199582ea88a89ad5700836d7382fcdf9"
    "228b9ab20845dc71774b553e30dc64736f6c634300081e0033"
)
#: keccak("Incremented(address,uint256)")
INCREMENTED_TOPIC = "0x38ac789ed44572701765277c4d0970f2db1c1a571ed39e84358095ae4eaa5420"
