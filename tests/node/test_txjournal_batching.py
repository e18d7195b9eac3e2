"""TxJournal's deferred appends: the intake thread's records wait for its flush, others are written at once."""

from __future__ import annotations

import threading
from pathlib import Path

from co3chain.node.txjournal import TxJournal


def test_deferred_thread_writes_on_flush_other_threads_at_once(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal = TxJournal(path)
    results: dict[str, list[bytes]] = {}

    def intake() -> None:
        journal.defer_on(threading.get_ident())
        journal.append(b"a1")
        journal.append(b"a2" * 100)
        results["held"] = TxJournal.read(path)  # nothing yet: the answers have not gone out
        journal.flush_deferred()
        results["flushed"] = TxJournal.read(path)
        journal.flush_deferred()  # nothing held: no write, no duplicate
        results["again"] = TxJournal.read(path)

    journal.append(b"before")  # main thread: written at once
    t = threading.Thread(target=intake)
    t.start()
    t.join()
    journal.append(b"after")
    try:
        assert results["held"] == [b"before"]
        assert results["flushed"] == [b"before", b"a1", b"a2" * 100]
        assert results["again"] == results["flushed"]
        assert TxJournal.read(path) == [b"before", b"a1", b"a2" * 100, b"after"]
        # the records count toward compaction like single appends
        assert journal._records == 4
    finally:
        journal.close()


def test_stop_deferring_writes_leftovers_and_frees_the_thread_id(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal = TxJournal(path)
    me = threading.get_ident()
    journal.defer_on(me)
    journal.append(b"left")
    assert TxJournal.read(path) == []
    journal.stop_deferring(me)  # e.g. the intake thread ended: its id may be reused by another thread
    journal.append(b"now")  # written at once again
    try:
        assert TxJournal.read(path) == [b"left", b"now"]
    finally:
        journal.close()
