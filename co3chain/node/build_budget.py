"""How much gas a QBFT proposer may put in one block: what every validator can verify within the round.

Why: a proposal only finalizes when a quorum of validators has *re-executed* it (header rules, every
transaction, state and receipt roots) and exchanged PREPARE and COMMIT before the round timer fires. A
proposer that fills its block with whatever the pool holds, or for as long as its own (warm, spread over
the block period) execution allows, hands the others a block they verify in one burst, on cores shared
with everything else: past the round timer, every validator moves to round 1, and the same heavy block is
proposed again in a longer round (measured before the cap: 27 round changes and a 20 s p50 latency).

The cap is adaptive because the cost of gas is not a constant: it depends on the engine (revm or py-evm),
the machine, the load on it, and the kind of transactions (a storage-heavy block costs more per gas than
a block of plain transfers). Each node measures *wall-clock* seconds per gas of the work that bounds the
round, the verification of other validators' proposals, and of its own builds; the proposer caps a
block's gas at what the slower of the two measurements says fits in :data:`VERIFY_SHARE` of the round-0
timer. The estimate rises at once when a block was slow (a conservative bound first) and relaxes slowly
(:data:`RELAX`), so one fast block on a quiet moment does not open the door to a block that misses the
round. A wrong estimate costs throughput or a round change, never safety: every validator still verifies
every block in full.
"""

from __future__ import annotations

import threading

#: Share of the round-0 timeout that verifying one block may take on a validator. The rest covers the
#: proposer's final fill and commit, three message hops, the import, and a margin for noise.
VERIFY_SHARE = 0.35
#: Blocks lighter than this tell little about the cost per gas (fixed overheads dominate): not measured.
MIN_SAMPLE_GAS = 200_000
#: Weight of a new sample that is *faster* than the estimate (slower samples replace it at once).
RELAX = 0.2
#: The cap never drops below this many plain transfers' gas (the chain must keep moving).
MIN_CAP_GAS = 50 * 21_000


class BuildBudget:
    """Seconds-per-gas estimate from measured verifications and builds, and the gas cap it implies.

    Thread-safe: verifications run in worker threads while the proposer reads :meth:`gas_cap`.
    """

    def __init__(self, round_timeout: float, verify_share: float = VERIFY_SHARE) -> None:
        if round_timeout <= 0 or not 0 < verify_share <= 1:
            raise ValueError("round timeout must be positive and verify share in (0, 1]")
        self.seconds_allowed = round_timeout * verify_share
        self._lock = threading.Lock()
        self._verify: float | None = None  # seconds per gas, verifying others' proposals
        self._build: float | None = None  # seconds per gas, building our own (execution + commit)
        self.samples = 0
        #: verifications of other validators' proposals measured so far (the cap is informed by them)
        self.verify_samples = 0

    @staticmethod
    def _update(current: float | None, sample: float) -> float:
        if current is None or sample >= current:
            return sample
        return current + RELAX * (sample - current)

    def observe_verify(self, seconds: float, gas: int) -> None:
        """A proposal of ``gas`` took ``seconds`` (wall clock) to verify here."""
        if gas < MIN_SAMPLE_GAS or seconds <= 0:
            return
        with self._lock:
            self._verify = self._update(self._verify, seconds / gas)
            self.samples += 1
            self.verify_samples += 1

    def observe_build(self, seconds: float, gas: int) -> None:
        """Our own block of ``gas`` took ``seconds`` of execution and state commit to build."""
        if gas < MIN_SAMPLE_GAS or seconds <= 0:
            return
        with self._lock:
            self._build = self._update(self._build, seconds / gas)
            self.samples += 1

    @property
    def seconds_per_gas(self) -> float | None:
        with self._lock:
            known = [v for v in (self._verify, self._build) if v is not None]
        return max(known) if known else None

    def gas_cap(self, block_gas_limit: int) -> int:
        """Gas one block may hold now: the block gas limit until something was measured."""
        per_gas = self.seconds_per_gas
        if per_gas is None:
            return block_gas_limit
        return max(MIN_CAP_GAS, min(block_gas_limit, int(self.seconds_allowed / per_gas)))

    def status(self, block_gas_limit: int) -> dict[str, float | int | None]:
        per_gas = self.seconds_per_gas
        return {
            "gasCap": self.gas_cap(block_gas_limit),
            "microsecondsPerKgas": None if per_gas is None else round(per_gas * 1e9, 1),
            "samples": self.samples,
        }
