"""Benchmark (not a test): build and import one block of N ERC-20 transfers, one per sender.

Run: `.venv/bin/python -m tests.chain.bench_erc20 [N] [runs] [revm|py-evm]` from the repo root. Prints build time
(proposer: execute + roots), own import (the sealed block built locally: no re-execution) and peer import
(a validator that did not build it: full re-execution). The token is a minimal ERC-20 compiled with
solc 0.8.30 (optimizer 200 runs, cancun) from this source::

    contract Tok {
        mapping(address => uint256) public balanceOf;
        event Transfer(address indexed from, address indexed to, uint256 value);
        function transfer(address to, uint256 value) external returns (bool) {
            uint256 b = balanceOf[msg.sender];
            require(b >= value, "balance");
            unchecked { balanceOf[msg.sender] = b - value; }
            balanceOf[to] += value;
            emit Transfer(msg.sender, to, value);
            return true;
        }
    }

(plus a constructor that is not used: balances are set directly in genesis storage).
"""

from __future__ import annotations

import sys
import time

from eth_account import Account
from eth_hash.auto import keccak
from eth_keys import keys
from eth_utils import to_checksum_address

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import make_genesis, parse_genesis
from co3chain.chain.storage import Overlay
from co3chain.chain.vm import decode_block, encode_block, new_header
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import sign_commit_seal

TOKEN_RUNTIME = bytes.fromhex(
    "608060405234801561000f575f5ffd5b5060043610610034575f3560e01c806370a0823114610038578063a9059cbb1461006a575b5f5ffd5b610057610046366004610178565b5f6020819052908152604090205481565b6040519081526020015b60405180910390f35b61007d610078366004610198565b61008d565b6040519015158152602001610061565b335f90815260208190526040812054828110156100da5760405162461bcd60e51b815260206004820152600760248201526662616c616e636560c81b604482015260640160405180910390fd5b335f9081526020819052604080822085840390556001600160a01b03861682528120805485929061010c9084906101c0565b90915550506040518381526001600160a01b0385169033907fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef9060200160405180910390a360019150505b92915050565b80356001600160a01b0381168114610173575f5ffd5b919050565b5f60208284031215610188575f5ffd5b6101918261015d565b9392505050565b5f5f604083850312156101a9575f5ffd5b6101b28361015d565b946020939093013593505050565b8082018082111561015757634e487b7160e01b5f52601160045260245ffdfea2646970667358221220a748e4313e153558d439454e5d99ba2fc3dd1e234497f712b30a40f7d6c377ee64736f6c634300081e0033"
)
TOKEN = b"\x70" * 20


def main(n: int, runs: int, engine: str = "revm") -> None:
    vkey = b"\x01" * 32
    vaddr = keys.PrivateKey(vkey).public_key.to_canonical_address()
    accts = [Account.from_key(keccak(i.to_bytes(4, "big"))) for i in range(n)]
    storage = {}
    for a in accts:
        slot = keccak(bytes.fromhex(a.address[2:]).rjust(32, b"\0") + b"\0" * 32)
        storage["0x" + slot.hex()] = hex(10**18)
    alloc = {TOKEN: {"code": "0x" + TOKEN_RUNTIME.hex(), "storage": storage, "balance": 0}}
    genesis = parse_genesis(make_genesis([vaddr], 1337, alloc, block_period=1))
    selector = keccak(b"transfer(address,uint256)")[:4]
    raws = []
    for i, a in enumerate(accts):
        data = selector + (i + 1000).to_bytes(32, "big") + (1).to_bytes(32, "big")
        tx = {
            "nonce": 0,
            "gas": 60000,
            "gasPrice": 0,
            "to": to_checksum_address(TOKEN),
            "value": 0,
            "data": data,
            "chainId": 1337,
        }
        raws.append(bytes(a.sign_transaction(tx).raw_transaction))
    for _ in range(runs):
        chain = NodeChain.open(None, genesis, engine=engine)
        builder = chain.vm_class.get_transaction_builder()
        txs = [builder.decode(r) for r in raws]
        for tx in txs:
            _ = tx.sender  # the pool has recovered senders before a block is built
        extra = QbftExtraData(validators=[vaddr])
        t0 = time.perf_counter()
        res = chain.build_block(txs, vaddr, chain.head.timestamp + 1, extra.encode())
        t1 = time.perf_counter()
        assert not res.rejected, res.rejected[:2]
        h = res.block.header
        seal = sign_commit_seal(vkey, h, 0)
        sealed = res.block.copy(header=h.copy(extra_data=extra.with_seals([seal]).encode()))
        chain.import_block(sealed)
        t2 = time.perf_counter()
        peer = NodeChain.open(None, genesis, engine=engine)
        wire = encode_block(sealed)
        t3 = time.perf_counter()
        peer.import_block(decode_block(wire))  # as received from the network: senders not recovered yet
        t4 = time.perf_counter()
        # baseline: bare py-evm work for the same block (apply every tx + persist state), no roots/storage
        base_chain = NodeChain.open(None, genesis)
        template = new_header(
            base_chain.head, coinbase=vaddr, timestamp=h.timestamp, extra_data=extra.encode()
        )
        vm = base_chain._vm(template, Overlay(base_chain.store))
        t5 = time.perf_counter()
        vm.apply_all_transactions(txs, template)
        vm.state.persist()
        t6 = time.perf_counter()
        print(
            f"N={n} gas={h.gas_used} bare-py-evm {t6 - t5:.2f}s ({n / (t6 - t5):.0f} tx/s) build {t1 - t0:.2f}s ({n / (t1 - t0):.0f} tx/s, "
            f"{h.gas_used / (t1 - t0) / 1e6:.1f} Mgas/s) own-import {t2 - t1:.3f}s "
            f"peer-import {t4 - t3:.2f}s ({n / (t4 - t3):.0f} tx/s)"
        )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        sys.argv[3] if len(sys.argv) > 3 else "revm",
    )
