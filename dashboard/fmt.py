"""Numbers for humans: durations, money, rates, counts and KPI deltas.

LLM costs span many orders of magnitude ($0.00003 a call, $3,000 a month), so money keeps two
significant digits below a cent instead of rounding everything to $0.00.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DASH = "–"
Unit = Literal["count", "ms", "usd", "tokens", "ratio"]


def _bad(v: float | None) -> bool:
    return v is None or math.isnan(v) or math.isinf(v)


def ms(v: float | None) -> str:
    """Milliseconds as `0.42 ms`, `123 ms`, `1.24 s`, `2m 05s`."""
    if v is None or _bad(v):
        return DASH
    if v < 1:
        return f"{v:.2f} ms"
    if v < 100:
        return f"{v:.1f} ms"
    if v < 1000:
        return f"{v:.0f} ms"
    if v < 60_000:
        return f"{v / 1000:.2f} s"
    minutes, seconds = divmod(round(v / 1000), 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def usd(v: float | None) -> str:
    """Dollars: `$1,234`, `$12.34`, `$0.123`, and two significant digits below a cent (`$0.000032`)."""
    if v is None or _bad(v):
        return DASH
    if v == 0:
        return "$0"
    sign = "-" if v < 0 else ""
    a = abs(v)
    if a >= 1000:
        return f"{sign}${a:,.0f}"
    if a >= 1:
        return f"{sign}${a:,.2f}"
    if a >= 0.01:
        return f"{sign}${a:.3f}"
    decimals = min(10, 1 - math.floor(math.log10(a)))
    text = f"{a:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{sign}${text}"


def pct(v: float | None) -> str:
    """A fraction as a percentage: `12.3%`, `0.42%`, `0%`."""
    if v is None or _bad(v):
        return DASH
    p = v * 100
    if p == 0:
        return "0%"
    if abs(p) < 1:
        return f"{p:.2f}%"
    return f"{p:.1f}%"


def count(v: float | None) -> str:
    """Counts: `987`, `12,345`, `1.23M`."""
    if v is None or _bad(v):
        return DASH
    a = abs(v)
    if a >= 1_000_000_000:
        return f"{v / 1e9:.2f}B"
    if a >= 1_000_000:
        return f"{v / 1e6:.2f}M"
    if a != int(a):
        return f"{v:,.1f}"
    return f"{int(v):,}"


def value(v: float | None, unit: Unit) -> str:
    if unit == "ms":
        return ms(v)
    if unit == "usd":
        return usd(v)
    if unit == "ratio":
        return pct(v)
    return count(v)


def delta(current: float | None, previous: float | None, unit: Unit) -> str | None:
    """The KPI tile delta against the previous period; None when there is nothing to compare.

    Rates change in percentage points (a 2% → 3% error rate is "+1.0 pp", not "+50%"); everything
    else changes relatively.
    """
    if current is None or previous is None or _bad(current) or _bad(previous):
        return None
    if unit == "ratio":
        diff = (current - previous) * 100
        return f"{diff:+.1f} pp" if abs(diff) >= 0.1 or diff == 0 else f"{diff:+.2f} pp"
    if previous == 0:
        return None
    change = (current - previous) / abs(previous) * 100
    return f"{change:+.0f}%" if abs(change) >= 10 else f"{change:+.1f}%"


def when(dt: datetime, tz: tzinfo = UTC, seconds: bool = True) -> str:
    """A timestamp in the viewer's time zone: `2025-03-01 14:05:09`."""
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def zone(name: str | None) -> tzinfo:
    """The browser's time zone (`st.context.timezone`), UTC when unknown or invalid."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone_label(tz: tzinfo) -> str:
    return "UTC" if tz is UTC else str(tz)


def short_id(trace_id: str) -> str:
    return trace_id[:8] + "…" if len(trace_id) > 12 else trace_id
