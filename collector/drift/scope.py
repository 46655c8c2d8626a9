"""Which spans a drift query reads, and which window each span falls in.

Windows are numbered: 0 is the baseline, 1.. are current windows (one for a report, one per time
bucket for history). A span can sit in both the baseline and a current window when a fixed baseline
overlaps the current range. Aggregating queries therefore group by the current window of a row
(`current`, 0 for none) and either count baseline rows with `countIf` (`counts`, `split`) or group by
`in_baseline` too: both windows come from one pass and no row is duplicated, as an `ARRAY JOIN` over
the windows of each row would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from spanscope.collector.api.querying import PROJECT, Params, and_all, span_time, to_us
from spanscope.schemas.drift import DriftRequest, DriftWindow
from spanscope.schemas.metrics import IS_ROOT

BASELINE = 0
CURRENT = 1


@dataclass(frozen=True)
class Windows:
    """The baseline and the current range, the latter cut into buckets of `bucket_us` (0: one window)."""

    base_lo: int
    base_hi: int
    cur_lo: int
    cur_hi: int
    bucket_us: int = 0

    @classmethod
    def of(cls, baseline: DriftWindow, current: DriftWindow, bucket_s: int = 0) -> Windows:
        return cls(
            to_us(baseline.start), to_us(baseline.end), to_us(current.start), to_us(current.end), bucket_s * 1_000_000
        )

    @property
    def buckets(self) -> int:
        if not self.bucket_us:
            return 1
        return -(-(self.cur_hi - self.cur_lo) // self.bucket_us)

    def bucket(self, index: int) -> tuple[int, int]:
        """[lo, hi) of current window `index` (1-based) in unix microseconds."""
        if not self.bucket_us:
            return self.cur_lo, self.cur_hi
        lo = self.cur_lo + (index - CURRENT) * self.bucket_us
        return lo, min(lo + self.bucket_us, self.cur_hi)

    def where(self, p: Params, column: str = "start_time", primary: bool = True) -> str:
        """Rows in the baseline or the current range (with the primary-key hour bounds on spans)."""
        if primary:
            base, cur = span_time(p, self.base_lo, self.base_hi, column), span_time(p, self.cur_lo, self.cur_hi, column)
        else:
            base, cur = (
                self._between(p, column, self.base_lo, self.base_hi),
                self._between(p, column, self.cur_lo, self.cur_hi),
            )
        return f"(({base}) OR ({cur}))"

    def current(self, p: Params, column: str = "start_time") -> str:
        """SQL UInt32: the current window a row is in (CURRENT, or its bucket), 0 when in none."""
        cur = self._between(p, column, self.cur_lo, self.cur_hi)
        if not self.bucket_us:
            return f"toUInt32({cur})"
        offset = f"toUnixTimestamp64Micro({column}) - {p.bind(self.cur_lo, 'Int64')}"
        return f"if({cur}, toUInt32({CURRENT} + intDiv({offset}, {p.bind(self.bucket_us, 'Int64')})), 0)"

    def in_baseline(self, p: Params, column: str = "start_time") -> str:
        return self._between(p, column, self.base_lo, self.base_hi)

    def counts(self, p: Params, column: str = "start_time") -> str:
        """SQL select list `cw, nb, n` of a query grouped by `cw` (see `split`)."""
        return f"{self.current(p, column)} AS cw, countIf({self.in_baseline(p, column)}) AS nb, count() AS n"

    @staticmethod
    def _between(p: Params, column: str, lo: int, hi: int) -> str:
        return f"{column} >= {p.micros(lo)} AND {column} < {p.micros(hi)}"


def span_scope(p: Params, req: DriftRequest) -> str:
    """The request's scope filters on spans (besides the project)."""
    columns = (
        ("service", req.service),
        ("name", req.span_name),
        ("model", req.model),
        ("prompt_name", req.prompt_name),
        ("prompt_version", req.prompt_version),
        ("kind", req.kind),
        ("environment", req.environment),
    )
    return and_all([PROJECT] + [f"{col} = {p.bind(v, 'String')}" for col, v in columns if v is not None])


def step_population(req: DriftRequest) -> str:
    """Spans whose latency and input describe the scope: root spans (requests) unless the scope names
    a span name, kind or model, then those spans themselves."""
    if req.span_name is not None or req.kind is not None or req.model is not None:
        return "1"
    return IS_ROOT


def split(cw: int, nb: int, n: int) -> Iterator[tuple[int, int]]:
    """(window, count) of a group of rows from a query selecting `Windows.counts`."""
    if nb:
        yield BASELINE, int(nb)
    if cw:
        yield int(cw), int(n)
