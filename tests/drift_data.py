"""Synthetic traffic for drift tests: a RAG request (root chain, guardrail, generation) per trace,
drawn from a `Traffic` profile, so a test can shift one aspect of it and keep the rest."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spanscope.schemas.drift import DriftReport, DriftRequest

from tests.api_support import BASE, HOUR, span

# Fixed, fully past windows: the baseline hour, then the current hour.
BASE_START, CUR_START, CUR_END = BASE - 2 * HOUR, BASE - HOUR, BASE


def _words(text: str) -> list[str]:
    return text.split()


TOPICS: dict[str, list[str]] = {
    "billing": _words("invoice refund charge payment card billing subscription plan price receipt"),
    "account": _words("password login account email profile username reset locked verify settings"),
    "shipping": _words("parcel delivery courier tracking warehouse shipment customs package address late"),
    "cooking": _words("recipe oven flour garlic simmer pasta sauce bake onion butter"),
}
ASKS = ["how do I", "why is my", "can you help with my", "what happens to the", "I need to change my"]
OUTPUT_WORDS = _words(
    "thanks for reaching out the team has reviewed your request and here is what you can do next "
    "please open the settings page select the option and confirm the change it usually takes a few minutes"
)


@dataclass
class Traffic:
    """What one window of traffic looks like."""

    latency_ms: float = 800.0  # median of the lognormal root and generation latency
    models: dict[str, float] = field(default_factory=lambda: {"gpt-4o-mini": 0.7, "claude-3-5-haiku": 0.3})
    output_words: int = 40
    fallback_rate: float = 0.05
    block_rate: float = 0.1
    topics: tuple[str, ...] = ("billing", "account")


def question(rng: random.Random, topics: tuple[str, ...]) -> str:
    words = TOPICS[rng.choice(topics)]
    return f"{rng.choice(ASKS)} {' '.join(rng.sample(words, 4))}?"


def traces(project: str, traffic: Traffic, n: int, start: float, seconds: float, seed: int) -> list[dict[str, Any]]:
    """`n` traces spread over [start, start + seconds), three spans each."""
    rng = random.Random(seed)
    models, weights = list(traffic.models), list(traffic.models.values())
    rows = []
    for i in range(n):
        tid = f"{rng.getrandbits(128):032x}"
        root, guard, gen = (f"{rng.getrandbits(64):016x}" for _ in range(3))
        t0 = start + seconds * i / n
        gen_ms = rng.lognormvariate(0, 0.4) * traffic.latency_ms
        text = question(rng, traffic.topics)
        words = max(1, int(rng.gauss(traffic.output_words, traffic.output_words / 5)))
        output = " ".join(rng.choice(OUTPUT_WORDS) for _ in range(words))
        out_tokens = int(words * 1.3)
        in_tokens = rng.randint(300, 500)
        rows.append(span(project, tid, root, t0, gen_ms + 20, name="answer", kind="chain", input=text, output=output))
        blocked = rng.random() < traffic.block_rate
        rows.append(
            span(
                project,
                tid,
                guard,
                t0 + 0.001,
                5.0,
                parent=root,
                name="no_injection",
                kind="guardrail",
                guardrail_verdict="block" if blocked else "pass",
            )
        )
        rows.append(
            span(
                project,
                tid,
                gen,
                t0 + 0.01,
                gen_ms,
                parent=root,
                name="chat",
                kind="generation",
                model=rng.choices(models, weights)[0],
                input_tokens=in_tokens,
                output_tokens=out_tokens,
                total_tokens=in_tokens + out_tokens,
                cost_usd=in_tokens * 1.5e-7 + out_tokens * 6e-7,
                input=text,
                output=output,
                finish_reasons=["stop" if rng.random() < 0.95 else "length"],
                is_llm_call=1,
                fallback_used=1 if rng.random() < traffic.fallback_rate else 0,
                output_validated=1,
                output_valid=0 if rng.random() < 0.02 else 1,
            )
        )
    return rows


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def request(**fields: object) -> DriftRequest:
    """A request over the fixed windows."""
    return DriftRequest.model_validate(
        {
            "baseline_start": at(BASE_START),
            "baseline_end": at(CUR_START),
            "current_start": at(CUR_START),
            "current_end": at(CUR_END),
            **fields,
        }
    )


def significant(report: DriftReport) -> set[str]:
    return {s.name for s in report.signals if s.status == "significant"}
