"""The model-backed tagger and separator, built from tiny random configs of the genuine classes.

Random weights prove the plumbing (label grouping, shapes, loading from local files only), never quality.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from curation.avset.voiceover import AstTagger, VoiceoverRule, assess_voiceover, audioset_groups

LABELS = {
    0: "Speech",
    1: "Male speech, man speaking",
    2: "Music",
    3: "Guitar",
    4: "Female singing",
    5: "Dog",
    6: "Waterfall",
    7: "Silence",
    8: "Inside, small room",
}


def test_audioset_groups_follow_the_ontology():
    groups = audioset_groups()
    assert len(groups.speech) == 8
    assert {"guitar", "cowbell", "choir", "background music", "scary music", "song"} <= groups.music
    assert "female singing" in groups.music  # singing is merged into music for the rule
    assert groups.group_of("Male_speech,_man_speaking") == "speech"
    assert groups.group_of("Silence") == "not_a_source"
    assert groups.group_of("Hubbub, speech noise, speech babble") == "not_a_source"
    assert groups.group_of("Dog") == groups.group_of("Beep, bleep") == "other"
    assert groups.group_of("Laughter") == "other"  # human sound, but not in the Speech subtree


@pytest.fixture(scope="module")
def tiny_ast(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    import torch

    torch.manual_seed(0)
    config = transformers.ASTConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_length=1024,
        num_mel_bins=128,
        id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()},
    )
    directory = tmp_path_factory.mktemp("tiny_ast")
    transformers.ASTForAudioClassification(config).save_pretrained(directory)
    transformers.ASTFeatureExtractor().save_pretrained(directory)
    return directory


# 128 mel bins over 257 FFT bins leave one empty filter; Kaldi's fbank (AST's training front end) does too.
@pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values")
def test_ast_tagger_groups_label_probabilities(tiny_ast):
    import torch

    tagger = AstTagger.from_pretrained(tiny_ast, batch_size=2)
    audio = np.random.default_rng(0).normal(0, 0.1, (3, 160_000)).astype(np.float32)
    tags = tagger.tag(audio)
    inputs = tagger.feature_extractor(list(audio), sampling_rate=16_000, return_tensors="pt")
    with torch.no_grad():
        probs = torch.sigmoid(tagger.model(**inputs).logits).numpy()
    assert len(tags) == 3 and tags[0].tagger == f"ast:{tiny_ast.name}"
    for row, tag in zip(probs, tags, strict=True):
        assert tag.speech_ratio == pytest.approx(row[[0, 1]].max(), abs=1e-5)
        assert tag.music_ratio == pytest.approx(row[[2, 3, 4]].max(), abs=1e-5)
        assert tag.other_score == pytest.approx(row[[5, 6]].max(), abs=1e-5)  # Silence, room: not sources
        assert tag.speech_segments == ()
    decisions = assess_voiceover(tagger, audio)
    assert all(d.tags.tagger == tagger.name for d in decisions)
    everything = VoiceoverRule(speech_min=0.0, music_min=0.0, other_min=0.0)  # every source "present"
    nothing = VoiceoverRule(speech_min=2.0, music_min=2.0, other_min=2.0)  # no probability reaches 2
    assert [d.voiceover for d in assess_voiceover(tagger, audio, everything)] == [True] * 3
    assert [d.voiceover for d in assess_voiceover(tagger, audio, nothing)] == [False] * 3


@pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values")
def test_ast_top_labels_break_ties_by_label_index_and_absent_groups_score_zero(tmp_path):
    """Saturated sigmoids tie at 1.0 in float32: the published top-k order must not depend on the sort
    algorithm. 40 labels (numpy's default sort is not stable beyond 16 items), none of them speech or music."""
    transformers = pytest.importorskip("transformers")
    labels = {i: f"Sound {i}" for i in range(40)}
    config = transformers.ASTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                    intermediate_size=64, id2label=labels, label2id={v: k for k, v in labels.items()})
    transformers.ASTForAudioClassification(config).save_pretrained(tmp_path)
    transformers.ASTFeatureExtractor().save_pretrained(tmp_path)
    tagger = AstTagger.from_pretrained(tmp_path, top_k=6)
    probs = np.full(40, 0.25, dtype=np.float32)
    probs[[33, 7, 21, 2, 38, 15]] = 1.0
    probs[[30, 11]] = 0.5
    result = tagger._result(probs)
    assert result.labels == tuple(f"Sound {i}" for i in (2, 7, 15, 21, 33, 38))
    assert (result.speech_ratio, result.music_ratio, result.other_score) == (0.0, 0.0, 1.0)


def test_ast_tagger_never_downloads(tmp_path):
    pytest.importorskip("transformers")
    with pytest.raises(FileNotFoundError, match="not available locally"):
        AstTagger.from_pretrained(tmp_path / "no-such-checkpoint")
    with pytest.raises(FileNotFoundError):
        AstTagger.from_pretrained("MIT/ast-finetuned-audioset-10-10-0.4593-not-cached")


def test_ast_tagger_asks_no_server_even_when_online(tmp_path):
    """The tests run offline (HF_HUB_OFFLINE=1), which would hide a download: here a fresh interpreter runs with
    the Hub reachable (HF_ENDPOINT = a local server that records requests), and loading a missing checkpoint
    must still fail without asking for it."""
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pytest.importorskip("transformers")
    requests: list[str] = []

    class Hub(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            requests.append(self.path)
            self.send_error(404)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{server.server_port}", HF_HOME=str(tmp_path / "hf"))
    code = ("from curation.avset.voiceover import AstTagger\n"
            "try:\n    AstTagger.from_pretrained('org/ast-not-cached')\n"
            "except FileNotFoundError:\n    print('refused')\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    finally:
        server.shutdown()
    assert done.stdout.strip() == "refused", done.stderr[-2000:]
    # huggingface_hub itself may fetch its agent-harness list (/api/agent-harnesses) for the user agent;
    # nothing may ask for the model
    assert not [path for path in requests if "ast-not-cached" in path or "/resolve/" in path], requests


def test_demucs_separator_loads_a_checkpoint_package_from_local_files(tmp_path):
    """Loading and plumbing with a random HTDemucs; which stem is kept is tested with a known demixer below."""
    pytest.importorskip("demucs")
    import torch
    from demucs.htdemucs import HTDemucs

    from curation.avset.separation import DemucsSeparator
    from curation.avset.voiceover import TagResult

    torch.manual_seed(0)
    kwargs = {
        "sources": ["music", "effect", "dialog"],
        "channels": 16,
        "depth": 4,
        "t_layers": 1,
        "t_heads": 2,
        "t_hidden_scale": 1.0,
        "segment": 2,
        "samplerate": 44_100,
    }
    model = HTDemucs(**kwargs)
    path = tmp_path / "tiny_htdemucs.th"
    torch.save({"klass": HTDemucs, "args": (), "kwargs": kwargs, "state": model.state_dict()}, path)

    separator = DemucsSeparator.from_checkpoints([path])
    audio = np.random.default_rng(1).normal(0, 0.1, 160_000).astype(np.float32)
    out = separator.separate(audio, TagResult(0.5, 0.0, 0.1, "t"))
    assert out.shape == (160_000,) and out.dtype == np.float32 and np.isfinite(out).all()
    # no random time shifts (demucs' default `shifts=1` draws one): the same clip gives the same stem bytes
    np.testing.assert_array_equal(out, separator.separate(audio.astype(np.float64), TagResult(0.5, 0.0, 0.1, "t")))
    # the docstring's recipe, run with demucs and scipy directly: 16 -> 44.1 kHz, the mono mix on both channels,
    # no shifts, 25 % overlap, the effect stem down-mixed and resampled back to 16 kHz
    from demucs.apply import apply_model
    from scipy.signal import resample_poly

    mix = resample_poly(audio, 441, 160).astype(np.float32)
    with torch.no_grad():
        stems = apply_model(model.eval(), torch.from_numpy(np.stack([mix, mix]))[None], shifts=0, overlap=0.25)[0]
    effect = resample_poly(stems[kwargs["sources"].index("effect")].numpy().mean(axis=0), 160, 441)[:160_000]
    np.testing.assert_allclose(out, effect, atol=1e-6)
    assert separator.name == "demucs:HTDemucs"
    with pytest.raises(ValueError, match="contain none of"):
        DemucsSeparator([model], keep=("crowd",))
    with pytest.raises(FileNotFoundError):
        DemucsSeparator.from_checkpoints([tmp_path / "missing.th"])


def _band_demixer(sources: list[str]):
    """An ideal demixer whose stems are known by construction: each source is one frequency band of the mix
    (dialog < 1.2 kHz, music 1.2-2.5 kHz, effect > 2.5 kHz). It follows the demucs model protocol, so the
    genuine `demucs.apply.apply_model` segments, pads and overlap-adds around it as for HTDemucs."""
    import torch

    bands = {"dialog": (0.0, 1200.0), "music": (1200.0, 2500.0), "effect": (2500.0, 1e9)}

    class BandDemixer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sources, self.samplerate, self.audio_channels, self.segment = list(sources), 44_100, 2, 2.0

        def forward(self, mix: torch.Tensor) -> torch.Tensor:
            spectrum = torch.fft.rfft(mix, dim=-1)
            hz = torch.fft.rfftfreq(mix.shape[-1], 1 / self.samplerate)
            stems = [torch.fft.irfft(spectrum * ((hz >= bands[s][0]) & (hz < bands[s][1])), n=mix.shape[-1], dim=-1)
                     for s in self.sources]
            return torch.stack(stems, dim=1)

    return BandDemixer()


def test_demucs_separator_keeps_the_effect_stem_not_the_dialog(tmp_path):
    """Speech-like voicing (150 Hz harmonics, 4 Hz syllables) over 4 kHz effect beeps: the output must be the
    beeps, whatever position the effect stem has in each model's source list, averaged over models."""
    pytest.importorskip("demucs")
    from curation.avset.separation import DemucsSeparator
    from curation.avset.voiceover import TagResult

    t = np.arange(160_000) / 16_000
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    effect = np.sin(2 * np.pi * 4000 * t) * (np.sin(2 * np.pi * 1.3 * t) > 0.3)
    voice, effect = 0.3 * voice / np.abs(voice).max(), 0.3 * effect
    separator = DemucsSeparator([_band_demixer(["music", "effect", "dialog"]),
                                 _band_demixer(["dialog", "music", "effect"])])
    assert separator.name == "demucs:BandDemixer,BandDemixer"
    out = separator.separate((voice + effect).astype(np.float32), TagResult(0.5, 0.0, 0.1, "t")).astype(np.float64)
    inner = slice(1_600, -1_600)  # leave out resampling edge effects

    def corr(a, b):
        return float(np.corrcoef(a[inner], b[inner])[0, 1])

    assert corr(out, effect) > 0.99 and abs(corr(out, voice)) < 0.05
    residual = out - effect
    assert np.sum(residual[inner] ** 2) < 0.01 * np.sum(effect[inner] ** 2)  # the beeps at their own level
    dialog = DemucsSeparator([_band_demixer(["music", "effect", "dialog"])], keep=("dialog",))
    kept_voice = dialog.separate((voice + effect).astype(np.float32), TagResult(0.5, 0.0, 0.1, "t"))
    assert corr(kept_voice.astype(np.float64), voice) > 0.99  # the oracle demixer itself separates both ways


@pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values")
def test_ast_tagger_top_k_labels_are_published(tiny_ast, tmp_path):
    import pyarrow.parquet as pq
    import torch

    from builder.curation_report import audio_category_counts, audio_category_table
    from curation.config import load_config
    from curation.media.synthetic import make_clip
    from curation.pipeline import curate

    tagger = AstTagger.from_pretrained(tiny_ast, top_k=3)
    audio = np.random.default_rng(1).normal(0, 0.1, (2, 64_000)).astype(np.float32)  # 4 s clips
    inputs = tagger.feature_extractor(list(audio), sampling_rate=16_000, return_tensors="pt")
    with torch.no_grad():
        probs = torch.sigmoid(tagger.model(**inputs).logits).numpy()
    for row, tag in zip(probs, tagger.tag(audio), strict=True):
        order = sorted(range(len(row)), key=lambda i: -row[i])[:3]
        assert tag.labels == tuple(LABELS[i] for i in order)
        assert tag.label_scores == pytest.approx([row[i] for i in order], abs=1e-6)

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in range(2):
        make_clip(corpus / f"clip_{seed}.mp4", "sync", seed=seed)
    config = load_config(None, [f"output={tmp_path / 'run'}", f"sources.directories=[{corpus}]", "embed.variant=tiny",
                                "segment.mode=fixed", "filter.mode=none", "voiceover.enabled=true",
                                "voiceover.tagger=ast", f"voiceover.ast_checkpoint={tiny_ast}",
                                "voiceover.tagger_top_k=3", "voiceover.recycle=false"])
    result = curate(config, progress=False)
    rows = pq.read_table(result.output / "records.parquet").to_pylist()
    for row in rows:
        assert len(row["tagger_labels"]) == 3 and set(row["tagger_labels"]) <= set(LABELS.values())
        assert row["tagger_scores"] == sorted(row["tagger_scores"], reverse=True)
        assert all(0.0 <= p <= 1.0 for p in row["tagger_scores"]) and row["labels"] == []
    # random weights flag every clip as voice-over, so nothing is kept: the card's table over all candidates
    counts = audio_category_counts(pq.read_table(result.output / "records.parquet"))
    assert sum(counts.values()) >= 2 and {kind for _, kind in counts} == {"tagger"}
    assert "from tagger pseudo-labels" in audio_category_table(counts)
