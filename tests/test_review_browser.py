"""The rating page in a real browser: Debian's headless Chromium driven by selenium, two raters (one clicks,
one uses the keyboard), votes checked in SQLite and the report against statsmodels. Saves a screenshot of
the page to out/test-artifacts/review_page.png for a person to look at."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SCREENSHOT = Path(__file__).resolve().parents[1] / "out" / "test-artifacts" / "review_page.png"

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(f"browser test needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); "
                "`bash .ci/setup` installs them as root", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from test_review import make_review_inputs  # noqa: E402

from curation.review.report import write_report  # noqa: E402
from curation.review.sample import SampleSpec, sample_review  # noqa: E402
from curation.review.server import make_review_server  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One server and one browser for the module: 6 clips (3 kept, 3 rejected), 2 votes each."""
    root = tmp_path_factory.mktemp("review-browser")
    dataset, shard, _ = make_review_inputs(root)
    review = root / "review"
    sample_review(dataset, review, SampleSpec(per_stratum=3, strata=("kept",), votes_per_clip=2, seed=1),
                  media_sources=(str(shard),))
    server = make_review_server(review)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio",
                     "--autoplay-policy=no-user-gesture-required", "--window-size=820,760"):
        options.add_argument(argument)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        yield review, f"http://127.0.0.1:{server.server_port}", browser
    finally:
        browser.quit()
        server.shutdown()
        server.server_close()


def _state(browser) -> tuple[int | None, str]:
    """The item on the page and the rater's progress, read in one script (no stale element references)."""
    item, progress = browser.execute_script(
        "const f = document.querySelector('input[name=item]'), p = document.getElementById('progress');"
        "return [f ? f.value : null, p ? p.textContent : ''];")
    return (None if item is None else int(item)), progress


def _answered(browser, count: int) -> int | None:
    """Wait until the page shows `count` answers, then return its item (None: nothing left)."""
    WebDriverWait(browser, 10, poll_frequency=0.05).until(lambda b: _state(b)[1] == f"{count} rated")
    return _state(browser)[0]


def test_two_raters_rate_through_the_page_and_the_report_matches(site):
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
    from statsmodels.stats.proportion import proportion_confint

    review, url, browser = site
    clicked, typed = {}, {}

    browser.get(url)  # rater 1 signs in through the form and answers with the mouse
    browser.find_element(By.ID, "rater").send_keys("alice")
    browser.find_element(By.ID, "start").click()
    WebDriverWait(browser, 10, poll_frequency=0.05).until(lambda b: b.execute_script(
        "const v = document.getElementById('clip'); return v && v.readyState >= 2 && v.videoWidth > 0;"))
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 5000
    print(f"screenshot of the rating page: {SCREENSHOT}")
    item = _answered(browser, 0)
    while item is not None:
        answer = "yes" if item % 2 == 0 else "no"
        browser.find_element(By.ID, f"answer-{answer}").click()
        clicked[item] = answer
        item = _answered(browser, len(clicked))
    assert "Nothing left" in browser.find_element(By.ID, "done").text

    browser.get(f"{url}/rate?rater=bob")  # rater 2 answers with the Y / N / U keys
    item = _answered(browser, 0)
    while item is not None:
        key = "n" if item % 3 == 0 else "y"
        browser.find_element(By.TAG_NAME, "body").send_keys(key)
        typed[item] = {"y": "yes", "n": "no"}[key]
        item = _answered(browser, len(typed))
    assert browser.find_element(By.ID, "progress").text == "6 rated"

    with sqlite3.connect(review / "votes.sqlite") as db:
        rows = db.execute("SELECT rater, clip_id, answer FROM votes ORDER BY rowid").fetchall()
    items = [c["clip_id"] for c in __import__("json").loads((review / "sample.json").read_text())["clips"]]
    assert sorted(clicked) == sorted(typed) == list(range(6))
    assert sorted(rows) == sorted([("alice", items[i], a) for i, a in clicked.items()] +
                                  [("bob", items[i], a) for i, a in typed.items()])

    summary = write_report(review)
    q = summary["questions"]["correspondence"]
    codes = {"yes": 0, "no": 1, "unsure": 2}
    table, _ = aggregate_raters(np.array([[codes[clicked[i]], codes[typed[i]]] for i in range(6)]), n_cat=3)
    assert q["fleiss_kappa"] == pytest.approx(fleiss_kappa(table, method="fleiss"), abs=1e-12)
    agreed = [i for i in range(6) if clicked[i] == typed[i]]  # with two votes only agreement decides
    assert q["complete_items"] == 6 and sum(s["undecided"] for s in q["strata"]) == 6 - len(agreed)
    yes = sum(clicked[i] == "yes" for i in agreed)
    pooled_k = sum(s["yes"]["k"] for s in q["strata"])
    pooled_n = sum(s["yes"]["n"] for s in q["strata"])
    assert (pooled_k, pooled_n) == (yes, len(agreed))
    for stratum in q["strata"]:
        if stratum["yes"]["n"]:
            assert stratum["yes"]["ci95"] == pytest.approx(
                proportion_confint(stratum["yes"]["k"], stratum["yes"]["n"], method="wilson"), abs=1e-12)
    assert (review / "report.png").exists()
