"""The revm engine's block environment cache: one env per execution context, never another block's."""

from __future__ import annotations

from types import SimpleNamespace

from eth.vm.execution_context import ExecutionContext

from co3chain.chain.revm_engine import RevmEngine


def _state(number: int, coinbase: bytes = b"\x01" * 20) -> SimpleNamespace:
    ctx = ExecutionContext(
        coinbase=coinbase, timestamp=1000 + number, block_number=number, difficulty=0, mix_hash=b"\x02" * 32,
        gas_limit=30_000_000, prev_hashes=(), chain_id=1337, base_fee_per_gas=0,
    )
    return SimpleNamespace(execution_context=ctx)


def test_each_context_gets_its_own_block_env() -> None:
    engine = RevmEngine()
    a, b = _state(5), _state(6)
    env_a = engine._block_env(a)
    assert engine._block_env(a) is env_a  # same state again: the remembered env
    env_b = engine._block_env(b)
    assert env_b is not env_a and env_b.block.number == 6 and env_a.block.number == 5
    assert engine._block_env(a) is env_a and engine._block_env(a).block.number == 5
    # another context object with the same fields: same env (by value), other fields: another env
    assert engine._block_env(_state(5)) is env_a
    other = engine._block_env(_state(5, coinbase=b"\x03" * 20))
    assert other is not env_a and other.block.coinbase == "0x" + "03" * 20
