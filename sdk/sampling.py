"""Head sampling that keeps whole traces together.

`make_sampler(rate)` returns `ParentBased(TraceIdRatioBased(rate))`: the root span decides from its
trace id, every descendant (ours or another instrumentation's, in this process or downstream)
follows the parent's decision, so a trace is either stored complete or not at all.
"""

from __future__ import annotations

import math

from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased

from .diagnostics import log_once


def make_sampler(rate: float = 1.0) -> Sampler:
    """A parent-based sampler keeping `rate` (0..1) of traces; out-of-range values are clamped."""
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        log_once("sampling:rate", "spanscope: sample rate %r is not a number; sampling everything", rate)
        rate = 1.0
    if math.isnan(rate):
        rate = 1.0
    if rate < 0.0 or rate > 1.0:
        log_once("sampling:range", "spanscope: sample rate %r clamped to [0, 1]", rate)
        rate = min(1.0, max(0.0, rate))
    if rate >= 1.0:
        return ParentBased(ALWAYS_ON)
    if rate <= 0.0:
        return ParentBased(ALWAYS_OFF)
    return ParentBased(TraceIdRatioBased(rate))
