"""Categorical mixes: model, finish reason and output language, by Jensen–Shannon distance and chi-square.

Model and finish-reason counts come from the per-span scan (`scan`). The spans table has no output
language, so a bounded, deterministic sample of outputs per window (`sample`) is detected in Python;
the test then runs on the sample's counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from spanscope.collector.drift import stats
from spanscope.collector.drift.sample import HourCounts, sample_texts
from spanscope.collector.drift.scope import Windows
from spanscope.collector.evals.language import detect_language
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftRequest, DriftSignal, DriftSignalName, DriftThresholds

MAX_CATEGORIES = 30
OTHER = "__other__"
LANGUAGE_SAMPLE = 250
# Enough text to tell a language apart; detection time grows with length.
LANGUAGE_CHARS = 600
LLM_OUTPUT = "is_llm_call = 1 AND notEmpty(output)"

Mixes = dict[tuple[str, int], Counter[str]]


@dataclass(frozen=True)
class MixDef:
    name: DriftSignalName
    label: str
    value: str  # SQL String expression
    rows: str  # SQL condition


MIXES = (
    MixDef(DriftSignalName.MODEL_MIX, "Model mix", "toString(model)", "is_llm_call = 1 AND model != ''"),
    MixDef(
        DriftSignalName.FINISH_REASON_MIX, "Finish reasons", "toString(finish_reasons[1])", "notEmpty(finish_reasons)"
    ),
)
LANGUAGE_LABEL = "Output language"


def definitions(req: DriftRequest) -> list[MixDef]:
    return [d for d in MIXES if req.wants(d.name.value)]


def language_mix(
    storage: Storage,
    project: str,
    req: DriftRequest,
    windows: Windows,
    hours: HourCounts,
    per_window: int = LANGUAGE_SAMPLE,
) -> Mixes:
    """Languages of up to `per_window` sampled LLM outputs per window (`hours`: the `sample.hour_counts`
    of LLM_OUTPUT)."""
    out: Mixes = defaultdict(Counter)
    if not req.wants(DriftSignalName.OUTPUT_LANGUAGE_MIX.value):
        return out
    _, rows = sample_texts(storage, project, req, windows, "output", LLM_OUTPUT, hours, per_window)
    for row in rows:
        out[(DriftSignalName.OUTPUT_LANGUAGE_MIX.value, row.window)][detect_language(row.text[:LANGUAGE_CHARS])] += 1
    return out


def compare(
    name: str, label: str, base: Counter[str], cur: Counter[str], th: DriftThresholds, sampled: bool = False
) -> DriftSignal:
    n1, n2 = sum(base.values()), sum(cur.values())
    cats = _categories(base, cur)
    b = [_count(base, c, cats) for c in cats]
    c = [_count(cur, c, cats) for c in cats]
    signal = DriftSignal(
        name=name,
        label=label,
        type="categorical",
        statistic="js_distance",
        test="chi2",
        n_baseline=n1,
        n_current=n2,
        categories=cats,
        baseline_counts=b,
        current_counts=c,
        baseline=[x / n1 for x in b] if n1 else [],
        current=[x / n2 for x in c] if n2 else [],
    )
    if n1 and n2:
        js, test = stats.mix_test(b, c)
        signal.value, signal.test_statistic, signal.p_value = js, test.statistic, test.p_value
    signal.status, signal.detail = stats.grade(
        signal.value, signal.p_value, n1, n2, th.js_moderate, th.js_significant, th, "JS distance"
    )
    if sampled:
        signal.detail += f" (on a sample of ≤ {LANGUAGE_SAMPLE} outputs per window)"
    return signal


def _categories(base: Counter[str], cur: Counter[str]) -> list[str]:
    total = base + cur
    top = [c for c, _ in total.most_common(MAX_CATEGORIES)]
    return [*top, OTHER] if len(total) > MAX_CATEGORIES else top


def _count(counter: Counter[str], cat: str, cats: list[str]) -> int:
    if cat != OTHER:
        return counter.get(cat, 0)
    named = set(cats)
    return sum(n for c, n in counter.items() if c not in named)
