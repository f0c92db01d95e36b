"""Generated feature tables with a planted audio-visual correspondence, to measure selection.

A clip shows one class in each modality. In a ``positive_fraction`` of the clips both modalities show
the same class; in the rest the audio shows another class. Class frequencies are skewed (Zipf), and
each modality also has nuisance structure (a "style" cluster per clip, drawn independently in the two
modalities) that k-means picks up but that carries no correspondence. The modalities share no space:
each has its own class prototypes, seen through a random projection per layer. Each layer mixes class
signal, nuisance and noise in its own proportions, like the early (texture) and late (concept) blocks
of a network. The ground truth is ``positive``; selection precision = share of positives it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from curation.selection.feature_table import CLIP_ID


@dataclass(frozen=True)
class Layer:
    """Weights of class signal, nuisance style and isotropic noise in one layer's features."""

    signal: float
    nuisance: float
    noise: float


# early blocks: mostly style; middle: mixed; last: mostly class (with ~1 sd of noise everywhere)
DEFAULT_LAYERS = (Layer(0.4, 1.5, 1.0), Layer(1.0, 1.0, 1.0), Layer(2.0, 0.5, 1.0))


@dataclass(frozen=True)
class PlantedSpec:
    n_clips: int
    n_classes: int
    zipf: float = 1.0  # class frequency proportional to 1 / rank**zipf
    positive_fraction: float = 0.5
    dim: int = 16  # feature width of every layer
    latent_dim: int = 8  # width of the class / style prototypes before projection
    n_styles: int = 8
    audio_layers: tuple[Layer, ...] = DEFAULT_LAYERS
    visual_layers: tuple[Layer, ...] = DEFAULT_LAYERS
    seed: int = 0
    label: str = field(default="", compare=False)


@dataclass(frozen=True)
class PlantedTable:
    spec: PlantedSpec
    features: dict[str, np.ndarray]  # column name (audio_planted_l0, ...) -> (n, dim) float32
    positive: np.ndarray  # (n,) bool
    audio_class: np.ndarray
    visual_class: np.ndarray

    def to_arrow(self, dtype: type = np.float32) -> pa.Table:
        """clip_id + one fixed-size-list column per layer: the table ``acav1m select`` reads."""
        n = self.spec.n_clips
        columns: dict[str, pa.Array] = {CLIP_ID: pa.array([f"clip{i:07d}" for i in range(n)], type=pa.string())}
        for name, values in self.features.items():
            flat = pa.array(np.ascontiguousarray(values, dtype=dtype).reshape(-1))
            columns[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        return pa.table(columns)


def class_frequencies(n_classes: int, zipf: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n_classes + 1) ** zipf
    return weights / weights.sum()


def _modality(
    rng: np.random.Generator, spec: PlantedSpec, layers: tuple[Layer, ...], classes: np.ndarray, name: str
) -> dict[str, np.ndarray]:
    n = len(classes)
    prototypes = rng.standard_normal((spec.n_classes, spec.latent_dim)).astype(np.float32)
    styles = rng.standard_normal((spec.n_styles, spec.latent_dim)).astype(np.float32)
    style = rng.integers(0, spec.n_styles, n)
    out = {}
    for i, layer in enumerate(layers):
        project = rng.standard_normal((spec.latent_dim, spec.dim)).astype(np.float32) / spec.latent_dim**0.5
        x = layer.signal * prototypes[classes] @ project
        style_project = rng.standard_normal((spec.latent_dim, spec.dim)).astype(np.float32) / spec.latent_dim**0.5
        x += layer.nuisance * styles[style] @ style_project
        x += layer.noise * rng.standard_normal((n, spec.dim), dtype=np.float32)
        out[f"{name}_planted_l{i}"] = x
    return out


def planted_table(spec: PlantedSpec) -> PlantedTable:
    if spec.n_classes < 2 or spec.n_clips < 1:
        raise ValueError(f"a planted table needs >= 2 classes and >= 1 clip, got {spec}")
    rng = np.random.default_rng(spec.seed)
    n, c = spec.n_clips, spec.n_classes
    p = class_frequencies(c, spec.zipf)
    visual_class = rng.choice(c, size=n, p=p)
    positive = rng.random(n) < spec.positive_fraction
    # a negative's audio shows another class, drawn with the same skew (resampled while it equals the visual one)
    audio_class = visual_class.copy()
    todo = ~positive
    while todo.any():
        audio_class[todo] = rng.choice(c, size=int(todo.sum()), p=p)
        todo &= audio_class == visual_class
    features = _modality(rng, spec, spec.audio_layers, audio_class, "audio")
    features.update(_modality(rng, spec, spec.visual_layers, visual_class, "visual"))
    return PlantedTable(spec, features, positive, audio_class, visual_class)
