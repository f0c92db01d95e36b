"""`acav1m review serve`: the rating page, one clip and one question at a time, on 127.0.0.1.

Flask (Pallets): a small, well-kept synchronous framework, which suits the stdlib sqlite3 store; Werkzeug
parses HTTP and answers the Range requests a <video> element makes to seek; Jinja escapes every value put
into the page. The page shows only the video, the question and (for the caption question) the caption:
never scores, the filters' decision, the stratum or other raters' votes.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, redirect, render_template_string, request, send_from_directory, url_for
from werkzeug.serving import BaseWSGIServer, make_server

from curation.review.sample import MEDIA_DIR, QUESTIONS
from curation.review.store import VoteStore, check_rater

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>acav1m review</title>
<style>
 body { font-family: system-ui, sans-serif; max-width: 760px; margin: 1.5em auto; color: #222; }
 header { display: flex; justify-content: space-between; color: #666; font-size: .9em; }
 video { width: 100%; max-height: 55vh; background: #000; border-radius: 6px; }
 h1 { font-size: 1.4em; margin: .6em 0 .2em; }
 .hint { color: #555; margin: 0 0 .8em; }
 .caption { background: #f3f3f3; border-left: 4px solid #888; padding: .6em .8em; margin: .6em 0; }
 .answers button { font-size: 1.1em; padding: .5em 1.4em; margin-right: .6em; border-radius: 6px;
                   border: 1px solid #888; cursor: pointer; }
 #answer-yes { background: #d9f2d9; } #answer-no { background: #f8d7d7; } #answer-unsure { background: #eee; }
 kbd { border: 1px solid #aaa; border-radius: 3px; padding: 0 .3em; font-size: .85em; }
</style></head><body>{{ body | safe }}</body></html>"""

LOGIN = """<h1>acav1m review</h1>
<p>Enter your rater name. You will see one clip at a time; answer with the buttons or the keys
<kbd>Y</kbd>, <kbd>N</kbd>, <kbd>U</kbd>.</p>
<form action="{{ url_for('rate') }}" method="get">
 <input id="rater" name="rater" required pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,39}" autofocus>
 <button id="start" type="submit">Start</button></form>"""

RATE = """<header><span>rater <b id="rater-name">{{ rater }}</b></span><span id="progress">{{ rated }} rated</span>
</header>
<video id="clip" controls autoplay preload="auto" src="{{ video }}"></video>
<h1 id="question">{{ question.text }}</h1>
<p class="hint">{{ question.hint }}</p>
{% if caption %}<div class="caption" id="caption">{{ caption }}</div>{% endif %}
<form id="vote" class="answers" action="{{ url_for('vote') }}" method="post">
 <input type="hidden" name="rater" value="{{ rater }}"><input type="hidden" name="item" value="{{ item }}">
 <button id="answer-yes" name="answer" value="yes">Yes <kbd>Y</kbd></button>
 <button id="answer-no" name="answer" value="no">No <kbd>N</kbd></button>
 <button id="answer-unsure" name="answer" value="unsure">Unsure <kbd>U</kbd></button>
</form>
<script>
 document.addEventListener("keydown", (event) => {
   if (event.ctrlKey || event.metaKey || event.altKey) return;
   const answer = {y: "yes", n: "no", u: "unsure"}[event.key.toLowerCase()];
   if (answer) { event.preventDefault(); document.getElementById("answer-" + answer).click(); }
 });
</script>"""

DONE = """<header><span>rater <b id="rater-name">{{ rater }}</b></span><span id="progress">{{ rated }} rated</span>
</header><h1 id="done">Nothing left for you to rate. Thank you!</h1>
<p>Every clip you have not rated already has the votes it needs.</p>"""


def _page(template: str, **values: object) -> str:
    return render_template_string(LAYOUT, body=render_template_string(template, **values))


def create_app(review_dir: str | Path, lease_seconds: float = 600.0) -> Flask:
    store = VoteStore(review_dir, lease_seconds=lease_seconds)
    clips = {clip.clip_id: clip for clip in store.manifest.clips}
    media_dir = (Path(review_dir) / MEDIA_DIR).resolve()
    app = Flask(__name__)
    app.config["REVIEW_STORE"] = store

    def rater_arg(value: str | None) -> str:
        try:
            return check_rater(value or "")
        except ValueError as error:
            abort(400, description=str(error))

    @app.get("/")
    def login() -> str:
        return _page(LOGIN)

    @app.get("/rate")
    def rate() -> str:
        rater = rater_arg(request.args.get("rater"))
        item = store.next_item(rater)
        rated = store.rated_by(rater)
        if item is None:
            return _page(DONE, rater=rater, rated=rated)
        clip_id, question_id = store.items[item]
        clip, question = clips[clip_id], QUESTIONS[question_id]
        video = url_for("media", name=Path(clip.video).name)
        if clip.start is not None and clip.end is not None:  # a span of a whole source video
            video += f"#t={clip.start:g},{clip.end:g}"
        caption = clip.caption if question.show_caption else None
        return _page(RATE, rater=rater, rated=rated, item=item, video=video, question=question, caption=caption)

    @app.post("/vote")
    def vote():  # noqa: ANN202 - a redirect response
        rater = rater_arg(request.form.get("rater"))
        try:
            store.record_vote(rater, int(request.form.get("item", "-1")), request.form.get("answer", ""))
        except ValueError as error:
            abort(400, description=str(error))
        return redirect(url_for("rate", rater=rater), code=303)  # a refresh never re-sends the vote

    @app.get("/media/<path:name>")
    def media(name: str):  # noqa: ANN202 - a file response with Range support
        return send_from_directory(media_dir, name)

    return app


def make_review_server(review_dir: str | Path, port: int = 0, lease_seconds: float = 600.0) -> BaseWSGIServer:
    """A threaded server on 127.0.0.1 (port 0: any free one); callers run `serve_forever()`."""
    return make_server("127.0.0.1", port, create_app(review_dir, lease_seconds), threaded=True)
