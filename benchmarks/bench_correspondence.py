"""Correspondence retrieval (ACAV100M §4, Table 1) on stand-in datasets.

Each dataset has as many corresponding (positive) as non-corresponding (negative) audio-visual pairs;
it is split into train and test halves (stratified), every method keeps the top 50 % of the test half,
and precision = share of positives kept. Five runs, reported as mean with a 99 % t-interval (in %).

Datasets
  digits-espeak  the MNIST-FSDD analogue: scikit-learn's 8x8 digit images (1797) paired with spoken digits
                 synthesised by espeak-ng (six "speakers" = accent + voice variant + pitch, as FSDD has six;
                 random speed and pitch jitter per utterance). Class-level correspondence as in the paper:
                 5 digit classes drawn per run give the positive set (image of digit c + an utterance of c),
                 the images of the other 5 the negative set (image of c + an utterance of any other digit).
  flash-beep     clip-level correspondence: per clip a random on/off event pattern over 10 s rendered as a
                 10 fps frame-brightness sequence (scene drift, sensor noise) and as a beep in 16 kHz audio
                 (own pitch, loudness, background noise, up to 50 ms offset, unseen noise bursts). Positive =
                 the clip's own audio, negative = another negative clip's audio (one random cycle).

Features ("layers"; hand-made views at several levels, no learned extractor)
  digits: raw pixels, 4x4 pooled pixels, edge magnitudes, row/column profiles; audio: log-mel std over
          time, and mean-normalised log-mel (4x10, 8x20) and MFCC (6x12) time-segment profiles.
  flash-beep: frame brightness / audio log-energy per 0.1 s, each viewed the same way: at 0.5 s, 1 s and
          2 s resolution and as 1 s onset strength (z-scored within the clip). Both modalities thus share
          one layout, so a PCA of each can line up by chance (up to the sign of each component): the
          ranking baselines' spread across runs comes from that.

Methods (§4.1): Ranking-inner / -cos / -l2 on 64-d PCA of each modality (all layers concatenated, each
dimension standardised); Contrastive: linear heads (128-d) trained with symmetric InfoNCE (tau 0.1,
AMSGrad, lr 2e-4, 100 epochs) on the train half, mini-batches of one pair per image class (digits) or 10
random pairs (flash-beep), test pairs ranked by cosine; Clustering (ours): SGD k-means per layer (k = 10
digit classes; k = 32 for flash-beep, which has no classes: the paper's Kinetics-Sounds value), batch
greedy b = 100, s = 25, combination pairing; the bipartite and diagonal pairings (Table 2) reuse the same
clusterings.

    .venv/bin/python benchmarks/bench_correspondence.py [--runs 5] [--datasets digits-espeak flash-beep ...]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from scipy import stats
from scipy.fft import dct
from scipy.signal import resample_poly
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from curation.selection.greedy import select
from curation.selection.kmeans import KMeansConfig, SGDKMeans
from curation.selection.melspec import mel_power

SAMPLE_RATE = 16000
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# six "speakers" (FSDD has six): accent + voice variant + base pitch; each utterance jitters speed and pitch
SPEAKERS = (
    ("en-us", "m3", 40),
    ("en-gb", "f2", 60),
    ("en-gb-scotland", "m1", 50),
    ("en-029", "f4", 70),
    ("en-gb-x-rp", "m7", 35),
    ("en-us", "f1", 55),
)


@dataclass(frozen=True)
class PairedData:
    visual: dict[str, np.ndarray]  # layer -> (N, D)
    audio: dict[str, np.ndarray]
    positive: np.ndarray  # (N,) bool
    group: np.ndarray | None  # image class per pair (class-level mini-batches), None for clip-level data
    n_clusters: int


# ----------------------------------------------------------------------------- digits + espeak-ng


def synthesise(word: str, voice: str, speed: int, pitch: int, cache: Path) -> np.ndarray:
    """One espeak-ng utterance at 16 kHz (cached WAV; espeak-ng is run with an argument list, no shell)."""
    key = hashlib.sha1(f"{word}|{voice}|{speed}|{pitch}".encode()).hexdigest()[:16]
    path = cache / f"{word}-{key}.wav"
    if not path.exists():
        tmp = path.with_suffix(".part.wav")
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(tmp), word],
            check=True,
            capture_output=True,
            timeout=30,
        )
        tmp.rename(path)
    audio, rate = sf.read(path, dtype="float32")
    return resample_poly(audio, SAMPLE_RATE, rate).astype(np.float32)


def spoken_digits(per_digit: int, cache: Path, seed: int = 1234) -> tuple[list[np.ndarray], np.ndarray]:
    """``per_digit`` utterances of each digit, spread over the six speakers, random speed and pitch jitter."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed (apt-get install -y espeak-ng)")
    rng = np.random.default_rng(seed)
    jobs = []
    for digit, word in enumerate(DIGIT_WORDS):
        for i in range(per_digit):
            accent, variant, pitch = SPEAKERS[i % len(SPEAKERS)]
            speed, jitter = int(rng.integers(120, 200)), int(rng.integers(-8, 9))
            jobs.append((digit, word, f"{accent}+{variant}", speed, pitch + jitter))
    cache.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        audio = list(pool.map(lambda j: synthesise(j[1], j[2], j[3], j[4], cache), jobs))
    return audio, np.array([j[0] for j in jobs])


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(frames, 40) log mel energies, 25 ms windows at 10 ms, leading/trailing silence trimmed."""
    spec = np.log(mel_power(audio, SAMPLE_RATE, 512, 160, 40, fmin=50.0) + 1e-8)
    energy = spec.mean(axis=1)
    voiced = np.flatnonzero(energy > energy.max() - 8.0)
    return spec[voiced[0] : voiced[-1] + 1]


def time_profile(features: np.ndarray, segments: int, bands: int) -> np.ndarray:
    """Mean-normalised (removes the speaker's average spectrum) features averaged over equal time segments
    and groups of adjacent coefficients: the shape of the word rather than the voice."""
    normalised = features - features.mean(axis=0)
    rows = [seg.mean(axis=0) for seg in np.array_split(normalised, segments, axis=0)]
    return np.concatenate([r[: len(r) // bands * bands].reshape(bands, -1).mean(axis=1) for r in rows])


def audio_layers(clips: list[np.ndarray]) -> dict[str, np.ndarray]:
    specs = [log_mel(a) for a in clips]
    mfcc = [dct(s, type=2, norm="ortho", axis=1)[:, 1:13] for s in specs]
    return {
        "logmel_std": np.stack([s.std(axis=0) for s in specs]),
        "logmel_4x10": np.stack([time_profile(s, 4, 10) for s in specs]),
        "logmel_8x20": np.stack([time_profile(s, 8, 20) for s in specs]),
        "mfcc_6x12": np.stack([time_profile(m, 6, 12) for m in mfcc]),
    }


def image_layers(images: np.ndarray) -> dict[str, np.ndarray]:
    """images (N, 8, 8) in [0, 16]."""
    n = len(images)
    pooled = images.reshape(n, 4, 2, 4, 2).mean(axis=(2, 4))
    gx = np.abs(np.diff(images, axis=2))[:, :7, :]  # horizontal edges, 7x7
    gy = np.abs(np.diff(images, axis=1))[:, :, :7]  # vertical edges, 7x7
    return {
        "pixels": images.reshape(n, -1),
        "pooled": pooled.reshape(n, -1),
        "gradients": np.concatenate([gx.reshape(n, -1), gy.reshape(n, -1)], axis=1),
        "profiles": np.concatenate([images.mean(axis=1), images.mean(axis=2)], axis=1),
    }


class DigitsEspeak:
    """Builds one run's class-level correspondence dataset from fixed image and utterance pools."""

    name = "digits-espeak"

    def __init__(self, per_digit: int, cache: Path) -> None:
        digits = load_digits()
        self.image_features = image_layers(digits.images)
        self.image_class = digits.target
        clips, self.audio_class = spoken_digits(per_digit, cache)
        self.audio_features = audio_layers(clips)

    def sample(self, seed: int) -> PairedData:
        rng = np.random.default_rng(seed)
        pos_classes = rng.permutation(10)[:5]
        neg_classes = np.setdiff1d(np.arange(10), pos_classes)
        images = rng.permutation(len(self.image_class))
        pos_img = images[np.isin(self.image_class[images], pos_classes)]
        neg_img = images[np.isin(self.image_class[images], neg_classes)]
        n = min(len(pos_img), len(neg_img))
        pos_img, neg_img = pos_img[:n], neg_img[:n]
        audio_by_class = {c: np.flatnonzero(self.audio_class == c) for c in range(10)}
        pos_audio = np.array([rng.choice(audio_by_class[self.image_class[i]]) for i in pos_img])
        neg_audio = []
        for i in neg_img:
            other = rng.choice(np.setdiff1d(np.arange(10), [self.image_class[i]]))
            neg_audio.append(rng.choice(audio_by_class[other]))
        img = np.concatenate([pos_img, neg_img])
        aud = np.concatenate([pos_audio, np.array(neg_audio)])
        return PairedData(
            visual={k: v[img] for k, v in self.image_features.items()},
            audio={k: v[aud] for k, v in self.audio_features.items()},
            positive=np.r_[np.ones(n, bool), np.zeros(n, bool)],
            group=self.image_class[img],
            n_clusters=10,
        )


# ----------------------------------------------------------------------------- flash / beep


def event_envelope(rng: np.random.Generator, rate: int, seconds: float = 10.0) -> np.ndarray:
    """On/off pattern: 2-7 events with random onsets and 0.2-1.5 s durations."""
    on = np.zeros(int(rate * seconds), dtype=np.float32)
    for _ in range(int(rng.integers(2, 8))):
        start = rng.uniform(0, seconds - 0.2)
        on[int(start * rate) : int(min(seconds, start + rng.uniform(0.2, 1.5)) * rate)] = 1.0
    return on


def render_clip(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(100,) frame brightness at 10 fps and (160000,) 16 kHz audio sharing one event pattern."""
    fine = event_envelope(rng, 100)  # 10 ms grid
    brightness = rng.uniform(40, 160) + rng.uniform(20, 80) * fine.reshape(100, 10).mean(axis=1)
    brightness += np.cumsum(rng.normal(0, 1.5, 100)) + rng.normal(0, 6, 100)  # scene drift and sensor noise
    envelope = np.roll(np.repeat(fine, SAMPLE_RATE // 100), int(rng.integers(-800, 800)))  # up to 50 ms offset
    t = np.arange(len(envelope)) / SAMPLE_RATE
    audio = rng.uniform(0.05, 0.5) * envelope * np.sin(2 * np.pi * rng.uniform(300, 3000) * t)
    audio += rng.uniform(0.005, 0.05) * rng.standard_normal(len(t))
    for _ in range(int(rng.integers(0, 3))):  # noise bursts with nothing to see
        start = int(rng.integers(0, len(t) - SAMPLE_RATE))
        length = int(rng.uniform(0.2, 1.0) * SAMPLE_RATE)
        audio[start : start + length] += rng.uniform(0.02, 0.3) * rng.standard_normal(length)
    return brightness.astype(np.float32), audio.astype(np.float32)


def zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-6)


def temporal_layers(per_100ms: np.ndarray) -> dict[str, np.ndarray]:
    """Views of one (100,) signal sampled every 0.1 s at several temporal resolutions (z-scored in the clip)."""
    onsets = np.maximum(np.diff(per_100ms, prepend=per_100ms[0]), 0)
    return {
        "half_second": zscore(per_100ms.reshape(20, 5).mean(axis=1)),
        "second": zscore(per_100ms.reshape(10, 10).mean(axis=1)),
        "two_seconds": zscore(per_100ms.reshape(5, 20).mean(axis=1)),
        "onsets": zscore(onsets.reshape(10, 10).sum(axis=1)),
    }


class FlashBeep:
    name = "flash-beep"

    def __init__(self, n_pairs: int) -> None:
        self.n_pairs = n_pairs

    def sample(self, seed: int) -> PairedData:
        rng = np.random.default_rng(seed)
        n = self.n_pairs
        visual, audio = [], []
        for _ in range(n):
            brightness, sound = render_clip(rng)
            visual.append(temporal_layers(brightness))
            audio.append(temporal_layers(np.log((sound.reshape(100, -1) ** 2).mean(axis=1) + 1e-8)))
        half = n // 2
        audio_of = np.arange(n)
        cycle = half + rng.permutation(n - half)
        audio_of[cycle] = np.roll(cycle, 1)  # negatives: one random cycle, so no clip keeps its own audio
        return PairedData(
            visual={k: np.stack([v[k] for v in visual]) for k in visual[0]},
            audio={k: np.stack([a[k] for a in audio])[audio_of] for k in audio[0]},
            positive=np.r_[np.ones(half, bool), np.zeros(n - half, bool)],
            group=None,
            n_clusters=32,
        )


# ----------------------------------------------------------------------------- methods


def standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)


def centre_and_scale(x: np.ndarray) -> np.ndarray:
    """One scale for the whole layer (not per dimension, which would blow up near-constant pixels)."""
    x = x - x.mean(axis=0)
    return x / (x.std() + 1e-6)


def concatenated(layers: dict[str, np.ndarray], idx: np.ndarray) -> np.ndarray:
    return np.concatenate([standardise(v[idx]) for v in layers.values()], axis=1).astype(np.float32)


def ranking_scores(v: np.ndarray, a: np.ndarray, metric: str, seed: int) -> np.ndarray:
    """64-d PCA of each modality (fewer if the features are smaller), then a similarity per pair."""
    d = min(64, v.shape[1], a.shape[1])
    pv = PCA(d, random_state=seed).fit_transform(v)
    pa = PCA(d, random_state=seed).fit_transform(a)
    if metric == "inner":
        return (pv * pa).sum(axis=1)
    if metric == "cos":
        return (pv * pa).sum(axis=1) / (np.linalg.norm(pv, axis=1) * np.linalg.norm(pa, axis=1) + 1e-12)
    return -np.linalg.norm(pv - pa, axis=1)


def contrastive_scores(
    train: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    test: tuple[np.ndarray, np.ndarray],
    seed: int,
    epochs: int = 100,
) -> np.ndarray:
    """§3.3.1: linear heads trained with symmetric InfoNCE on the train pairs; cosine on the test pairs."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    v, a, group = (torch.from_numpy(train[0]), torch.from_numpy(train[1]), train[2])
    head_v, head_a = torch.nn.Linear(v.shape[1], 128), torch.nn.Linear(a.shape[1], 128)
    params = [*head_v.parameters(), *head_a.parameters()]
    optimiser = torch.optim.Adam(params, lr=2e-4, amsgrad=True)

    def batches() -> list[np.ndarray]:
        if group is None:  # clip-level: random mini-batches of 10 pairs
            order = rng.permutation(len(v))
            return [order[i : i + 10] for i in range(0, len(order) - 9, 10)]
        # class-level: one pair from each image class per mini-batch, so no batch holds two of a class
        per_class = [rng.permutation(np.flatnonzero(group == c)) for c in np.unique(group)]
        rounds = min(len(p) for p in per_class)
        return [np.array([p[i] for p in per_class]) for i in range(rounds)]

    for _ in range(epochs):
        for idx in batches():
            zv = torch.nn.functional.normalize(head_v(v[idx]), dim=1)
            za = torch.nn.functional.normalize(head_a(a[idx]), dim=1)
            logits = zv @ za.T / 0.1
            target = torch.arange(len(idx))
            loss = torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(
                logits.T, target
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        zv = torch.nn.functional.normalize(head_v(torch.from_numpy(test[0])), dim=1)
        za = torch.nn.functional.normalize(head_a(torch.from_numpy(test[1])), dim=1)
        return (zv * za).sum(dim=1).numpy()


def cluster_layers(data: PairedData, idx: np.ndarray, seed: int) -> tuple[np.ndarray, list[str]]:
    """One SGD k-means per layer of each modality (mini-batch larger than the test half, as the paper's
    100K batches were larger than its benchmark sets): the (pairs, clusterings) label matrix."""
    columns, modalities = [], []
    for modality, layers in (("audio", data.audio), ("visual", data.visual)):
        for values in layers.values():
            x = centre_and_scale(values[idx]).astype(np.float32)
            config = KMeansConfig(
                n_clusters=data.n_clusters,
                batch_size=4096,
                epochs=100,
                learning_rate=0.01,
                seed=seed * 100 + len(columns),
            )
            kmeans = SGDKMeans(config).fit([x])
            columns.append(kmeans.assign([x]))
            modalities.append(modality)
    return np.stack(columns, axis=1), modalities


def top_half(scores: np.ndarray) -> np.ndarray:
    return np.argsort(-scores, kind="stable")[: len(scores) // 2]


def stratified_halves(positive: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    train, test = [], []
    for value in (True, False):
        idx = rng.permutation(np.flatnonzero(positive == value))
        train.append(idx[: len(idx) // 2])
        test.append(idx[len(idx) // 2 :])
    return np.concatenate(train), np.concatenate(test)


CLUSTERING = {
    "Clustering (ours)": "combination",
    "  pairing: bipartite": "bipartite",
    "  pairing: diagonal": "diagonal",
}
DATASETS = ("digits-espeak", "flash-beep")
METHODS = ("Ranking-inner", "Ranking-cos", "Ranking-l2", "Contrastive", *CLUSTERING)


def run_once(data: PairedData, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    train, test = stratified_halves(data.positive, rng)
    v_test, a_test = concatenated(data.visual, test), concatenated(data.audio, test)
    truth = data.positive[test]
    kept: dict[str, np.ndarray] = {}
    for metric in ("inner", "cos", "l2"):
        kept[f"Ranking-{metric}"] = top_half(ranking_scores(v_test, a_test, metric, seed))
    group = None if data.group is None else data.group[train]
    train_views = (concatenated(data.visual, train), concatenated(data.audio, train), group)
    kept["Contrastive"] = top_half(contrastive_scores(train_views, (v_test, a_test), seed))
    labels, modalities = cluster_layers(data, test, seed)
    for method, pairing in CLUSTERING.items():
        kept[method] = select(labels, test, len(test) // 2, pairing, 100, 25, seed, modalities).order
    return {method: 100.0 * truth[idx].mean() for method, idx in kept.items()}


def interval(values: list[float], confidence: float = 0.99) -> tuple[float, float]:
    """Mean and half-width of the two-sided t confidence interval."""
    x = np.asarray(values)
    if len(x) < 2:
        return float(x.mean()), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean()), float(half)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--utterances-per-digit", type=int, default=120)
    p.add_argument("--flash-beep-pairs", type=int, default=2000)
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "acav1m-bench-espeak")
    args = p.parse_args()
    torch.set_num_threads(1)
    builders: dict[str, Callable[[], object]] = {
        "digits-espeak": lambda: DigitsEspeak(args.utterances_per_digit, args.cache),
        "flash-beep": lambda: FlashBeep(args.flash_beep_pairs),
    }
    results: dict[str, dict[str, list[float]]] = {}
    for name in args.datasets:
        start = time.perf_counter()
        dataset = builders[name]()
        results[name] = {m: [] for m in METHODS}
        for run in range(args.runs):
            data = dataset.sample(seed=run)
            for method, precision in run_once(data, seed=run).items():
                results[name][method].append(precision)
            print(
                f"[{name}] run {run}: " + ", ".join(f"{m.strip()} {results[name][m][-1]:.1f}" for m in METHODS),
                flush=True,
            )
        print(f"[{name}] {len(data.positive)} pairs per run, {time.perf_counter() - start:.0f} s", flush=True)
    header = f"{'Method':<20}" + "".join(f"{name:>24}" for name in results)
    print(f"\nPrecision (%) of the top 50 %, mean +- 99 % CI over {args.runs} runs (test halves)")
    print(header)
    print("-" * len(header))
    for method in METHODS:
        cells = "".join(f"{'{:.2f} +- {:.2f}'.format(*interval(results[name][method])):>24}" for name in results)
        print(f"{method:<20}{cells}")


if __name__ == "__main__":
    main()
