"""Which spans a drift query reads, and which window each span falls in.

Windows are numbered: 0 is the baseline, 1.. are current windows (one for a report, one per time
bucket for history). A span can sit in both the baseline and a current window when a fixed baseline
overlaps the current range, so the window of a row is an array that queries `ARRAY JOIN`.
"""

from __future__ import annotations

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

    def index(self, p: Params, column: str = "start_time") -> str:
        """SQL Array(Int64) of the windows a row belongs to."""
        base = self._between(p, column, self.base_lo, self.base_hi)
        cur = self._between(p, column, self.cur_lo, self.cur_hi)
        if not self.bucket_us:
            cur_index = str(CURRENT)
        else:
            offset = f"toUnixTimestamp64Micro({column}) - {p.bind(self.cur_lo, 'Int64')}"
            cur_index = f"{CURRENT} + intDiv({offset}, {p.bind(self.bucket_us, 'Int64')})"
        return f"arrayFilter(x -> x >= 0, [if({base}, {BASELINE}, -1), if({cur}, {cur_index}, -1)])"

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
