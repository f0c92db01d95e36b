"""`acav1m curate` with captioning: tiny genuine transformers captioners + an OpenAI-compatible summariser."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import yaml
from chat_server import ChatServer
from tiny_caption_checkpoints import save_tiny_checkpoints

from curation.config import load_config
from curation.media.synthetic import make_corpus
from curation.pipeline import curate


def test_captions_fill_the_columns_and_enable_the_language_filter(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, 1, seed=2)
    specs = save_tiny_checkpoints(tmp_path / "models")
    with ChatServer() as server:
        settings = {
            "video_model": {"model_id": specs["video"].model_id, "path": specs["video"].path},
            "audio_model": {"model_id": specs["audio"].model_id, "path": specs["audio"].path},
            "summary_api": {"base_url": server.base_url, "model": "local-model", "api_key": "sk-secret-test"},
            "cache_dir": str(tmp_path / "caption-cache"),
            "max_new_tokens": 8,
        }
        config_path = tmp_path / "run.yaml"
        config_path.write_text(yaml.safe_dump({
            "output": str(tmp_path / "run"),
            "sources": {"directories": [str(corpus)]},
            "caption": {"settings": settings},
            "embed": {"variant": "tiny"},
            "segment": {"mode": "fixed"},
            "filter": {"mode": "paper-uniform"},
        }))
        result = curate(load_config(config_path), progress=False)
        requests = len(server.requests)
    rows = pq.read_table(result.output / "records.parquet").to_pylist()
    assert len(rows) == 6 and requests == 6
    for row in rows:
        assert row["caption"].startswith("A dog barks in a park")
        assert row["visual_caption"] is not None and row["audio_caption"] is not None
        assert row["caption_language"] == "en"
        assert "video=" in row["caption_models"] and "summary=local-model" in row["caption_models"]
        assert row["caption_prompt_version"] == "v1"
        assert row["sim_text_audio"] is not None and row["pass_language"] is not None
    assert "language" not in result.summary.skipped_filters
    assert "captions" in result.summary.models
    stats = json.loads((result.output / "stats.json").read_text())
    assert stats["stage_stats"]["caption"]["api"]["total_tokens"] == 6 * 30
    for name in ("config.yaml", "run.json", "stats.json"):
        assert "sk-secret-test" not in (result.output / name).read_text(), f"the API key leaked into {name}"
