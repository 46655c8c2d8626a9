"""The SDK's process-wide settings, read on every call of a decorated function.

Kept in one slotted object so the hot path pays one global lookup and plain attribute reads.
`init()` replaces the fields; before `init()` the tracer is OpenTelemetry's proxy tracer, so
decorated code works (and follows whatever global provider the application sets up).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from spanscope.schemas.attributes import SS_TRUNCATED_SUFFIX

from .capture import DEFAULT_MAX_CHARS, serialize, to_json, truncate
from .diagnostics import internal_error

TRACER_NAME = "spanscope.sdk"
SDK_VERSION = "0.1.0"
# Extra characters serialised before masking so that a secret straddling the cut is masked whole;
# that margin is then dropped again.
MASK_MARGIN = 256
MASK_FAILED = "[spanscope: content dropped because the mask function failed]"


class State:
    __slots__ = ("capture_input", "capture_output", "enabled", "mask", "max_chars", "tracer")

    def __init__(self) -> None:
        self.tracer: trace.Tracer = trace.get_tracer(TRACER_NAME, SDK_VERSION)
        self.enabled = True
        self.capture_input = True
        self.capture_output = True
        self.max_chars = DEFAULT_MAX_CHARS
        self.mask: Callable[[str], str] | None = None

    def render(self, value: Any) -> tuple[str, str]:
        """(text, mime) of a captured value, masked and truncated. Never raises."""
        mask = self.mask
        if mask is None:
            return serialize(value, self.max_chars)
        text, mime = serialize(value, self.max_chars + MASK_MARGIN)
        return self._masked(text), mime

    def render_json(self, value: Any) -> str:
        """JSON text of a structured value (messages, documents), masked and truncated."""
        mask = self.mask
        if mask is None:
            return to_json(value, self.max_chars)
        return self._masked(to_json(value, self.max_chars + MASK_MARGIN))

    def render_text(self, text: str) -> str:
        mask = self.mask
        if mask is None:
            return truncate(text, self.max_chars)
        return self._masked(truncate(text, self.max_chars + MASK_MARGIN))

    def _masked(self, text: str) -> str:
        cut = text.endswith(SS_TRUNCATED_SUFFIX)
        if cut:
            text = text[: -len(SS_TRUNCATED_SUFFIX)]
        try:
            masked = self.mask(text) if self.mask is not None else text
            if not isinstance(masked, str):
                raise TypeError(f"mask returned {type(masked).__name__}, expected str")
        except Exception as exc:
            internal_error("mask", exc)
            return MASK_FAILED
        if cut:
            keep = min(self.max_chars, max(0, len(masked) - MASK_MARGIN))
            return masked[:keep] + SS_TRUNCATED_SUFFIX
        return truncate(masked, self.max_chars)


STATE = State()
