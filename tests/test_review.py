"""Human review: stratified sampling with media from every source, vote assignment, report numbers against
independent computations (statsmodels, Fleiss' published example, numpy from the definition)."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import tarfile
import threading
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from acav1m import main
from builder.build import build_dataset
from builder.release import ReleaseInfo
from builder.sample import sample_table
from builder.schema import CONFIGS
from curation.review.report import fleiss_kappa, majority, wilson_interval, write_report
from curation.review.sample import Manifest, SampleSpec, sample_review
from curation.review.server import create_app
from curation.review.store import VoteStore

ROWS = 60


def make_review_inputs(root: Path) -> tuple[Path, Path, bytes]:
    """A built `candidates` dataset whose `media` config holds 10 kept clips, and a WebDataset shard with
    8 rejected clips (`{clip_id}.mp4/.flac/.json`, what `acav1m download` writes). One real 2 s mp4."""
    from curation.media.export import flac_bytes
    from curation.media.synthetic import make_clip

    make_clip(root / "clip.mp4", "static", seed=1, duration=2.0, width=160, height=120)
    mp4 = (root / "clip.mp4").read_bytes()
    table = sample_table(ROWS, seed=3)
    kept = [r["clip_id"] for r in table.to_pylist() if r["kept"]]
    rejected = [r["clip_id"] for r in table.to_pylist() if not r["kept"]]
    flac = flac_bytes(np.zeros(1600, np.float32))
    media = [{"clip_id": c, "audio": {"bytes": flac, "path": None}, "video": {"bytes": mp4, "path": None}}
             for c in kept[:10]]
    dataset = root / "acav1m"
    build_dataset(dataset, table, media=media, release=ReleaseInfo(date_published="2026-11-30"))
    shard = root / "shards" / "shard-00000.tar"
    shard.parent.mkdir()
    with tarfile.open(shard, "w") as tar:
        for clip_id in rejected[:8]:
            for extension, data in (("mp4", mp4), ("flac", flac), ("json", json.dumps({"clip_id": clip_id}).encode())):
                info = tarfile.TarInfo(f"{clip_id}.{extension}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return dataset, shard, mp4


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_review_inputs(tmp_path_factory.mktemp("review-inputs"))


def _candidates(dataset: Path) -> list[dict]:
    """The dataset's rows read back with pyarrow, independently of the sampler."""
    return pq.read_table(dataset / "data" / "candidates").to_pylist()


# --- statistics against independent references ---------------------------------------------------------


def test_wilson_interval_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for k, n in [(0, 5), (3, 3), (7, 10), (1, 40), (55, 100)]:
        assert wilson_interval(k, n) == pytest.approx(proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-12)
    assert wilson_interval(0, 0) is None


def test_fleiss_kappa_matches_fleiss_1971_example_and_statsmodels():
    from statsmodels.stats.inter_rater import fleiss_kappa as reference

    # Fleiss (1971) as tabulated on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa = 0.210.
    example = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    assert fleiss_kappa(example) == pytest.approx(0.2099, abs=5e-5)
    rng = np.random.default_rng(0)
    for raters in (2, 3, 5):
        table = rng.multinomial(raters, [0.5, 0.3, 0.2], size=25)
        assert fleiss_kappa(table) == pytest.approx(reference(table, method="fleiss"), abs=1e-12)
    assert fleiss_kappa(np.array([[3, 0, 0], [3, 0, 0]])) is None  # all one answer: undefined, not 0 or nan
    assert majority(["yes", "no", "yes"]) == "yes" and majority(["yes", "no"]) == "tie"


# --- sampling ---------------------------------------------------------------------------------------------


def test_sample_is_stratified_seeded_and_takes_media_from_config_and_shards(inputs, tmp_path):
    dataset, shard, mp4 = inputs
    spec = SampleSpec(per_stratum=2, strata=("kept", "band"), bands=3, seed=7)
    manifest = sample_review(dataset, tmp_path / "review", spec, media_sources=(str(shard.parent),))

    rows = {r["clip_id"]: r for r in _candidates(dataset)}
    edges = np.quantile([r["sim_av_instance"] for r in rows.values()], [1 / 3, 2 / 3])
    with_media = set(pq.read_table(dataset / "data" / "media", columns=["clip_id"])["clip_id"].to_pylist())
    with_media |= {Path(n).stem for n in tarfile.open(shard).getnames() if n.endswith(".mp4")}
    expected: dict[str, list[str]] = {}
    for clip_id, row in rows.items():
        stratum = f"{'kept' if row['kept'] else 'rejected'} / sim_av_instance q{np.digitize(row['sim_av_instance'], edges) + 1}"
        expected.setdefault(stratum, []).append(clip_id)
    assert manifest.population == {k: len(v) for k, v in sorted(expected.items())}
    for stratum, members in expected.items():
        taken = [c for c in manifest.clips if c.stratum == stratum]
        assert len(taken) == min(2, len(set(members) & with_media))
        assert {c.clip_id for c in taken} <= set(members) & with_media
        assert manifest.without_media[stratum] == len(set(members) - with_media)
    assert {c.kept for c in manifest.clips} == {True, False}  # kept from the media config, rejected from the tar
    for clip in manifest.clips:
        assert (tmp_path / "review" / clip.video).read_bytes() == mp4
        assert clip.score == pytest.approx(rows[clip.clip_id]["sim_av_instance"])

    first = (tmp_path / "review" / "sample.json").read_bytes()
    sample_review(dataset, tmp_path / "review", spec, media_sources=(str(shard),))  # rerun: same sample, no-op
    assert (tmp_path / "review" / "sample.json").read_bytes() == first
    sample_review(dataset, tmp_path / "again", spec, media_sources=(str(shard),))
    assert (tmp_path / "again" / "sample.json").read_bytes() == first
    with pytest.raises(FileExistsError, match="never overwritten"):
        sample_review(dataset, tmp_path / "review", SampleSpec(per_stratum=2, strata=("kept", "band"), seed=8),
                      media_sources=(str(shard),))
    other = sample_review(dataset, tmp_path / "other-seed", SampleSpec(per_stratum=2, strata=("kept", "band"), seed=8),
                          media_sources=(str(shard),))
    assert {c.clip_id for c in other.clips} != {c.clip_id for c in manifest.clips}


def test_sample_of_a_run_plays_local_source_files_over_the_clip_span(inputs, tmp_path):
    """A run records local videos by their path inside a source folder (URL-quoted) and lists the folders in
    its config.yaml; three clips at 0/10/20 s of one local video are found there."""
    dataset, _, mp4 = inputs
    table = pq.read_table(dataset / "data" / "candidates")
    folder = tmp_path / "my videos"
    (folder / "sub dir").mkdir(parents=True)
    (folder / "sub dir" / "clip.mp4").write_bytes(mp4)
    local = set(range(3))
    column = lambda name, value: table.set_column(  # noqa: E731
        table.schema.get_field_index(name), name, [[value if i in local else v for i, v in enumerate(table[name].to_pylist())]])
    table = column("url", "sub%20dir/clip.mp4")
    local = set(range(4))
    table = column("source", "local")
    (tmp_path / "outside.mp4").write_bytes(mp4)
    urls = table["url"].to_pylist()
    urls[3] = "../outside.mp4"  # a path leaving the source folder is never followed
    table = table.set_column(table.schema.get_field_index("url"), "url", [urls])
    run = tmp_path / "run"
    run.mkdir()
    pq.write_table(table, run / "records.parquet")
    (run / "config.yaml").write_text(f"sources:\n  directories:\n  - {folder}\n")
    assert main(["review", "sample", str(run / "records.parquet"), "--out", str(tmp_path / "review"),
                 "--strata", "kept", "--per-stratum", "5", "--questions", "correspondence,caption"]) == 0
    manifest = Manifest.load(tmp_path / "review")
    assert sorted(c.clip_id for c in manifest.clips) == sorted(table["clip_id"].to_pylist()[:3])
    assert len({c.video for c in manifest.clips}) == 1  # the source is copied once and shared
    assert (tmp_path / "review" / manifest.clips[0].video).read_bytes() == mp4
    assert sorted((c.start, c.end) for c in manifest.clips) == sorted(
        (r["start_time"], r["end_time"]) for r in table.slice(0, 3).to_pylist())
    assert len(manifest.items()) == 6  # two questions, every clip has a caption
    client = create_app(tmp_path / "review").test_client()
    page = client.get("/rate?rater=ann").get_data(as_text=True)
    clip = next(c for c in manifest.clips if c.clip_id == VoteStore(tmp_path / "review").items[0][0])
    assert f'src="/media/{Path(clip.video).name}#t={clip.start:g},{clip.end:g}"' in page
    assert client.get(f"/media/{Path(clip.video).name}", headers={"Range": "bytes=0-99"}).status_code == 206


def test_bad_inputs_name_what_and_where(inputs, tmp_path, capsys):
    dataset, shard, _ = inputs
    with pytest.raises(FileNotFoundError, match="records.parquet"):
        sample_review(tmp_path / "missing", tmp_path / "r")
    with pytest.raises(ValueError, match="no score column 'nope'"):
        sample_review(dataset, tmp_path / "r", SampleSpec(score_column="nope"))
    with pytest.raises(ValueError, match="unknown strata or questions"):
        SampleSpec(questions=("beauty",))
    records = tmp_path / "records.parquet"
    import pyarrow as pa

    default = pa.concat_tables(pq.read_table(f) for f in sorted((dataset / CONFIGS["default"].data_dir).glob("*.parquet")))
    pq.write_table(default, records)  # the `default` config's rows: no media beside them
    with pytest.raises(ValueError, match="has media"):
        sample_review(records, tmp_path / "r")
    (tmp_path / "broken.tar").write_bytes(b"not a tar")
    assert main(["review", "sample", str(dataset), "--out", str(tmp_path / "r"), "--media",
                 str(tmp_path / "broken.tar")]) == 2
    assert "broken.tar: not a readable tar shard" in capsys.readouterr().err
    assert main(["review", "report", str(tmp_path)]) == 2
    assert "sample.json not found" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# --- votes ------------------------------------------------------------------------------------------------


@pytest.fixture
def review_dir(inputs, tmp_path):
    dataset, shard, _ = inputs
    sample_review(dataset, tmp_path / "review", SampleSpec(per_stratum=2, strata=("kept",), votes_per_clip=2),
                  media_sources=(str(shard),))
    return tmp_path / "review"


def _rate_all(store: VoteStore, rater: str, answer) -> list[int]:
    seen = []
    while (item := store.next_item(rater)) is not None:
        assert store.next_item(rater) == item  # a reload shows the same item until it is answered
        assert store.record_vote(rater, item, answer(item))
        seen.append(item)
    return seen


def test_items_are_assigned_until_full_and_never_twice_to_a_rater(review_dir):
    store = VoteStore(review_dir)
    assert len(store.items) == 4
    results: dict[str, list[int]] = {}
    threads = [threading.Thread(target=lambda r=r: results.setdefault(r, _rate_all(VoteStore(review_dir), r,
                                                                                 lambda i: "yes")))
               for r in ("r1", "r2", "r3", "r4")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seen in results.values():
        assert len(seen) == len(set(seen))
    assert sum(map(len, results.values())) == 8  # 4 items x 2 votes, not one more
    with sqlite3.connect(review_dir / "votes.sqlite") as db:
        counts = db.execute("SELECT COUNT(*) FROM votes GROUP BY clip_id, question").fetchall()
    assert counts == [(2,)] * 4


def test_abandoned_assignment_expires_and_late_or_foreign_votes_are_refused(review_dir):
    now = [1000.0]
    store = VoteStore(review_dir, lease_seconds=60, clock=lambda: now[0])
    assert (len(store.items), store.wanted) == (4, 2)
    holders = {f"r{i}": store.next_item(f"r{i}") for i in range(8)}
    assert sorted(holders.values()) == [0, 0, 1, 1, 2, 2, 3, 3]  # least-voted first, two holders per item
    assert store.next_item("late") is None  # every place is held
    assert not store.record_vote("late", 0, "yes")  # not late's item
    now[0] += 61  # everyone walked away
    item = store.next_item("late")
    first, second = (r for r, i in holders.items() if i == item)
    assert store.record_vote("late", item, "yes")
    assert store.record_vote(first, item, "no")  # still holds an assignment and the item has room
    assert not store.record_vote(second, item, "yes")  # came back after the item filled up
    with pytest.raises(ValueError, match="rater name"):
        store.next_item("../etc")
    (review_dir / "sample.json").write_text((review_dir / "sample.json").read_text().replace('"seed": 0', '"seed": 1'))
    with pytest.raises(ValueError, match="different sample.json"):
        VoteStore(review_dir)


def test_page_hides_scores_and_the_filters_decision(review_dir):
    client = create_app(review_dir).test_client()
    page = client.get("/rate?rater=ann").get_data(as_text=True)
    manifest = Manifest.load(review_dir)
    item = int(re.search(r'name="item" value="(\d+)"', page).group(1))
    clip = next(c for c in manifest.clips if c.clip_id == VoteStore(review_dir).items[item][0])
    assert "Does the sound come from what you see?" in page
    for secret in (clip.clip_id, clip.stratum, "kept", "rejected", f"{clip.score:.3f}"[:5], clip.caption):
        assert secret not in page
    assert client.post("/vote", data={"rater": "ann", "item": item, "answer": "maybe"}).status_code == 400
    assert client.get("/media/../sample.json").status_code == 404


# --- report -----------------------------------------------------------------------------------------------


def test_report_equals_an_independent_computation(inputs, tmp_path):
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as reference
    from statsmodels.stats.proportion import proportion_confint

    dataset, shard, _ = inputs
    review = tmp_path / "review"
    sample_review(dataset, review, SampleSpec(per_stratum=4, strata=("kept",), votes_per_clip=3),
                  media_sources=(str(shard),))
    store = VoteStore(review)
    rng = np.random.default_rng(5)
    for rater, p_yes in (("r1", 0.8), ("r2", 0.6), ("r3", 0.5), ("r4", 0.7)):
        answers = rng.choice(["yes", "no", "unsure"], size=len(store.items), p=[p_yes, 0.9 - p_yes, 0.1])
        _rate_all(store, rater, lambda i, answers=answers: str(answers[i]))
    assert main(["review", "report", str(review), "--card"]) == 0
    summary = json.loads((review / "report.json").read_text())
    assert summary == json.loads(json.dumps(write_report(review, figure=False)))  # the same numbers again
    assert (review / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## correspondence" in (review / "card_section.md").read_text()

    with sqlite3.connect(review / "votes.sqlite") as db:
        rows = db.execute("SELECT clip_id, rater, answer FROM votes").fetchall()
    manifest = json.loads((review / "sample.json").read_text())
    kept = {c["clip_id"]: c["kept"] for c in manifest["clips"]}
    by_clip: dict[str, list[str]] = {}
    for clip_id, _, answer in rows:
        by_clip.setdefault(clip_id, []).append(answer)
    codes = {"yes": 0, "no": 1, "unsure": 2}
    table, _ = aggregate_raters(np.array([[codes[a] for a in answers] for answers in by_clip.values()]), n_cat=3)
    q = summary["questions"]["correspondence"]
    assert q["complete_items"] == len(by_clip) == 8
    assert q["fleiss_kappa"] == pytest.approx(reference(table, method="fleiss"), abs=1e-12)
    # with 3 votes an answer is the majority iff at least 2 raters gave it
    label = {c: next((x for x in set(a) if a.count(x) >= 2), "tie") for c, a in by_clip.items()}
    for group in (True, False):
        decided = [label[c] for c in by_clip if kept[c] is group and label[c] in ("yes", "no")]
        stratum = next(s for s in q["strata"] if s["stratum"] == ("kept" if group else "rejected"))
        assert (stratum["yes"]["k"], stratum["yes"]["n"]) == (decided.count("yes"), len(decided))
        if decided:
            assert stratum["yes"]["ci95"] == pytest.approx(
                proportion_confint(decided.count("yes"), len(decided), method="wilson"), abs=1e-12)
    filters = [(kept[c], label[c]) for c in by_clip if label[c] in ("yes", "no")]
    assert q["filters_vs_people"]["agreement"]["k"] == sum((k and a == "yes") or (not k and a == "no") for k, a in filters)
    assert q["filters_vs_people"]["agreement"]["n"] == len(filters)
    for rater in {r for _, r, _ in rows}:
        mine = [(c, a) for c, r, a in rows if r == rater and label[c] in ("yes", "no")]
        reported = next(r for r in q["raters"] if r["rater"] == rater)["agreement_with_majority"]
        assert (reported["k"], reported["n"]) == (sum(a == label[c] for c, a in mine), len(mine))
