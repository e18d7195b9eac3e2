"""Prometheus metrics of one oracle process, in its own registry (several operators may share a process
in tests, and the API may mount the oracle next to its own metrics)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from co3chain.oracle.store import QueueStore


class _QueueCollector(Collector):
    """Queue depth per state and last confirmed block, read from the store at scrape time."""

    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("co3_oracle_queue_events", "Events in the oracle queue by state", labels=["state"])
        for state, count in self.store.counts_by_state().items():
            depth.add_metric([state], count)
        yield depth
        last = self.store.last_confirmed_block()
        block = GaugeMetricFamily("co3_oracle_last_confirmed_block", "Highest block with a confirmed attestation")
        block.add_metric([], -1 if last is None else last)
        yield block


class OracleMetrics:
    """Counters and histograms updated by the webhook, validation, signing and submission steps."""

    def __init__(self, store: QueueStore | None = None, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter("co3_oracle_events_received", "Webhook events accepted into the queue",
                                ["source"], registry=r)
        self.duplicates = Counter("co3_oracle_events_duplicate", "Webhook deliveries of already queued events",
                                  ["source"], registry=r)
        self.auth_failures = Counter("co3_oracle_auth_failures", "Webhook requests failing authentication",
                                     registry=r)
        self.bad_payloads = Counter("co3_oracle_bad_payloads", "Authenticated webhook bodies that do not parse",
                                    registry=r)
        self.validated = Counter("co3_oracle_events_validated", "Events that passed validation", registry=r)
        self.rejected = Counter("co3_oracle_events_rejected", "Events rejected", ["stage"], registry=r)
        self.signed = Counter("co3_oracle_events_signed", "Events with a threshold of signatures", registry=r)
        self.cosigned = Counter("co3_oracle_cosign_requests", "Sign requests answered as co-signer", ["result"],
                                registry=r)
        self.txs = Counter("co3_oracle_transactions", "submitBatch transactions", ["result"], registry=r)
        self.confirmed = Counter("co3_oracle_attestations_confirmed", "Attestations confirmed on chain",
                                 registry=r)
        self.batch_size = Histogram("co3_oracle_batch_size", "Attestations per submitBatch transaction",
                                    buckets=(1, 2, 5, 10, 20, 50, 100, 200), registry=r)
        if store is not None:
            r.register(_QueueCollector(store))
