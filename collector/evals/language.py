"""Language of a text, for the output-language evaluator and the language-mix drift signal.

py3langid ships its model inside the wheel, so detection needs no download at run time.
"""

from __future__ import annotations

import functools
import re

from py3langid.langid import MODEL_FILE, LanguageIdentifier

UNKNOWN = "und"
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.8
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@functools.cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str:
    """ISO 639-1 code, or `und` when the text is too short, has no letters or is ambiguous."""
    if len(_LETTER.findall(text[:2000])) < MIN_LETTERS:
        return UNKNOWN
    lang, confidence = _identifier().classify(text[:2000])
    return str(lang) if confidence >= MIN_CONFIDENCE else UNKNOWN
