"""Microseconds per span that redaction adds to ingest (built-in rules, the default).

    python bench/redaction.py [--spans 2000] [--repeat 15]

Each case of bench/normalize.py is decoded and normalised, then `redact_rows` runs over the rows
as the ingest path does (input, output, documents, events, attributes). Two cases of our own: a
generation whose ~2 KB of content holds no secret (the common case: prose with digits and an @),
and one whose content holds an e-mail, a phone number, a card number and an API key.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import normalize as bench_normalize
from spanscope.collector.normalize import NormalizeContext, normalize
from spanscope.collector.pricing import PriceTable
from spanscope.collector.security.redaction import PolicySet, redact_rows

PROSE = (
    "Our refund policy allows returns within 30 days of delivery. Orders placed before 2025-01-15 "
    "ship from the Lyon warehouse; contact support via the help centre (ticket #48213). "
)


def _content(text: str) -> dict[str, object]:
    user = text.replace('"', "'")
    return {
        **bench_normalize.TYPICAL,
        "gen_ai.input.messages": '[{"role":"system","parts":[{"type":"text","content":"Cite the policy."}]},'
        f'{{"role":"user","parts":[{{"type":"text","content":"{user}"}}]}}]',
        "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text",'
        f'"content":"{user[:400]}"}}],"finish_reason":"stop"}}]',
    }


def measure(template: object, n: int, ctx: NormalizeContext, repeat: int) -> tuple[float, float]:
    """(µs/span to normalise, µs/span to redact the normalised rows)."""
    best_norm = best_red = float("inf")
    policies = PolicySet()
    for _ in range(repeat):
        spans = bench_normalize.decoded_batch(template, n)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        rows = normalize(spans, ctx)
        t1 = time.perf_counter()
        redact_rows(rows, policies)
        t2 = time.perf_counter()
        best_norm, best_red = min(best_norm, t1 - t0), min(best_red, t2 - t1)
    return best_norm / n * 1e6, best_red / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    ctx = NormalizeContext(project_id="bench", retention_days=30, prices=PriceTable.load())
    span, req = bench_normalize._span, bench_normalize._request
    cases = {
        "typical OTel generation (10 attributes)": req(span(bench_normalize.TYPICAL)),
        "OTel generation + input/output messages": req(span(bench_normalize.WITH_CONTENT)),
        "spanscope SDK generation (13 attributes)": req(span(bench_normalize.SDK)),
        "OpenInference LLM (13 attributes, indexed)": req(span(bench_normalize.OPENINFERENCE, "ChatCompletion")),
        "generation, 2 KB of content, no secret": req(span(_content(PROSE * 8))),
        "generation, 2 KB of content, 4 secrets": req(
            span(
                _content(
                    PROSE * 7 + "Mail jane.roe@example.com or call +44 20 7946 0958, card 4111 1111 1111 1111, "
                    "key sk-proj-Abcdefghijklmnopqrstuvwxyz012345."
                )
            )
        ),
    }
    print(f"{'case':<48} {'normalise µs':>13} {'redact µs':>10} {'overhead':>9}")
    for label, template in cases.items():
        norm, red = measure(copy.deepcopy(template), args.spans, ctx, args.repeat)
        print(f"{label:<48} {norm:13.2f} {red:10.2f} {red / norm:8.0%}")


if __name__ == "__main__":
    main()
