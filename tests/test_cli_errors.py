"""Every failure a user can cause is one line saying what and where, a non-zero exit and no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import acav1m
from curation.media.synthetic import make_corpus

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "embed.variant=tiny", "--set", "segment.mode=fixed", "--set", "executor.clips_per_task=2"]


def _one_line_error(capsys, argv: list[str], after_report: bool = False) -> str:
    """The error line; with `after_report` the run's own report (e.g. its random-weights warning) may precede it."""
    code = acav1m.main(argv)
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if "%|" not in line]  # progress bars
    assert code != 0
    assert not any("Traceback" in line for line in lines)
    if not after_report:
        assert len(lines) == 1, lines
    assert lines[-1].startswith(f"acav1m {argv[0]}: error: ") and sum("error:" in line for line in lines) == 1
    return lines[-1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-corpus")
    make_corpus(root, 1, seed=31)
    return root


def test_invalid_yaml_names_file_and_line(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("output: out\nsources:\n  clip_lists: [a.csv\n  license: x\n")
    err = _one_line_error(capsys, ["curate", "--config", str(config)])
    assert f"{config}:" in err and "invalid YAML" in err
    line = int(err.split(f"{config}:")[1].split(":")[0])
    assert 3 <= line <= 5


def test_missing_config_file(tmp_path, capsys):
    err = _one_line_error(capsys, ["curate", "--config", str(tmp_path / "nope.yaml")])
    assert "nope.yaml" in err and "does not exist" in err


def test_a_missing_source_names_its_config_key(tmp_path, capsys):
    err = _one_line_error(capsys, ["curate", "--set", f"sources.clip_lists=[{tmp_path / 'missing.csv'}]",
                                   "--output", str(tmp_path / "out")])
    assert "sources.clip_lists[0]" in err and "missing.csv" in err


def test_a_file_given_as_a_directory(tmp_path, capsys):
    listed = tmp_path / "clips.csv"
    listed.write_text("videoID,start,end\n")
    err = _one_line_error(capsys, ["curate", "--set", f"sources.directories=[{listed}]", "--output", str(tmp_path / "o")])
    assert "sources.directories[0]" in err and "is a file" in err


def test_a_checkpoint_that_is_not_a_checkpoint(tmp_path, capsys, corpus):
    fake = tmp_path / "imagebind_huge.pth"
    fake.write_text("this is a thesis, not weights\n")
    err = _one_line_error(capsys, ["curate", "--set", f"sources.directories=[{corpus}]", "--output",
                                   str(tmp_path / "out"), "--set", f"embed.checkpoint={fake}", "--set",
                                   "embed.variant=huge", "--set", "segment.mode=fixed"])
    assert str(fake) in err and "not a PyTorch checkpoint" in err


def test_curate_into_a_folder_of_other_files_refuses_and_keeps_them(tmp_path, capsys, corpus):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("chapter 1")
    err = _one_line_error(capsys, ["curate", "--set", f"sources.directories=[{corpus}]", "--output", str(out), *TINY])
    assert "thesis.tex" in err and "--overwrite" in err
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    assert (out / "thesis.tex").read_text() == "chapter 1"


def test_demo_into_a_folder_of_other_files_refuses(tmp_path, capsys):
    (tmp_path / "notes.md").write_text("keep me")
    err = _one_line_error(capsys, ["demo", "--out", str(tmp_path), "--per-variant", "1"])
    assert "notes.md" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]


def test_zero_kept_clips_explains_itself_after_writing_the_run(tmp_path, capsys, corpus):
    out = tmp_path / "run"
    err = _one_line_error(capsys, ["curate", "--set", f"sources.directories=[{corpus}]", "--output", str(out),
                                   *TINY, "--set", "filter.mode=paper-uniform", "--set", "filter.instance=0.99"],
                          after_report=True)
    assert "0 of 6 scored clips passed" in err and "random weights" in err and "filter.mode=none" in err
    assert (out / "records.parquet").is_file(), "the scored candidates are kept for re-filtering"


def test_verbose_after_the_subcommand_shows_the_traceback(tmp_path, capsys):
    code = acav1m.main(["curate", "--config", str(tmp_path / "nope.yaml"), "-v"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" in err and err.strip().splitlines()[-1].startswith("acav1m curate: error:")


def test_ctrl_c_stops_cleanly_with_a_resume_hint(tmp_path, corpus):
    out = tmp_path / "run"
    args = ["curate", "--set", f"sources.directories=[{corpus}]", "--output", str(out), *TINY]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-c", f"import sys, acav1m; sys.exit(acav1m.main({args!r}))"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "config.yaml").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert process.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "acav1m curate: interrupted; rerun the same command to resume"


def test_env_reports_versions_and_never_a_token(capsys, monkeypatch):
    import importlib.metadata

    monkeypatch.setenv("HF_TOKEN", "hf_do_not_print_me_123")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-print-me")
    assert acav1m.main(["env"]) == 0
    out = capsys.readouterr().out
    assert f"- package datasets: {importlib.metadata.version('datasets')}" in out
    assert "do_not_print" not in out and "do-not-print" not in out
    assert "HF token: present (not shown)" in out and "caption API key: present (not shown)" in out
