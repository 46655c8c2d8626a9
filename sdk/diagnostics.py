"""The SDK's own health: counters of what it exported or dropped, and log-once reporting.

The SDK never raises into the application. When something inside it fails (a value that cannot be
serialised, a collector that is down, a full queue), it counts the event and logs the first one of
each kind at WARNING; later ones of the same kind are only counted. `stats()` returns the counters.
"""

from __future__ import annotations

import contextlib
import logging
import threading

logger = logging.getLogger("spanscope.sdk")

COUNTERS: tuple[str, ...] = (
    "spans_exported",  # handed to the collector successfully
    "spans_export_failed",  # the exporter gave up on them (collector down, rejected, timeout)
    "spans_dropped_queue_full",  # the bounded queue was full when they ended
    "spans_dropped_after_shutdown",  # ended after shutdown()
    "scores_queued",
    "scores_sent",
    "scores_dropped",  # queue full, no trace to attach to, or after shutdown
    "scores_failed",  # the collector did not accept them
    "internal_errors",  # failures inside the SDK that were caught
)

_lock = threading.Lock()
_counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
_logged: set[str] = set()


def incr(name: str, amount: int = 1) -> None:
    with _lock:
        _counts[name] = _counts.get(name, 0) + amount


def stats() -> dict[str, int]:
    """A snapshot of the SDK's counters; `spans_dropped` is the sum of every way a span was lost."""
    with _lock:
        snapshot = dict(_counts)
    snapshot["spans_dropped"] = (
        snapshot["spans_export_failed"]
        + snapshot["spans_dropped_queue_full"]
        + snapshot["spans_dropped_after_shutdown"]
    )
    return snapshot


def reset_stats() -> None:
    """Zero the counters and forget which failures were logged (tests and long-running jobs)."""
    with _lock:
        for key in _counts:
            _counts[key] = 0
        _logged.clear()


def log_once(key: str, message: str, *args: object, level: int = logging.WARNING) -> bool:
    """Log `message` the first time `key` is seen; return whether it was logged."""
    with _lock:
        if key in _logged:
            return False
        _logged.add(key)
    with contextlib.suppress(Exception):  # a broken logging handler must not break the app either
        logger.log(level, message + " (logged once; see spanscope.sdk.stats())", *args)
    return True


def internal_error(where: str, exc: BaseException) -> None:
    """Record a failure inside the SDK. Never raises."""
    try:
        incr("internal_errors")
        log_once(f"internal:{where}:{type(exc).__name__}", "spanscope: %s failed: %r", where, exc)
    except Exception:
        pass
