"""The spanscope SDK: trace LLM applications with OpenTelemetry and send the spans to spanscope.

    import spanscope.sdk as spanscope

    spanscope.init(project="docs-bot", environment="prod", release="1.4.0")  # or SPANSCOPE_* env

    @spanscope.observe(kind="retrieval")
    def retrieve(query: str) -> list[dict]:
        return store.search(query, k=4)                       # [{"id", "score", "content"}, ...]

    @spanscope.observe(kind="generation", model="gpt-4o-mini", provider="openai")
    def generate(messages: list[dict]) -> str:
        response = openai.chat.completions.create(model="gpt-4o-mini", messages=messages)
        spanscope.update_current_span(usage=response.usage, response_model=response.model)
        return response.choices[0].message.content

    ask = spanscope.fallback([("gpt-4o-mini", generate), ("claude-haiku", generate_claude)])

    @spanscope.observe(kind="chain")
    def answer(question: str) -> str:
        question = spanscope.guardrail(no_injection, question, stage="input")  # raises GuardrailBlocked
        context = "\n".join(doc["content"] for doc in retrieve(question))
        return ask([{"role": "system", "content": context}, {"role": "user", "content": question}])

Everything here is safe to call from application code: failures inside the SDK are counted
(`stats()`) and logged once, never raised; exceptions of your own code pass through unchanged.
"""

from spanscope.schemas.kinds import GuardrailVerdict, SpanKind

from . import redact
from .client import Client, flush, get_client, init, shutdown
from .current import get_current_span_id, get_current_trace_id, update_current_span, with_current_context
from .diagnostics import reset_stats, stats
from .fallback import Attempt, Fallback, fallback
from .guardrail import Guardrail, GuardrailBlocked, GuardrailResult, aguardrail, guardrail
from .observe import Observation, get_current_observation, observation, observe
from .propagation import propagate_attributes
from .redact import compose as compose_redactors
from .redact import default_redactor
from .sampling import make_sampler
from .scores import score
from .structured import StructuredOutputError, astructured_output, structured_output

span = observation  # alias: `with spanscope.span("step"):`

__all__ = [
    "Attempt",
    "Client",
    "Fallback",
    "Guardrail",
    "GuardrailBlocked",
    "GuardrailResult",
    "GuardrailVerdict",
    "Observation",
    "SpanKind",
    "StructuredOutputError",
    "aguardrail",
    "astructured_output",
    "compose_redactors",
    "default_redactor",
    "fallback",
    "flush",
    "get_client",
    "get_current_observation",
    "get_current_span_id",
    "get_current_trace_id",
    "guardrail",
    "init",
    "make_sampler",
    "observation",
    "observe",
    "propagate_attributes",
    "redact",
    "reset_stats",
    "score",
    "shutdown",
    "span",
    "stats",
    "structured_output",
    "update_current_span",
    "with_current_context",
]
