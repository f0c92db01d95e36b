"""Oracles for every filter path, the calibrated thresholds and the false-correspondence estimate.

Expected values come from the written definitions, recomputed here with numpy: a score passes when
(cos + 1) / 2 >= its threshold (README "Normalised cosine"); filters apply in the order language,
instance, temporal, sync and count survivors in that order; a voice-over clip is kept only when its
separated scores pass the instance and temporal thresholds; calibrated thresholds are mean + k sigma of
the cosines of mismatched pairs that never pair a clip with itself or with a clip of the same video.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from builder.schema import CONFIGS
from curation.calibrate import calibrated_thresholds
from curation.filters import FilterConfig, apply_filters, apply_voiceover, realign_row, sync_flags
from curation.pipeline import VECTOR_SCHEMA


def norm(cos):
    return (np.asarray(cos, dtype=np.float64) + 1.0) / 2.0


def _scored(columns: dict[str, list]) -> pa.Table:
    n = len(next(iter(columns.values())))
    base = {name: [None] * n for name in CONFIGS["default"].column_names}
    base.update(columns)
    return pa.table(base, schema=CONFIGS["default"].arrow_schema)


def _random_scores(rng, n: int) -> dict[str, np.ndarray]:
    """Raw cosines spread over [-0.6, 0.8], with a few missing captions (NaN text scores)."""
    scores = {name: rng.uniform(-0.6, 0.8, n).astype(np.float32) for name in
              ("sim_text_audio", "sim_text_visual", "sim_av_instance", "sim_av_temporal")}
    missing = rng.random(n) < 0.1
    for name in ("sim_text_audio", "sim_text_visual"):
        scores[name] = np.where(missing, np.nan, scores[name])
    scores["av_offset_s"] = rng.uniform(-0.6, 0.6, n).astype(np.float32)
    scores["av_offset_confidence"] = rng.uniform(0.0, 0.9, n).astype(np.float32)
    return scores


def _table(scores: dict[str, np.ndarray]) -> pa.Table:
    return _scored({k: [None if np.isnan(x) else float(x) for x in v] for k, v in scores.items()})


THRESHOLDS = [
    {"language": 0.6, "instance": 0.5, "temporal": 0.7},  # paper-tuned
    {"language": 0.55, "instance": 0.62, "temporal": 0.48},
    {"sim_text_audio": 0.52, "sim_text_visual": 0.58, "instance": 0.45, "temporal": 0.6},  # calibrated: per column
    {"instance": 0.52, "temporal": 0.55},  # no language threshold: that filter is off, the others still apply
]


@pytest.mark.parametrize("thresholds", THRESHOLDS)
@pytest.mark.parametrize("sync", [None, 0.25])
def test_every_filter_path_normalises_and_counts_survivors_in_order(thresholds, sync):
    rng = np.random.default_rng(len(thresholds) + (sync is not None) * 10)
    n = 400
    s = _random_scores(rng, n)
    config = FilterConfig(mode="none", sync_max_offset_s=sync, sync_min_confidence=0.3)
    outcome = apply_filters(_table(s), thresholds, sync_flags(_table(s), config))

    def limit(column, name):
        return thresholds.get(column, thresholds.get(name))

    with np.errstate(invalid="ignore"):
        expected = {
            "instance": norm(s["sim_av_instance"]) >= limit("sim_av_instance", "instance"),
            "temporal": norm(s["sim_av_temporal"]) >= limit("sim_av_temporal", "temporal"),
        }
        if limit("sim_text_audio", "language") is not None:
            expected = {"language": (norm(s["sim_text_audio"]) >= limit("sim_text_audio", "language"))
                        & (norm(s["sim_text_visual"]) >= limit("sim_text_visual", "language")), **expected}
        else:
            assert outcome.table.column("pass_language").null_count == n
    if sync is not None:
        expected["sync"] = (np.abs(s["av_offset_s"].astype(np.float64)) <= sync) & (s["av_offset_confidence"] >= 0.3)
    table = outcome.table
    for name, flags in expected.items():
        assert table.column(f"pass_{name}").to_pylist() == flags.tolist(), name
    if sync is None:
        assert table.column("pass_sync").null_count == n
    # the normalisation matters for these data: raw cosines against the same thresholds would differ
    assert (s["sim_av_instance"] >= limit("sim_av_instance", "instance")).tolist() != expected["instance"].tolist()
    kept = np.logical_and.reduce(list(expected.values()))
    assert table.column("kept").to_pylist() == kept.tolist()
    reasons = [",".join(name for name, flags in expected.items() if not flags[i]) or None for i in range(n)]
    assert table.column("reject_reason").to_pylist() == reasons
    alive, rows = np.ones(n, bool), []
    for name, flags in expected.items():
        rows.append((f"{name} filter", int(alive.sum()), int((alive & flags).sum()), 0))
        alive &= flags
    assert [(r.stage, r.inputs, r.outputs, r.failures) for r in outcome.retention] == rows
    assert 0 < kept.sum() < n


def test_a_score_exactly_at_the_threshold_passes():
    # cos 0.2 -> 0.6 exactly in binary floating point for both sides of the comparison
    outcome = apply_filters(_scored({"sim_av_instance": [0.2, 0.19], "sim_av_temporal": [0.4, 0.4]}),
                            {"instance": float(norm(np.float32(0.2))), "temporal": 0.7})
    assert outcome.table.column("pass_instance").to_pylist() == [True, False]
    assert outcome.table.column("pass_temporal").to_pylist() == [True, True]


@pytest.mark.parametrize("thresholds", [THRESHOLDS[0], THRESHOLDS[1], {"language": 0.6}])
def test_voiceover_and_recycling_follow_the_avset_rule(thresholds):
    rng = np.random.default_rng(7)
    n = 500
    s = _random_scores(rng, n)
    voiceover = rng.random(n) < 0.4
    separated = {name: np.where(voiceover, rng.uniform(-0.6, 0.8, n), np.nan) for name in
                 ("sim_av_instance_separated", "sim_av_temporal_separated")}
    separated["sim_av_instance_separated"][np.flatnonzero(voiceover)[:5]] = np.nan  # separation failed
    source = np.where(rng.random(n) < 0.5, "youtube", "local")
    table = _table({**s, **separated})
    table = table.set_column(table.schema.get_field_index("source"), "source", pa.array(source.tolist()))
    untagged = set(np.flatnonzero(~voiceover)[:5].tolist())  # no tag (null): not a voice-over
    tags = pa.array([None if i in untagged else bool(v) for i, v in enumerate(voiceover)], pa.bool_())
    table = table.set_column(table.schema.get_field_index("voiceover"), "voiceover", tags)
    config = FilterConfig(mode="none", sync_max_offset_s=0.3)
    outcome = apply_filters(table, thresholds, sync_flags(table, config))
    report = apply_voiceover(outcome, thresholds)

    def passes(column, name):
        limit = thresholds.get(name)
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        if limit is None:
            return np.ones(n, bool)
        with np.errstate(invalid="ignore"):
            return norm(values) >= limit

    with np.errstate(invalid="ignore"):
        language = (passes("sim_text_audio", "language") & passes("sim_text_visual", "language")) \
            if "language" in thresholds else np.ones(n, bool)
    av = passes("sim_av_instance", "instance") & passes("sim_av_temporal", "temporal")
    other = language & (np.abs(s["av_offset_s"]) <= 0.3) & (s["av_offset_confidence"] >= 0.3)
    separated_ok = ~np.isnan(separated["sim_av_instance_separated"]) & ~np.isnan(separated["sim_av_temporal_separated"])
    separated_ok &= passes("sim_av_instance_separated", "instance") & passes("sim_av_temporal_separated", "temporal")
    recycled = av & voiceover & separated_ok  # back through AVSET's S2 after separation
    survives = av & (~voiceover | recycled)  # AVSET's S4 survivors
    kept = other & survives  # language and sync are not AVSET stages, they apply on top
    out = outcome.table
    assert out.column("kept").to_pylist() == kept.tolist()
    assert out.column("needs_separation").to_pylist() == recycled.tolist()
    assert out.column("pass_voiceover").to_pylist() == (~voiceover | recycled).tolist()
    for i, reason in enumerate(out.column("reject_reason").to_pylist()):
        assert ("voiceover" in (reason or "").split(",")) == bool(voiceover[i] and not recycled[i])
    s2 = other & av
    s3 = s2 & ~voiceover
    assert [(r.stage, r.inputs, r.outputs) for r in outcome.retention[-2:]] == [
        ("voice-over filter", int(s2.sum()), int(s3.sum())), ("recycling (separated)", int(s3.sum()), int(kept.sum()))]
    # Table 2 per source and pooled: S1 candidates, S2 the AV filters alone, S3 minus voice-over, S4 plus recycled
    assert [row["stage"] for row in report["table"]["stages"]] == ["S1", "S2", "S3", "S4"]
    assert all(row["goal"] for row in report["table"]["stages"])
    cells = _markdown_table(report["markdown"])
    assert [row[0] for row in cells[1:]] == ["S1", "S2", "S3", "S4"] and len(cells[0]) == 2 + 2 * 3
    for name, rows in [("local", source == "local"), ("youtube", source == "youtube"), ("all", np.ones(n, bool))]:
        counts = [int(rows.sum()), int((av & rows).sum()), int((av & ~voiceover & rows).sum()),
                  int((((av & ~voiceover) | recycled) & rows).sum())]
        table2 = report["table"]["sources"][name]
        assert [row["clips"] for row in table2] == counts, name
        assert [row["proportion"] for row in table2] == pytest.approx([c / counts[0] for c in counts])
        # the card's Markdown form, read by a CommonMark + GFM tables parser: one column pair per source
        column = 2 + 2 * list(report["table"]["sources"]).index(name)
        assert [row[column] for row in cells[1:]] == [f"{c:,}" for c in counts], name
        assert [row[column + 1] for row in cells[1:]] == [f"{100 * c / counts[0]:.1f}%" for c in counts], name
    assert report["removed_by_other_filters"] == int((survives & ~other).sum()) and report["kept"] == int(kept.sum())
    assert 0 < recycled.sum()
    if "instance" in thresholds:  # both branches of the rule are exercised
        assert recycled.sum() < (av & voiceover).sum()
    assert (recycled & ~other).any()  # recycled, yet removed by a filter that is not an AVSET stage


def _markdown_table(markdown: str) -> list[list[str]]:
    """The cells of the first table markdown-it renders (header row first); [] when no table renders."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.rows[-1].append(self.cell.strip())
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    parser = Cells()
    parser.feed(MarkdownIt("commonmark").enable("table").render(markdown))
    return parser.rows


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def small_run():
    """60 clips of 20 videos (3 each); 70 % matched pairs. 60 * 59 < 10,000 pairs: the null is every pair."""
    rng = np.random.default_rng(3)
    n, dim, steps = 60, 16, 10
    videos = [f"vid{i // 3:08d}" for i in range(n)]
    matched = rng.random(n) < 0.7
    visual_sec = _unit(rng.normal(size=(n, steps, dim)))
    noise = _unit(rng.normal(size=(n, steps, dim)))
    audio_sec = np.where(matched[:, None, None], visual_sec + 0.7 * noise, noise) * rng.uniform(0.5, 3, (n, 1, 1))
    audio = audio_sec.mean(1) * 7.0  # not unit: the calibration must normalise
    visual = visual_sec.mean(1) * 0.3
    text = np.where(matched[:, None], audio + rng.normal(size=(n, dim)), rng.normal(size=(n, dim)))
    vectors = pa.Table.from_pylist([
        {"clip_id": f"{videos[i]}_{(i % 3) * 10000:09d}", "audio": audio[i].tolist(), "visual": visual[i].tolist(),
         "text": text[i].tolist(), "audio_sec": audio_sec[i].ravel().tolist(),
         "visual_sec": visual_sec[i].ravel().tolist()} for i in range(n)], schema=VECTOR_SCHEMA)
    f32 = {k: np.asarray(v, np.float32).astype(np.float64)
           for k, v in dict(audio=audio, visual=visual, text=text, audio_sec=audio_sec, visual_sec=visual_sec).items()}

    def cos(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    def temporal(i, j):
        return float(np.mean([cos(f32["audio_sec"][i, t], f32["visual_sec"][j, t]) for t in range(steps)]))

    score = {
        "sim_text_audio": lambda i, j: cos(f32["text"][i], f32["audio"][j]),
        "sim_text_visual": lambda i, j: cos(f32["text"][i], f32["visual"][j]),
        "sim_av_instance": lambda i, j: cos(f32["audio"][i], f32["visual"][j]),
        "sim_av_temporal": temporal,
    }
    own = {column: np.array([f(i, i) for i in range(n)]) for column, f in score.items()}
    null = {column: np.array([f(i, j) for i, j in itertools.permutations(range(n), 2) if videos[i] != videos[j]])
            for column, f in score.items()}
    scored = _scored({"clip_id": vectors.column("clip_id").to_pylist(), "video_id": videos,
                      **{k: v.tolist() for k, v in own.items()}})
    return vectors, videos, scored, own, null


@pytest.mark.parametrize("k", [3.0, 2.0])
def test_calibrated_threshold_is_mean_plus_k_sigma_of_all_mismatched_pairs(small_run, k):
    vectors, videos, scored, own, null = small_run
    thresholds, report = calibrated_thresholds(vectors, videos, scored, FilterConfig(mode="calibrated",
                                                                                     calibration_k=k))
    keys = {"sim_text_audio": "sim_text_audio", "sim_text_visual": "sim_text_visual",
            "sim_av_instance": "instance", "sim_av_temporal": "temporal"}
    assert set(report) == set(keys)
    for column, key in keys.items():
        values = null[column]
        assert len(values) == 60 * 59 - 20 * 3 * 2  # every ordered pair but i == j and the 120 same-video pairs
        mean, sigma = values.mean(), values.std(ddof=1)
        threshold = mean + k * sigma
        fit = report[column]
        assert fit["n_pairs"] == len(values)
        assert fit["null_mean"] == pytest.approx(mean, abs=1e-9)
        assert fit["null_std"] == pytest.approx(sigma, abs=1e-9)
        assert fit["null_median"] == pytest.approx(np.median(values), abs=1e-9)
        assert fit["threshold"] == pytest.approx(threshold, abs=1e-9)
        assert thresholds[key] == pytest.approx((threshold + 1) / 2, abs=1e-9)
        assert fit["threshold_normalised"] == thresholds[key]
        tail = (np.sum(values >= threshold) + 1) / (len(values) + 1)
        assert fit["null_tail"] == pytest.approx(tail, abs=1e-12)
        # FCR = pi0 * n * P0(S >= t) / #kept, pi0 = min(1, 2 * share of candidates below the null median)
        candidates = own[column].astype(np.float32).astype(np.float64)  # as stored in the float32 column
        kept = int(np.sum(candidates >= threshold))
        pi0 = min(1.0, 2 * np.mean(candidates < np.median(values)))
        expected_false = pi0 * len(candidates) * tail
        fcr = report[column]["fcr"]
        assert (fcr["n_candidates"], fcr["n_kept"]) == (60, kept)
        assert fcr["pi0"] == pytest.approx(pi0, abs=1e-12)
        assert fcr["expected_false"] == pytest.approx(expected_false, abs=1e-9)
        assert fcr["fcr"] == pytest.approx(min(1.0, expected_false / kept) if kept else 0.0, abs=1e-9)


def test_calibrated_filter_flags_follow_the_fitted_thresholds(small_run):
    vectors, videos, scored, own, null = small_run
    thresholds, _ = calibrated_thresholds(vectors, videos, scored, FilterConfig(mode="calibrated"))
    outcome = apply_filters(scored, FilterConfig(mode="calibrated").thresholds(thresholds))
    limits = {c: np.mean(null[c]) + 3 * np.std(null[c], ddof=1) for c in null}
    stored = {c: v.astype(np.float32).astype(np.float64) for c, v in own.items()}
    expected = {
        "language": (stored["sim_text_audio"] >= limits["sim_text_audio"] - 1e-9)
        & (stored["sim_text_visual"] >= limits["sim_text_visual"] - 1e-9),
        "instance": stored["sim_av_instance"] >= limits["sim_av_instance"] - 1e-9,
        "temporal": stored["sim_av_temporal"] >= limits["sim_av_temporal"] - 1e-9,
    }
    for name, flags in expected.items():
        assert outcome.table.column(f"pass_{name}").to_pylist() == flags.tolist(), name
    assert outcome.table.column("kept").to_pylist() == np.logical_and.reduce(list(expected.values())).tolist()


def test_the_null_holds_at_least_ten_thousand_pairs_in_whole_derangements():
    """Documented: about 10k mismatched pairs; each derangement pairs every clip once, so 1,000 clips of
    distinct videos give exactly 10 derangements = 10,000 pairs, each a clip against another clip."""
    rng = np.random.default_rng(5)
    n, dim = 1000, 8
    audio, visual = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
    vectors = pa.table({"clip_id": [f"v{i:05d}_000000000" for i in range(n)], "audio": audio.tolist(),
                        "visual": visual.tolist(), "text": pa.nulls(n, pa.list_(pa.float32())),
                        "audio_sec": rng.normal(size=(n, 2 * dim)).tolist(),  # 2 seconds per clip
                        "visual_sec": rng.normal(size=(n, 2 * dim)).tolist()}, schema=VECTOR_SCHEMA)
    own = np.einsum("nd,nd->n", audio, visual) / np.linalg.norm(audio, axis=1) / np.linalg.norm(visual, axis=1)
    scored = _scored({"clip_id": vectors.column("clip_id").to_pylist(), "sim_av_instance": own.tolist()})
    _, report = calibrated_thresholds(vectors, [f"v{i:05d}" for i in range(n)], scored, FilterConfig(mode="calibrated"))
    assert set(report) == {"sim_av_instance", "sim_av_temporal"}  # no captions: no text thresholds
    assert report["sim_av_temporal"]["n_pairs"] == 10_000
    fit = report["sim_av_instance"]
    assert fit["n_pairs"] == 10_000 and fit["method"] == "mean+3sigma"
    # a null of random unit directions: mean ~ 0, sigma ~ 1 / sqrt(dim)
    assert abs(fit["null_mean"]) < 0.02 and fit["null_std"] == pytest.approx(1 / np.sqrt(dim), rel=0.05)


def test_fcr_clips_pi0_at_one_and_reports_an_empty_candidate_set_as_zero():
    from curation.avset.calibration import estimate_fcr, fit_threshold

    rng = np.random.default_rng(8)
    null = rng.normal(0.0, 0.1, 5000)
    fit = fit_threshold("av_instance", null)
    candidates = np.concatenate([rng.normal(0.0, 0.1, 80) - 0.05, rng.normal(0.6, 0.05, 20)])  # mostly mismatched
    below = np.mean(candidates < np.median(null))
    assert 2 * below > 1  # unclipped pi0 would exceed 1
    kept = int(np.sum(candidates >= null.mean() + 3 * null.std(ddof=1)))
    tail = (np.sum(null >= null.mean() + 3 * null.std(ddof=1)) + 1) / (len(null) + 1)
    estimate = estimate_fcr(fit, candidates)
    assert estimate.pi0 == 1.0 and estimate.n_kept == kept
    assert estimate.expected_false == pytest.approx(100 * tail)
    assert estimate.fcr == pytest.approx(min(1, 100 * tail / kept))
    empty = estimate_fcr(fit, np.array([np.nan, np.inf]))
    assert (empty.n_candidates, empty.n_kept, empty.pi0, empty.expected_false, empty.fcr) == (0, 0, 0.0, 0.0, 0.0)


def test_avset_mode_thresholds_the_instance_cosine_and_keeps_the_language_threshold():
    thresholds = FilterConfig(mode="avset", instance_cosine=0.2).thresholds()
    assert thresholds == {"language": 0.6, "instance": pytest.approx((0.2 + 1) / 2)}


@pytest.mark.parametrize("sync", [None, 0.25])
def test_realignment_row_counts_shifted_clips_and_those_that_then_pass_sync(sync):
    """The re-alignment retention row: clips whose audio was moved (av_shift_s != 0) and, of those, how many
    pass the sync check; with the check off every shifted clip counts as passing. Unshifted clips (0 or null
    shift) never count, whatever their sync flag."""
    rng = np.random.default_rng(7)
    n = 300
    s = _random_scores(rng, n)
    shift = rng.choice([0.0, 0.2, -0.4, np.nan], size=n, p=[0.5, 0.2, 0.2, 0.1])
    table = _scored({**{k: [None if np.isnan(x) else float(x) for x in v] for k, v in s.items()},
                     "av_shift_s": [None if np.isnan(x) else float(x) for x in shift]})
    config = FilterConfig(mode="none", sync_max_offset_s=sync, sync_min_confidence=0.3)
    outcome = apply_filters(table, {}, sync_flags(table, config))

    shifted = ~np.isnan(shift) & (shift != 0)
    if sync is None:
        passed = np.ones(n, dtype=bool)
    else:
        passed = (np.abs(s["av_offset_s"].astype(np.float64)) <= sync) & (s["av_offset_confidence"] >= 0.3)
    row = realign_row(outcome.table)
    assert (row.stage, row.inputs, row.outputs) == ("re-aligned, then sync check", int(shifted.sum()),
                                                    int((shifted & passed).sum()))
    assert 0 < row.outputs < row.inputs or sync is None
    assert (row.inputs, row.outputs) != (int(shifted.sum()), int(passed.sum()))  # unshifted passes not counted


def test_a_separated_score_exactly_at_the_threshold_is_recycled():
    at = float(np.float32(0.2))  # normalised (0.2 + 1) / 2 = 0.6 exactly on both sides of the comparison
    columns = {"sim_av_instance": [0.5, 0.5], "sim_av_temporal": [0.5, 0.5], "voiceover": [True, True],
               "sim_av_instance_separated": [at, at], "sim_av_temporal_separated": [at, 0.19], "source": ["a", "a"]}
    thresholds = {"instance": float(norm(np.float32(0.2))), "temporal": float(norm(np.float32(0.2)))}
    outcome = apply_filters(_scored(columns), thresholds)
    apply_voiceover(outcome, thresholds)
    assert outcome.table.column("needs_separation").to_pylist() == [True, False]
    assert outcome.table.column("kept").to_pylist() == [True, False]


def test_the_card_says_why_a_filter_is_off():
    for mode in ("none", "paper-tuned", "calibrated"):
        reasons = FilterConfig(mode=mode).off_reasons()
        assert set(reasons) == {"language", "instance", "temporal"}
        assert all(why == f"no threshold configured (filter mode '{mode}')" for why in reasons.values())
    avset = FilterConfig(mode="avset").off_reasons()
    assert set(avset) == {"language", "instance", "temporal"}
    assert all(why.startswith("AVSET-10M thresholds the audio-visual instance score only") for why in avset.values())


def test_filters_without_captions_still_apply_the_others_and_reset_stale_flags():
    """No captioner: the language filter is skipped with its reason and instance/temporal still flag; the
    thresholds reach the outcome (the card lists them); pass_sync / pass_voiceover left by an earlier filtering
    of the same table are cleared when this filtering does not compute them."""
    n = 6
    rng = np.random.default_rng(3)
    s = _random_scores(rng, n)
    s["sim_text_audio"][:] = np.nan
    s["sim_text_visual"][:] = np.nan
    table = _table(s)
    for name in ("pass_sync", "pass_voiceover"):  # as a candidates table filtered before would have them
        stale = pa.array([True] * n, pa.bool_())
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, stale) if index >= 0 else table.append_column(name, stale)
    thresholds = {"language": 0.6, "instance": 0.5, "temporal": 0.55}
    outcome = apply_filters(table, thresholds)
    assert outcome.thresholds == thresholds
    assert outcome.skipped == {"language": "no clip has sim_text_audio / sim_text_visual (no captioner configured)"}
    out = outcome.table
    assert out.column("pass_instance").to_pylist() == (norm(s["sim_av_instance"]) >= 0.5).tolist()
    assert out.column("pass_temporal").to_pylist() == (norm(s["sim_av_temporal"]) >= 0.55).tolist()
    assert out.column("pass_sync").null_count == n and out.column("pass_voiceover").null_count == n
    assert out.column("pass_language").null_count == n


def test_the_sync_check_passes_at_its_bounds():
    offsets, confidences = [0.25, -0.25, 0.25, 0.2], [0.5, 0.5, 0.25, 0.2]  # exact in binary: ties on both bounds
    table = _scored({"av_offset_s": offsets, "av_offset_confidence": confidences})
    flags = sync_flags(table, FilterConfig(mode="none", sync_max_offset_s=0.25, sync_min_confidence=0.25))
    assert flags["sync"].tolist() == [True, True, True, False]
