"""The write-ahead log on its own: durability, torn tails, replay boundaries and backlog limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from spanscope.collector import wal


def _rec(i: int, rows: int = 1) -> bytes:
    return wal.encode(wal.REC_SPANS, rows, f"h{i}".encode(), f'{{"n":{i}}}'.encode())


def test_appended_records_are_read_back_in_order(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path)
    for i in range(5):
        log.append_sync([_rec(i)])
    records = log.read(log.checkpoint, 100, 1 << 20)
    assert [r.payload for r in records] == [f'{{"n":{i}}}'.encode() for i in range(5)]
    log.close()


def test_async_appends_group_commit_and_resolve_every_waiter(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path)

    async def many() -> list[wal.Position]:
        return await asyncio.gather(*(log.append([_rec(i)]) for i in range(50)))

    positions = asyncio.run(many())
    assert len(positions) == 50
    assert len(log.read(log.checkpoint, 1000, 1 << 20)) == 50
    log.close()


def test_a_torn_tail_is_cut_and_earlier_records_survive(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path)
    log.append_sync([_rec(1), _rec(2)])
    log.close()
    seg = next(tmp_path.glob("*.wal"))
    with open(seg, "ab") as f:
        f.write(_rec(3)[:-4])  # a crash in the middle of a write
    reopened = wal.WriteAheadLog(tmp_path)
    assert [r.payload for r in reopened.read(reopened.checkpoint, 100, 1 << 20)] == [b'{"n":1}', b'{"n":2}']
    reopened.append_sync([_rec(4)])
    assert len(reopened.read(reopened.checkpoint, 100, 1 << 20)) == 3
    reopened.close()


def test_checkpoint_survives_reopen_and_skips_committed_records(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path)
    log.append_sync([_rec(1), _rec(2), _rec(3)])
    first = log.read(log.checkpoint, 2, 1 << 20)
    assert len(first) == 2
    log.begin(log.checkpoint, first[-1].end)
    log.commit(first[-1].end, sum(r.end.offset - r.start.offset for r in first))
    log.close()
    reopened = wal.WriteAheadLog(tmp_path)
    assert [r.payload for r in reopened.read(reopened.checkpoint, 100, 1 << 20)] == [b'{"n":3}']
    reopened.close()


def test_an_inflight_batch_is_replayed_with_the_same_boundaries_and_token(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path)
    log.append_sync([_rec(1), _rec(2)])
    batch = log.read(log.checkpoint, 100, 1 << 20)
    token = log.begin(log.checkpoint, batch[-1].end)
    log.close()  # dies before commit
    reopened = wal.WriteAheadLog(tmp_path)
    reopened.append_sync([_rec(3)])  # more data arrived after the restart
    assert reopened.inflight is not None
    start, end = reopened.inflight
    assert reopened.token(start, end) == token
    assert [r.payload for r in reopened.read(start, 0, 0, end=end)] == [b'{"n":1}', b'{"n":2}']
    reopened.close()


def test_records_span_segments_when_they_rotate(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path, segment_bytes=64)
    for i in range(10):
        log.append_sync([_rec(i)])
    assert len(list(tmp_path.glob("*.wal"))) > 1
    assert len(log.read(log.checkpoint, 100, 1 << 20)) == 10
    log.close()


def test_append_refuses_when_the_backlog_is_full(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path, max_backlog_bytes=200)

    async def fill() -> None:
        for i in range(100):
            await log.append([_rec(i)])

    with pytest.raises(wal.WalFullError):
        asyncio.run(fill())
    log.close()


def test_request_hashes_are_recovered_after_a_restart(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path)
    log.append_sync([_rec(7)])
    log.close()
    reopened = wal.WriteAheadLog(tmp_path)
    assert b"h7".ljust(wal.HASH_BYTES, b"\0") in set(reopened.scan_hashes())
    reopened.close()
