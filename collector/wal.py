"""Write-ahead log: a request is acknowledged once its rows are fsynced here.

Records are CRC-framed and appended to numbered segment files by one writer thread that
group-commits (one fsync for every request waiting). The flusher reads only up to the durable end
and records how far ClickHouse has them in a checkpoint. A batch that was being inserted when the
process died is replayed with the same boundaries and deduplication token, so ClickHouse stores it
once whether or not the first insert landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

log = logging.getLogger("spanscope.wal")

MAGIC = b"SW"
HEADER = struct.Struct("<2sBBIII")  # magic, type, flags, payload length, crc32, row count
REC_SPANS = 1
REC_CONTENT = 2
HASH_BYTES = 16


class WalFullError(RuntimeError):
    """The backlog not yet in ClickHouse reached its limit: answer 503 and let the client retry."""


@dataclass(frozen=True, order=True)
class Position:
    segment: int
    offset: int


@dataclass
class Record:
    type: int
    flags: int
    rows: int
    request_hash: bytes
    payload: bytes  # newline-separated JSON rows
    start: Position
    end: Position


def encode(rtype: int, rows: int, request_hash: bytes, payload: bytes, flags: int = 0) -> bytes:
    body = request_hash.ljust(HASH_BYTES, b"\0")[:HASH_BYTES] + payload
    return HEADER.pack(MAGIC, rtype, flags, len(body), zlib.crc32(body), rows) + body


class WriteAheadLog:
    def __init__(self, directory: Path, segment_bytes: int = 64 << 20, max_backlog_bytes: int = 2 << 30):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.max_backlog_bytes = max_backlog_bytes
        self.instance_id = self._instance_id()
        self._queue: queue.Queue[tuple[list[bytes], asyncio.AbstractEventLoop | None, object] | None] = (
            queue.Queue()
        )
        self._cond = threading.Condition()
        self.checkpoint = self._read_position("checkpoint") or Position(self._first_segment(), 0)
        self.inflight = self._read_inflight()
        self._recover_tail()
        self.durable = Position(self._seg, self._file.tell())
        self._written_bytes = self._backlog_from_disk()
        self._thread = threading.Thread(target=self._writer, name="spanscope-wal-writer", daemon=True)
        self._closed = False
        self._thread.start()

    # --- files --------------------------------------------------------------------------------------

    def _instance_id(self) -> str:
        p = self.dir / "instance-id"
        if not p.exists():
            p.write_text(os.urandom(8).hex())
        return p.read_text().strip()

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.dir.glob("*.wal"))

    def _first_segment(self) -> int:
        segs = self._segments()
        return segs[0] if segs else 1

    def _path(self, seg: int) -> Path:
        return self.dir / f"{seg:016d}.wal"

    def _read_position(self, name: str) -> Position | None:
        p = self.dir / name
        if not p.exists():
            return None
        try:
            d = orjson.loads(p.read_bytes())
            return Position(int(d["segment"]), int(d["offset"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable %s", p)
            return None

    def _read_inflight(self) -> tuple[Position, Position] | None:
        p = self.dir / "inflight"
        if not p.exists():
            return None
        try:
            d = orjson.loads(p.read_bytes())
            return Position(*d["start"]), Position(*d["end"])
        except (ValueError, KeyError, TypeError):
            return None

    def _write_atomic(self, name: str, data: bytes) -> None:
        tmp = self.dir / f".{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / name)

    def _recover_tail(self) -> None:
        """Opens the last segment for appending, cutting a record torn by a crash (never acknowledged)."""
        segs = self._segments()
        self._seg = segs[-1] if segs else max(1, self.checkpoint.segment)
        path = self._path(self._seg)
        good = 0
        if path.exists():
            with open(path, "rb") as f:
                for rec in _scan(f, self._seg, 0):
                    good = rec.end.offset
            if good != path.stat().st_size:
                log.warning("cutting a torn record at %s:%d", path.name, good)
                with open(path, "r+b") as f:
                    f.truncate(good)
        self._file = open(path, "ab")  # noqa: SIM115 - lives as long as the log

    def _backlog_from_disk(self) -> int:
        total = 0
        for seg in self._segments():
            if seg < self.checkpoint.segment:
                continue
            size = self._path(seg).stat().st_size
            total += size - (self.checkpoint.offset if seg == self.checkpoint.segment else 0)
        return max(0, total)

    # --- writing ------------------------------------------------------------------------------------

    @property
    def backlog_bytes(self) -> int:
        return self._written_bytes

    async def append(self, records: list[bytes]) -> Position:
        """Durably appends records; returns when they are fsynced."""
        size = sum(len(r) for r in records)
        if self._written_bytes + size > self.max_backlog_bytes:
            raise WalFullError(
                f"write-ahead log backlog is full ({self._written_bytes} bytes not yet in storage)"
            )
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Position] = loop.create_future()
        self._queue.put((records, loop, fut))
        return await fut

    def append_sync(self, records: list[bytes]) -> Position:
        """Blocking variant for callers outside the event loop."""
        done = threading.Event()
        box: list[object] = []
        self._queue.put((records, None, (done, box)))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]  # type: ignore[return-value]

    def _writer(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            try:
                pos = self._write_batch([r for recs, _, _ in batch for r in recs])
                result: object = pos
            except BaseException as exc:
                log.exception("write-ahead log write failed")
                result = exc
            for _, loop, waiter in batch:
                _resolve(loop, waiter, result)

    def _write_batch(self, records: list[bytes]) -> Position:
        if self._file.tell() >= self.segment_bytes:
            self._rotate()
        data = b"".join(records)
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._written_bytes += len(data)
        with self._cond:
            self.durable = Position(self._seg, self._file.tell())
            self._cond.notify_all()
        return self.durable

    def _rotate(self) -> None:
        self._file.close()
        self._seg += 1
        self._file = open(self._path(self._seg), "ab")  # noqa: SIM115
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # --- reading ------------------------------------------------------------------------------------

    def wait_for_data(self, after: Position, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.durable > after, timeout)

    def read(
        self, start: Position, max_rows: int, max_bytes: int, end: Position | None = None
    ) -> list[Record]:
        """Records from `start` up to `end` (or the durable end, bounded by rows and bytes)."""
        limit = end or self.durable
        out: list[Record] = []
        rows = size = 0
        seg, off = start.segment, start.offset
        while seg <= limit.segment:
            path = self._path(seg)
            if path.exists():
                with open(path, "rb") as f:
                    for rec in _scan(f, seg, off):
                        if rec.end > limit:
                            return out
                        out.append(rec)
                        rows += rec.rows
                        size += len(rec.payload)
                        if end is None and (rows >= max_rows or size >= max_bytes):
                            return out
            seg, off = seg + 1, 0
        return out

    def scan_hashes(self) -> Iterator[bytes]:
        """Request hashes of every retained record, to recognise retries after a restart."""
        for seg in self._segments():
            with open(self._path(seg), "rb") as f:
                for rec in _scan(f, seg, 0):
                    yield rec.request_hash

    # --- checkpointing ------------------------------------------------------------------------------

    def begin(self, start: Position, end: Position) -> str:
        """Records the batch about to be inserted; returns its deduplication token."""
        self._write_atomic(
            "inflight",
            orjson.dumps({"start": [start.segment, start.offset], "end": [end.segment, end.offset]}),
        )
        self.inflight = (start, end)
        return self.token(start, end)

    def token(self, start: Position, end: Position) -> str:
        return f"{self.instance_id}:{start.segment}:{start.offset}-{end.segment}:{end.offset}"

    def commit(self, end: Position, nbytes: int) -> None:
        self._write_atomic("checkpoint", orjson.dumps({"segment": end.segment, "offset": end.offset}))
        self.checkpoint = end
        self.inflight = None
        self._written_bytes = max(0, self._written_bytes - nbytes)
        self._drop_old_segments()

    def _drop_old_segments(self, keep_seconds: float = 300.0) -> None:
        now = time.time()
        for seg in self._segments():
            if seg >= self.checkpoint.segment or seg == self._seg:
                continue
            path = self._path(seg)
            try:
                if now - path.stat().st_mtime > keep_seconds:
                    path.unlink()
            except FileNotFoundError:
                pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._file.close()


def _resolve(loop: asyncio.AbstractEventLoop | None, waiter: object, result: object) -> None:
    if loop is None:
        assert isinstance(waiter, tuple)
        done: threading.Event = waiter[0]
        box: list[object] = waiter[1]
        box.append(result)
        done.set()
        return
    fut: asyncio.Future[object] = waiter  # type: ignore[assignment]

    def _set() -> None:
        if fut.done():
            return
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
        loop.call_soon_threadsafe(_set)


def _scan(f: object, seg: int, offset: int) -> Iterator[Record]:
    """Valid records of one segment from `offset`; stops at the first torn or corrupt one."""
    fh = f  # a binary file
    fh.seek(offset)  # type: ignore[attr-defined]
    pos = offset
    while True:
        head = fh.read(HEADER.size)  # type: ignore[attr-defined]
        if len(head) < HEADER.size:
            return
        magic, rtype, flags, length, crc, rows = HEADER.unpack(head)
        if magic != MAGIC:
            return
        body = fh.read(length)  # type: ignore[attr-defined]
        if len(body) < length or zlib.crc32(body) != crc:
            return
        end = pos + HEADER.size + length
        yield Record(
            rtype, flags, rows, body[:HASH_BYTES], body[HASH_BYTES:], Position(seg, pos), Position(seg, end)
        )
        pos = end
