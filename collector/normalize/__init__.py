"""Convention normalisation: decoded OTLP spans into `spanscope.spans` rows.

`normalize(spans, ctx)` returns one row dict per span whose keys are columns of `spanscope.spans`
and whose values are JSON-native (the caller serialises them with orjson as JSONEachRow). Keys
whose value is the column default ("" / 0 / []) may be absent; `COLUMN_DEFAULTS` lists them all.

Each dialect module declares its rules (column or fact ← keys in priority order) and handlers:
our `spanscope.*` keys (`spanscope.py`, highest priority), OTel GenAI current and deprecated names
(`otel_genai.py`), OpenInference (`openinference.py`), Traceloop OpenLLMetry (`traceloop.py`),
OpenLIT (`openlit.py`) and framework keys (`frameworks.py`: NeMo Guardrails, Guardrails AI,
LiteLLM). `rules.py` compiles them, once per attribute-key layout, into a plan that touches only
the keys a span has; applying it consumes (pops) the keys it maps, and the attributes nobody
consumed stay in `attributes`. Then come span events (`events.py`), kind resolution (`kind.py`),
content assembly (`messages.py`, `documents.py`), pricing (`collector/pricing.py`) and, per batch,
fallback inference (`fallback.py`).

Row values: `start_time`/`end_time` are `"<unix seconds>.<6-digit micros>"` strings, `duration_ms` a
float, `attributes`/`resource_attributes` dict[str, str] (non-strings as compact JSON),
`events`/`documents` compact JSON strings, `finish_reasons`/`tags` lists of strings. The
`resource_attributes` dict is shared by the rows of one resource: do not mutate it.
"""

from .logs import ContentPatch, content_from_logs, merge_content
from .spans import COLUMN_DEFAULTS, NormalizeContext, normalize

__all__ = [
    "COLUMN_DEFAULTS",
    "ContentPatch",
    "NormalizeContext",
    "content_from_logs",
    "merge_content",
    "normalize",
]
