"""Numeric signals: per-window histograms of quantised values from ClickHouse, then PSI and KS.

One query (`scan`) gives, for every numeric signal and window, the count of each quantised value:
the key keeps the sign and order of x and is `round(ln|x|·KEY_SCALE)` shifted positive, so values
of any scale (a cost of $0.0001 as well as 30 s of latency) are resolved to 0.2%, small integers
such as token counts (below ~500) exactly, and 0 is a key of its own. From the baseline's histogram
come its deciles (the PSI bins) and its median; the fine histogram itself gives the KS statistic
exactly for the quantised data (see `stats`). Baseline quantiles are therefore exact up to the
quantisation, and both windows are binned in the same scan rather than one scan per pass.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from spanscope.collector.api.querying import Params
from spanscope.collector.drift import stats
from spanscope.collector.drift.scope import BASELINE, Windows, span_scope, split, step_population
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import SCORE_PREFIX, DriftRequest, DriftSignal, DriftSignalName, DriftThresholds

KEY_SCALE = 500.0
MIN_LOG = -39  # |x| below e^-39 (1e-17) counts as e^-39
KEY_OFFSET = 20_000  # > -MIN_LOG * KEY_SCALE, so every non-zero key is ≥ 1 in magnitude
PSI_BINS = 10
MAX_SCORE_NAMES = 20

Histogram = dict[int, int]


@dataclass(frozen=True)
class NumericDef:
    name: DriftSignalName
    label: str
    value: str  # SQL numeric expression over spans
    rows: str  # SQL condition: the spans that carry the value


def definitions(req: DriftRequest) -> list[NumericDef]:
    llm = "is_llm_call = 1"
    defs = [
        NumericDef(DriftSignalName.LATENCY_MS, "Latency (ms)", "duration_ms", step_population(req)),
        NumericDef(DriftSignalName.INPUT_TOKENS, "Input tokens per call", "input_tokens", llm),
        NumericDef(DriftSignalName.OUTPUT_TOKENS, "Output tokens per call", "output_tokens", llm),
        NumericDef(DriftSignalName.COST_USD, "Cost per call (USD)", "cost_usd", llm),
        NumericDef(
            DriftSignalName.OUTPUT_LENGTH,
            "Output length (bytes)",
            # Bytes, not characters: `length` reads only the column's sizes (`output.size`), `lengthUTF8`
            # would decompress every output, which on millions of outputs triples the cost of this scan.
            "length(output)",
            f"{llm} AND notEmpty(output)",
        ),
    ]
    return [d for d in defs if req.wants(d.name.value)]


def key_sql(value: str) -> str:
    """SQL: the quantised key of a numeric expression (0 for 0: `sign` zeroes it, and log(0) = -inf is
    floored at MIN_LOG, so no branch is needed)."""
    x = f"toFloat64({value})"
    magnitude = f"{KEY_OFFSET} + round(greatest(log(abs({x})), {MIN_LOG}) * {KEY_SCALE:g})"
    return f"toInt32(sign({x}) * ({magnitude}))"


def key_value(key: int) -> float:
    """The value a quantised key stands for."""
    if key == 0:
        return 0.0
    return math.copysign(math.exp((abs(key) - KEY_OFFSET) / KEY_SCALE), key)


def score_histograms(
    storage: Storage, project: str, req: DriftRequest, windows: Windows
) -> dict[tuple[str, int], Histogram]:
    """{("score:<name>", window): {key: count}} for numeric and boolean scores in scope."""
    out: dict[tuple[str, int], Histogram] = defaultdict(dict)
    if req.signals is not None and not any(s.startswith(SCORE_PREFIX) or s == "scores" for s in req.signals):
        return out
    p = Params(project)
    in_scope = ""
    if _has_span_filter(req):
        in_scope = (
            f"AND trace_id IN (SELECT trace_id FROM {storage.table('spans')} "
            f"WHERE {span_scope(p, req)} AND {windows.where(p)})"
        )
    sql = (
        f"SELECT name, {key_sql('assumeNotNull(value)')} AS k, {windows.counts(p, 'timestamp')} "
        f"FROM {storage.table('scores')} "
        f"WHERE project_id = {{project:String}} AND value IS NOT NULL AND isFinite(assumeNotNull(value)) "
        f"AND {windows.where(p, 'timestamp', primary=False)} {in_scope} "
        "GROUP BY name, k, cw"
    )
    totals: dict[str, int] = defaultdict(int)
    rows = [
        (str(name), int(k), w, count)
        for name, k, cw, nb, n in storage.query(sql, p.values)
        for w, count in split(cw, nb, n)
    ]
    for name, _, _, n in rows:
        totals[name] += n
    keep = {
        name for name in sorted(totals, key=lambda x: -totals[x])[:MAX_SCORE_NAMES] if req.wants(SCORE_PREFIX + name)
    }
    for name, k, w, n in rows:
        if name in keep:
            hist = out[(SCORE_PREFIX + name, w)]
            hist[k] = hist.get(k, 0) + n
    return out


def _has_span_filter(req: DriftRequest) -> bool:
    return any(
        v is not None
        for v in (req.service, req.span_name, req.model, req.prompt_name, req.prompt_version, req.kind, req.environment)
    )


def compare(name: str, label: str, base: Histogram, cur: Histogram, th: DriftThresholds) -> DriftSignal:
    """PSI on the baseline's deciles and KS on the fine histogram."""
    n_base, n_cur = sum(base.values()), sum(cur.values())
    signal = DriftSignal(
        name=name, label=label, type="numeric", statistic="psi", test="ks", n_baseline=n_base, n_current=n_cur
    )
    if n_base:
        signal.baseline_summary = _median(base)
    if n_cur:
        signal.current_summary = _median(cur)
    if not n_base or not n_cur:
        signal.status, signal.detail = stats.grade(None, None, n_base, n_cur, 0, 0, th, "PSI")
        return signal
    keys = np.array(sorted(set(base) | set(cur)), dtype=np.int64)
    b = np.array([base.get(int(k), 0) for k in keys], dtype=float)
    c = np.array([cur.get(int(k), 0) for k in keys], dtype=float)
    ks = stats.ks_from_histograms(b, c)
    edges = decile_edges(base)
    bins = np.searchsorted(np.array(edges, dtype=np.int64), keys, side="left")  # bin i: (e[i-1], e[i]]
    nb = len(edges) + 1
    b_bins = np.bincount(bins, weights=b, minlength=nb)
    c_bins = np.bincount(bins, weights=c, minlength=nb)
    signal.value = stats.psi(b_bins, c_bins)
    signal.test_statistic = ks.statistic
    signal.p_value = ks.p_value
    signal.bin_edges = [key_value(int(keys[0]))] + [key_value(e) for e in edges] + [key_value(int(keys[-1]))]
    signal.baseline = [float(x) for x in b_bins / n_base]
    signal.current = [float(x) for x in c_bins / n_cur]
    signal.baseline_counts = [int(x) for x in b_bins]
    signal.current_counts = [int(x) for x in c_bins]
    signal.status, signal.detail = stats.grade(
        signal.value, ks.p_value, n_base, n_cur, th.psi_moderate, th.psi_significant, th, "PSI"
    )
    return signal


def decile_edges(hist: Histogram) -> list[int]:
    """Distinct keys at the baseline's 10%…90% quantiles (upper edges of the first PSI bins)."""
    keys = np.array(sorted(hist), dtype=np.int64)
    cum = np.cumsum([hist[int(k)] for k in keys])
    total = cum[-1]
    edges: list[int] = []
    for i in range(1, PSI_BINS):
        k = int(keys[int(np.searchsorted(cum, total * i / PSI_BINS, side="left"))])
        if k != int(keys[-1]) and (not edges or k > edges[-1]):
            edges.append(k)
    return edges


def _median(hist: Histogram) -> float:
    keys = sorted(hist)
    cum = np.cumsum([hist[k] for k in keys])
    return key_value(keys[int(np.searchsorted(cum, cum[-1] / 2, side="left"))])


def window_pair(hists: dict[tuple[str, int], Histogram], name: str, current: int) -> tuple[Histogram, Histogram]:
    return hists.get((name, BASELINE), {}), hists.get((name, current), {})
