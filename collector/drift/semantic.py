"""Semantic drift of inputs: centroid cosine distance of hashed word/bigram vectors, permutation-tested.

The vectoriser is deliberately small and local: lower-cased word unigrams and bigrams, hashed with
CRC-32 (stable across processes, unlike `hash()`) into `DIMENSIONS` signed buckets, sublinear term
frequency, L2-normalised. No model, no download, the same vector for the same text on every machine.

The centroid distance of two samples is never zero, even for one distribution resampled, and its
size under "no change" depends on how varied the inputs are. A permutation test measures exactly
that: the observed distance is compared with the distances of random re-splits of the pooled sample
(`PERMUTATIONS` of them, seeded so a report is reproducible). The inputs listed as movers are the
current inputs whose projection onto the centroid shift is largest; their shares sum to 1 over the
current sample.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import zlib
from collections import Counter

import numpy as np
from spanscope.collector.drift import stats
from spanscope.collector.drift.sample import HourCounts, SampledText, sample_texts
from spanscope.collector.drift.scope import BASELINE, CURRENT, Windows, step_population
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import (
    DriftRequest,
    DriftSignal,
    DriftSignalName,
    DriftThresholds,
    SemanticDrift,
    SemanticMover,
)

DIMENSIONS = 1024
SAMPLE = 800
PERMUTATIONS = 400
TOP_TERMS = 10
MOVER_TEXT_CHARS = 300
_WORD = re.compile(r"\w+", re.UNICODE)


@functools.lru_cache(maxsize=4 * SAMPLE)
def terms(text: str) -> tuple[str, ...]:
    """Words and bigrams; cached because a report reads each sampled text's terms three times."""
    words = _WORD.findall(text.lower())
    return (*words, *(f"{a} {b}" for a, b in itertools.pairwise(words)))


@functools.lru_cache(maxsize=1 << 16)
def _slot(term: str) -> tuple[int, float]:
    h = zlib.crc32(term.encode())
    return h % DIMENSIONS, 1.0 if (h >> 31) & 1 else -1.0


def vectorise(texts: list[str]) -> np.ndarray:
    """(len(texts), DIMENSIONS) float32 rows, L2-normalised (all-zero for texts without words)."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for i, text in enumerate(texts):
        for term, tf in Counter(terms(text)).items():
            j, sign = _slot(term)
            out[i, j] += sign * (1.0 + math.log(tf))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise 1 − cos(a, b); 0 where a vector is zero."""
    num = np.sum(a * b, axis=-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return np.where(den > 0, 1.0 - num / np.where(den > 0, den, 1.0), 0.0)


def permutation_p(x: np.ndarray, n_base: int, observed: float, rounds: int = PERMUTATIONS) -> float:
    """Share of random splits of the pooled rows whose centroid distance reaches `observed`."""
    rng = np.random.default_rng(0)
    n = len(x)
    assign = np.zeros((rounds, n), dtype=np.float32)
    for r in range(rounds):
        assign[r, rng.permutation(n)[:n_base]] = 1.0
    sum_a = assign @ x
    sum_b = x.sum(axis=0, keepdims=True) - sum_a
    d = cosine_distance(sum_a / n_base, sum_b / (n - n_base))
    return float((1 + np.count_nonzero(d >= observed - 1e-12)) / (1 + rounds))


def rows(req: DriftRequest) -> str:
    """SQL condition: the spans whose inputs are sampled."""
    return f"({step_population(req)}) AND notEmpty(input)"


def semantic_drift(
    storage: Storage, project: str, req: DriftRequest, windows: Windows, hours: HourCounts, per_window: int = SAMPLE
) -> tuple[SemanticDrift, DriftSignal]:
    """`hours`: the `sample.hour_counts` of `rows(req)`."""
    sizes, sampled = sample_texts(storage, project, req, windows, "input", rows(req), hours, per_window)
    base = [r for r in sampled if r.window == BASELINE]
    cur = [r for r in sampled if r.window == CURRENT]
    return compare(base, cur, sizes.get(BASELINE, 0), sizes.get(CURRENT, 0), req.thresholds, req.semantic_top)


def compare(
    base: list[SampledText],
    cur: list[SampledText],
    n_base: int,
    n_cur: int,
    th: DriftThresholds,
    top: int = 10,
) -> tuple[SemanticDrift, DriftSignal]:
    """Semantic drift of two samples of inputs (`n_*`: rows in scope the samples were drawn from)."""
    result = SemanticDrift(
        n_baseline=n_base,
        n_current=n_cur,
        sampled_baseline=len(base),
        sampled_current=len(cur),
        dimensions=DIMENSIONS,
    )
    signal = DriftSignal(
        name=DriftSignalName.INPUT_SEMANTIC.value,
        label="Input topics (semantic)",
        type="semantic",
        statistic="cosine_distance",
        test="permutation",
        n_baseline=len(base),
        n_current=len(cur),
    )
    if base and cur:
        xb = vectorise([r.text for r in base])
        xc = vectorise([r.text for r in cur])
        cb, cc = xb.mean(axis=0), xc.mean(axis=0)
        distance = float(cosine_distance(cb, cc))
        p = permutation_p(np.vstack([xb, xc]), len(base), distance)
        result.distance, result.p_value = distance, p
        signal.value, signal.test_statistic, signal.p_value = distance, distance, p
        shift = cc - cb
        result.top_movers = _movers(cur, xc, cb, shift, top)
        result.baseline_terms, result.current_terms = _terms(base, cur, shift)
        shown = result.current_terms + result.baseline_terms
        signal.categories = shown
        signal.baseline = _doc_share(base, shown)
        signal.current = _doc_share(cur, shown)
    signal.status, signal.detail = stats.grade(
        signal.value,
        signal.p_value,
        len(base),
        len(cur),
        th.semantic_moderate,
        th.semantic_significant,
        th,
        "centroid distance",
    )
    return result, signal


def _movers(cur: list[SampledText], xc: np.ndarray, cb: np.ndarray, shift: np.ndarray, top: int) -> list[SemanticMover]:
    norm2 = float(shift @ shift)
    if norm2 == 0 or top == 0:
        return []
    share = ((xc - cb) @ shift) / (len(cur) * norm2)
    movers: list[SemanticMover] = []
    seen: set[str] = set()
    for i in np.argsort(-share):
        r = cur[int(i)]
        if r.text in seen:
            continue
        seen.add(r.text)
        movers.append(
            SemanticMover(
                trace_id=r.trace_id, span_id=r.span_id, text=r.text[:MOVER_TEXT_CHARS], contribution=float(share[i])
            )
        )
        if len(movers) == top:
            break
    return movers


def _terms(base: list[SampledText], cur: list[SampledText], shift: np.ndarray) -> tuple[list[str], list[str]]:
    """Terms whose hashed direction the centroid moved away from (baseline) and towards (current)."""
    seen = Counter(t for r in base + cur for t in set(terms(r.text)))
    scored = []
    for term, count in seen.items():
        j, sign = _slot(term)
        scored.append((sign * float(shift[j]), count, term))
    up = [t for s, _, t in sorted(scored, key=lambda x: (-x[0], -x[1])) if s > 0][:TOP_TERMS]
    down = [t for s, _, t in sorted(scored, key=lambda x: (x[0], -x[1])) if s < 0][:TOP_TERMS]
    return down, up


def _doc_share(rows: list[SampledText], shown: list[str]) -> list[float]:
    """Share of the sample's inputs containing each term."""
    if not rows:
        return []
    sets = [set(terms(r.text)) for r in rows]
    return [sum(t in s for s in sets) / len(rows) for t in shown]
