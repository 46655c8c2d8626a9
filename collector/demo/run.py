"""`spanscope demo`: a support-bot RAG app, instrumented with the SDK, against a local fake LLM.

Each request runs an input guardrail (prompt injection, card numbers), keyword retrieval, a
generation on `gpt-4o-mini` with retries that falls back to `claude-3-5-haiku` (and to a canned
answer when both fail), structured-output validation of the JSON answer (off-format answers are
repaired once), an output guardrail, and sometimes a user feedback score. Two prompt versions run
side by side so the prompt comparison has something to compare.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
from functools import partial
from typing import Any

import spanscope.sdk as spanscope
from pydantic import BaseModel
from spanscope.collector.demo.corpus import BLOCKED_INPUTS, PROMPT_VERSIONS, QUESTIONS, retrieve
from spanscope.collector.demo.fake_llm import FakeLLM

SYSTEM_PROMPTS = {
    "v3": "Answer the customer's question from the context. Reply as JSON with answer and citations.",
    "v4": "You are a concise support agent. Use only the context below. Respond in JSON: "
    '{"answer": str, "citations": [doc ids]}.',
}


class LLMError(Exception):
    """An HTTP error from the model server; `status_code` lets the fallback tell transient ones apart."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class Answer(BaseModel):
    answer: str
    citations: list[str]


def call_llm(base_url: str, model: str, prompt_version: str, messages: list[dict[str, str]]) -> str:
    """One chat completion over HTTP, recorded on the current (attempt) span."""
    body = json.dumps(
        {"model": model, "messages": messages, "temperature": 0.2, "response_format": {"type": "json_object"}}
    ).encode()
    req = urllib.request.Request(f"{base_url}/chat/completions", body, {"Content-Type": "application/json"})
    spanscope.update_current_span(
        provider="anthropic" if model.startswith("claude") else "openai",
        input_messages=messages,
        prompt_name="support-answer",
        prompt_version=prompt_version,
        parameters={"temperature": 0.2},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise LLMError(exc.code, json.loads(exc.read() or b"{}").get("error", {}).get("message", str(exc))) from None
    text = data["choices"][0]["message"]["content"]
    spanscope.update_current_span(
        response_model=data["model"],
        response_id=data["id"],
        input_tokens=data["usage"]["prompt_tokens"],
        output_tokens=data["usage"]["completion_tokens"],
        finish_reasons=[data["choices"][0]["finish_reason"]],
        output_messages=[{"role": "assistant", "content": text}],
    )
    return str(text)


def no_injection_or_card(text: str) -> spanscope.GuardrailResult:
    lowered = text.lower()
    if "ignore all previous instructions" in lowered or "system prompt" in lowered:
        return spanscope.GuardrailResult.block("prompt injection", category="jailbreak")
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 13:
        return spanscope.GuardrailResult.block("card number in input", category="pci")
    return spanscope.GuardrailResult.passed()


def no_internal_urls(text: str) -> spanscope.GuardrailResult:
    if "internal.example" in text:
        return spanscope.GuardrailResult.modify(text.replace("internal.example", "example.com"), "internal link")
    return spanscope.GuardrailResult.passed()


class DemoApp:
    def __init__(self, llm_url: str, rng: random.Random) -> None:
        self.llm_url = llm_url
        self.rng = rng
        self.input_guard = spanscope.Guardrail(
            no_injection_or_card, name="input_policy", stage="input", policy="injection+pci-v1"
        )
        self.output_guard = spanscope.Guardrail(
            no_internal_urls, name="output_policy", stage="output", policy="links-v2"
        )
        self.retrieve = spanscope.observe(kind="retrieval", name="retrieve_docs")(self._retrieve)

    def _retrieve(self, question: str) -> list[dict[str, Any]]:
        time.sleep(self.rng.uniform(0.005, 0.03))
        docs = [{"id": d, "score": s, "content": t} for d, s, t in retrieve(question)]
        spanscope.update_current_span(documents=docs)
        return docs

    def answer(self, question: str, user: str, session: str) -> str:
        with (
            spanscope.propagate_attributes(session_id=session, user_id=user, tags=["demo", "support-bot"]),
            spanscope.observation("answer_question", kind="chain") as obs,
        ):
            obs.update(input=question)
            result = self._answer(question)
            obs.update(output=result)
            if self.rng.random() < 0.3:
                liked = "INSUFFICIENT_DATA" not in result and self.rng.random() < 0.8
                spanscope.score("user_feedback", liked, comment=None if liked else "not helpful")
            return result

    def _answer(self, question: str) -> str:
        try:
            question = self.input_guard(question)
        except spanscope.GuardrailBlocked:
            return "Sorry, I can't help with that request."
        docs = self.retrieve(question)
        version = self.rng.choice(PROMPT_VERSIONS)
        context = "\n".join(f"[{d['id']}] {d['content']}" for d in docs)
        messages = [
            {"role": "system", "content": f"{SYSTEM_PROMPTS[version]}\nContext:\n{context}"},
            {"role": "user", "content": question},
        ]
        ask = spanscope.fallback(
            [
                ("gpt-4o-mini", partial(call_llm, self.llm_url, "gpt-4o-mini", version)),
                (
                    "claude-3-5-haiku-20241022",
                    partial(call_llm, self.llm_url, "claude-3-5-haiku-20241022", version),
                ),
            ],
            name="generate_answer",
            retries=1,
            backoff=0.05,
            max_backoff=0.2,
            degraded=lambda msgs: json.dumps({"answer": "Please see our help center.", "citations": []}),
        )
        try:
            parsed = spanscope.structured_output(ask, Answer, messages, max_attempts=2, model="gpt-4o-mini")
        except spanscope.StructuredOutputError:
            return "Sorry, something went wrong. Please try again."
        text = parsed.answer
        if parsed.citations and self.rng.random() < 0.05:
            text += " More at https://internal.example/kb."
        return str(self.output_guard(text))


def run_demo(
    endpoint: str, traces: int = 200, continuous: bool = False, seed: int | None = None, pace_s: float = 0.5
) -> int:
    """Sends `traces` requests (or until interrupted with `continuous`); returns an exit code."""
    rng = random.Random(seed)
    spanscope.init(
        endpoint=endpoint,
        service="support-bot",
        environment="demo",
        release="2.3.0",
        schedule_delay_millis=500,
    )
    sent = 0
    with FakeLLM(seed=seed, speed=4.0) as llm:
        app = DemoApp(llm.url, rng)
        try:
            while continuous or sent < traces:
                user = f"user-{rng.randint(1, 40)}"
                session = f"{user}-s{rng.randint(1, 3)}"
                question = rng.choice(BLOCKED_INPUTS) if rng.random() < 0.06 else rng.choice(QUESTIONS)
                app.answer(question, user, session)
                sent += 1
                if continuous:
                    time.sleep(rng.uniform(0, pace_s))
        except KeyboardInterrupt:
            pass
    spanscope.flush()
    spanscope.shutdown()
    stats = spanscope.stats()
    dropped = stats.get("spans_dropped", 0)
    print(f"demo: sent {sent} requests to {endpoint}" + (f" ({dropped} spans dropped)" if dropped else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spanscope-demo")
    ap.add_argument("--endpoint", default="http://127.0.0.1:4318")
    ap.add_argument("--traces", type=int, default=200)
    ap.add_argument("--continuous", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    return run_demo(args.endpoint, args.traces, args.continuous, args.seed)


if __name__ == "__main__":
    sys.exit(main())
