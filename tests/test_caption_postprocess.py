"""Post-processing, prompts and language detection of captions."""

from __future__ import annotations

import socket
import unicodedata

import pytest

from curation.caption import language
from curation.caption.language import detect_language
from curation.caption.postprocess import cap_length, clean_caption, clean_description, first_sentence, normalize_text
from curation.caption.prompts import available_versions, load_prompts
from curation.errors import ClipError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('Caption: "A dog barks at a passing car. Then it runs away."', "A dog barks at a passing car."),
        (
            "Sure! Here is the caption:\n**A man, Mr. Smith, plays the guitar.** It is loud.",
            "A man, Mr. Smith, plays the guitar.",
        ),
        ("  \u201cA  woman sings\u200b on\tstage\u201d.", "A woman sings on stage."),
        ("Final caption: It costs 3.5 dollars and J. Doe pays. Then more.", "It costs 3.5 dollars and J. Doe pays."),
        ("一只狗在公园里叫。然后跑了。", "一只狗在公园里叫。"),
        ("summary:   a bell rings", "a bell rings"),
        ("A train passes by!  The crowd cheers.", "A train passes by!"),
    ],
)
def test_clean_caption_keeps_one_clean_sentence(raw: str, expected: str) -> None:
    assert clean_caption(raw, max_chars=300) == expected


def test_clean_caption_applies_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Un café près de la rivière.")
    cleaned = clean_caption(decomposed, max_chars=300)
    assert cleaned == unicodedata.normalize("NFC", cleaned) == "Un café près de la rivière."


def test_length_cap_cuts_at_a_word_boundary() -> None:
    caption = clean_caption("A dog barks loudly at the mailman while a car passes by on the road", max_chars=30)
    assert len(caption) <= 30
    assert caption == "A dog barks loudly at the"
    assert cap_length("abcdefghijklmnop", 5) == "abcde"


@pytest.mark.parametrize("raw", ["", "   ", '""', "Caption:", "**  **", "\u200b\u200b"])
def test_empty_output_is_a_clip_error(raw: str) -> None:
    with pytest.raises(ClipError) as caught:
        clean_caption(raw, max_chars=300)
    assert caught.value.reason == "empty_caption"
    with pytest.raises(ClipError):
        clean_description(raw, max_chars=300)


def test_descriptions_keep_several_sentences() -> None:
    text = "Description: A man walks. A car honks.\n\nRain falls."
    assert clean_description(text, max_chars=1000) == "A man walks. A car honks. Rain falls."
    assert first_sentence("no end mark") == "no end mark"
    assert normalize_text("\x00a\x07 b") == "a b"


def test_prompts_are_versioned_and_carry_the_bias_rules() -> None:
    prompts = load_prompts("v1")
    assert "v1" in available_versions()
    assert prompts.version == "v1"
    filled = prompts.summary_prompt("A {curly} man runs.", "Footsteps.")
    assert "A {curly} man runs." in filled and "Footsteps." in filled
    assert "one neutral, factual sentence" in prompts.summarize
    assert "gender" in prompts.summarize and "names" in prompts.summarize
    assert prompts.digest("video").startswith("v1:") and prompts.digest("video") != prompts.digest("audio")
    with pytest.raises(FileNotFoundError, match="versions available"):
        load_prompts("v999")
    with pytest.raises(ValueError):
        load_prompts("../x")


def test_language_detection_uses_the_bundled_lite_model_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("language detection tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(language, "_detector", None)
    assert detect_language("A dog is barking loudly while children play in the park.") == "en"
    assert detect_language("Ein Hund bellt laut, während Kinder im Park spielen.") == "de"
    assert detect_language("   ") == "und"
