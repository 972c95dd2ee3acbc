"""Learning from moderators on a new site: quality before and after 50 labels, and scoring
during the update.

Run: ``.venv/bin/python benchmarks/learning.py [--held-out Youtube01-Psy] [--labels 50]``
(``--one-worker`` runs one ``commentgate worker`` on every queue instead of a scoring
worker plus a learning worker).

1. ``commentgate train`` a base model on four files of the YouTube Spam Collection; the
   fifth (default: Psy, the hardest) plays a new site the model never saw.
2. Start the real web app and workers with ``COMMENTGATE_MODEL_PATH`` at the base model
   and otherwise the default configuration (``--delay`` sets the batching delay).
3. POST every comment of the held-out file through the API (captchas solved), in file
   order; a moderator labels the first ``--labels`` through
   ``POST /api/v1/moderation/comments/<id>`` with their true labels.
4. The learning job trains the site's layer and judges it (reference set shipped beside
   the base model); meanwhile a client keeps posting comments and we check they keep
   being decided. Printed: seconds from the last label to the judged update (target:
   within two minutes in the default configuration).
5. Score the rest of the file with the base model and with the model now current in the
   registry: ROC AUC, F1 and the policy's outcome, side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import numpy as np
import redis
from rq.job import Job
from rq.registry import FinishedJobRegistry

from benchmarks._comments import synthetic_body
from benchmarks._common import (
    COMMENTGATE,
    REPO,
    env,
    free_port,
    fresh_redis,
    processes,
    report,
    start,
    wait_http,
)
from classifier import SpamModel, load_model, load_model_bytes
from classifier._data import read_labelled
from classifier._evaluation import compute_metrics
from service.core.accounts import ModeratorStore, Role
from service.core.judging import comment_input
from service.core.model_registry import ModelRegistry
from service.core.queues import COMMENTS, LEARNING, MAINTENANCE, WEBHOOKS
from service.core.site_labels import SiteLabels
from service.core.store import CommentStore, keys
from service.core.store.keys import DEFAULT_SITE
from tests.conftest import solved
from workers.learning import TRAINED_KEY

DATA_DIR = REPO.parent / "shared" / "datasets" / "youtube-spam-collection"


def wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true, or stop the benchmark after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def post_comment(http: httpx.Client, base: str, body: str, author: str) -> str | None:
    """POST one comment with a solved captcha; its id, or None when intake refuses it."""
    response = http.post(
        f"{base}/api/v1/comments",
        json=solved(
            http.get(f"{base}/api/v1/captcha").json(),
            thread="https://new-site.example/videos/1",
            body=body,
            author_name=author or "anonymous",
        ),
    )
    if response.status_code != 202:
        return None
    comment_id: str = response.json()["id"]
    return comment_id


def decided(client: redis.Redis, ids: list[str]) -> list[dict[str, Any]]:
    """Status, model version, created and decided times of the given comments."""
    with client.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hmget(
                keys.comment(comment_id), "status", "model_version", "created_at", "decided_at"
            )
        rows = pipe.execute()
    return [
        {
            "status": (s or b"").decode(),
            "version": (v or b"").decode(),
            "created": float(c or 0),
            "decided": float(d) if d else None,
        }
        for s, v, c, d in rows
    ]


class Prober(threading.Thread):
    """Posts a comment every ``interval`` seconds until stopped, remembering the ids."""

    def __init__(self, base: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.interval = interval
        self.ids: list[str] = []
        self.refused = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        rng = random.Random(11)
        with httpx.Client(timeout=10) as http:
            while not self._stop_event.is_set():
                try:
                    comment_id = post_comment(http, self.base, synthetic_body(rng), "probe")
                except httpx.HTTPError:
                    comment_id = None
                if comment_id is None:
                    self.refused += 1
                else:
                    self.ids.append(comment_id)
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def figures(model: SpamModel, comments: list[Any], y: np.ndarray) -> dict[str, Any]:
    """Quality of ``model`` on labelled comments, as the decision uses it (views included)."""
    assessment = model.assess(comments)
    cuts = model.thresholds
    return compute_metrics(
        y,
        assessment.probability,
        cuts.publish_below,
        cuts.spam_above,
        views_agree=assessment.views_agree,
    )


def update_windows(client: redis.Redis) -> list[tuple[float, float, dict[str, Any]]]:
    """(start, end, result) of each finished learning job that updated the model."""
    registry = FinishedJobRegistry(LEARNING, connection=client)
    out = []
    for job in Job.fetch_many(registry.get_job_ids(), connection=client):
        if job is None or job.started_at is None or job.ended_at is None:
            continue
        result = job.return_value()
        if isinstance(result, dict) and result.get("status") in ("promoted", "refused"):
            started, ended = (
                t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t
                for t in (job.started_at, job.ended_at)
            )
            out.append((started.timestamp(), ended.timestamp(), result))
    return sorted(out, key=lambda w: w[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--held-out", default="Youtube01-Psy", help="File stem of the new site.")
    parser.add_argument("--labels", type=int, default=50, help="Comments moderators label.")
    parser.add_argument("--one-worker", action="store_true", help="One worker on all queues.")
    parser.add_argument(
        "--delay",
        type=int,
        default=None,
        help="COMMENTGATE_LEARNING_DELAY_SECONDS (default: unset)",
    )
    args = parser.parse_args()
    files = sorted(args.data_dir.glob("*.csv")) if args.data_dir.is_dir() else []
    if not files:
        print(f"skipped: the YouTube Spam Collection is not at {args.data_dir} (needs ../shared)")
        return
    held_out = [f for f in files if f.stem == args.held_out]
    if not held_out:
        raise SystemExit(f"no {args.held_out}.csv in {args.data_dir}")
    base_files = [str(f) for f in files if f.stem != args.held_out]
    site = read_labelled(held_out)

    with tempfile.TemporaryDirectory() as tmp, processes() as procs:
        model_path = Path(tmp) / "base.skops"
        print(f"training the base model on {len(base_files)} files (not {args.held_out}) ...")
        subprocess.run(
            [COMMENTGATE, "train", "--data", *base_files, "--out", str(model_path)],
            check=True,
            env=env(),
            cwd=REPO,
            capture_output=True,
        )
        base_model = load_model(model_path)

        client = fresh_redis()
        token = ModeratorStore(client).add("site-moderator", Role.MODERATOR)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = {
            "COMMENTGATE_MODEL_PATH": str(model_path),
            "COMMENTGATE_RATE_LIMITS_ENABLED": "false",
        }
        if args.delay is not None:
            settings["COMMENTGATE_LEARNING_DELAY_SECONDS"] = str(args.delay)
        start(procs, [COMMENTGATE, "web", "--bind", f"127.0.0.1:{port}"], **settings)
        if args.one_worker:
            start(procs, [COMMENTGATE, "worker"], **settings)
            layout = "one worker on every queue"
        else:
            scoring = ",".join((COMMENTS, MAINTENANCE, WEBHOOKS))
            start(procs, [COMMENTGATE, "worker", "--queues", scoring], **settings)
            start(procs, [COMMENTGATE, "worker", "--queues", LEARNING], **settings)
            layout = "a scoring worker and a learning worker"
        wait_http(f"{base}/healthz")

        print(f"posting the {len(site)} comments of {args.held_out} through the API ...")
        ids: list[str | None] = []
        with httpx.Client(timeout=10) as http:
            for comment in site.comments:
                ids.append(post_comment(http, base, comment.text, comment.author_name or ""))
        kept = [i for i, comment_id in enumerate(ids) if comment_id is not None]
        posted = [ids[i] for i in kept]
        assert all(posted)
        site_ids = [str(c) for c in posted]
        wait(
            lambda: all(r["decided"] for r in decided(client, site_ids)),
            120,
            "the base model's decisions",
        )
        y = site.labels[kept]
        labelled, rest = site_ids[: args.labels], site_ids[args.labels :]

        prober = Prober(base)
        prober.start()
        time.sleep(1.0)  # some probes before the labels, as a reference
        print(f"a moderator labels the first {len(labelled)} comments through the API ...")
        headers = {"Authorization": f"Bearer {token}"}
        labelled_at = time.time()
        with httpx.Client(timeout=10, headers=headers) as http:
            for comment_id, label in zip(labelled, y[: args.labels], strict=True):
                action = "spam" if label else "approve"
                response = http.post(
                    f"{base}/api/v1/moderation/comments/{comment_id}", json={"action": action}
                )
                if response.status_code != 200:
                    raise SystemExit(f"moderation API: {response.status_code} {response.text}")
        last_label_at = time.time()
        last_entry: bytes = client.xrevrange(keys.feedback(keys.DEFAULT_SITE), count=1)[0][0]
        history = SiteLabels(client, DEFAULT_SITE, base_model.feature_space)
        judged = f"{TRAINED_KEY}:{DEFAULT_SITE}:{base_model.feature_space}"
        wait(
            lambda: (
                client.get(keys.learning_cursor(DEFAULT_SITE)) == last_entry
                and client.get(judged) == str(history.revision()).encode()
            ),
            300,
            "the model update",
        )
        learnt_at = time.time()
        registry = ModelRegistry(client)
        current = registry.current() or base_model.version  # None: the guard refused
        try:
            wait(
                lambda: any(r["version"] == current for r in decided(client, prober.ids[-20:])),
                60,
                "a probe decided by the current model",
            )
            time.sleep(1.0)  # some probes after, as a reference
        finally:
            prober.stop()
        wait(
            lambda: all(r["decided"] for r in decided(client, prober.ids)),
            60,
            "every probe decided",
        )

        windows = update_windows(client)
        probes = decided(client, prober.ids)
        stored = CommentStore(client).get_many(rest)
        rest_comments = [comment_input(c) for c in stored]
        y_rest = y[args.labels :]
        if current == base_model.version:
            after_model = base_model  # the guard refused every update
        else:
            entry = registry.get(current)
            after_model = load_model_bytes(
                entry.data, entry.card, source=f"redis:{current}", base=base_model
            )
        before = figures(base_model, rest_comments, y_rest)
        after = figures(after_model, rest_comments, y_rest)

    delay = "default" if args.delay is None else f"{args.delay} s"
    print(
        f"\nbase {base_model.version} -> current {current} ({len(windows)} update(s); "
        f"learnt and judged {learnt_at - last_label_at:.1f} s after the last label, "
        f"{learnt_at - labelled_at:.1f} s after the first; batching delay {delay}; "
        "target: within 120 s of the last label)"
    )
    for started, ended, result in windows:
        if "history" not in result:
            print(f"  update {result['status']}, ran {ended - started:.2f} s")
            continue
        reference = result["guard"].get("reference", {})
        print(
            f"  update {result['status']} {result.get('refusals') or ''}: "
            f"{result['history']['labels']} labels, ran {ended - started:.2f} s; reference "
            f"AUC {reference.get('base', {}).get('roc_auc', float('nan')):.4f} -> "
            f"{reference.get('candidate', {}).get('roc_auc', float('nan')):.4f}"
        )
    during = [
        p for p in probes if any(started <= p["created"] <= ended for started, ended, _ in windows)
    ]
    latency = np.array([p["decided"] - p["created"] for p in probes]) * 1000
    during_latency = np.array([p["decided"] - p["created"] for p in during]) * 1000
    by_version = {
        version: sum(1 for p in probes if p["version"] == version)
        for version in (base_model.version, current)
    }

    def delta(name: str, a: float, b: float, fmt: str = "{:.4f}") -> tuple[str, str, str, str]:
        return (name, fmt.format(b), fmt.format(a), f"{b - a:+.4f}")

    n_rest = len(y_rest)
    rows = [
        delta("ROC AUC", before["roc_auc"], after["roc_auc"]),
        delta("PR AUC", before["pr_auc"], after["pr_auc"]),
        delta("F1 at 0.5", before["at_0.5"]["f1"], after["at_0.5"]["f1"]),
        delta("F1 at spam_above", before["at_spam_above"]["f1"], after["at_spam_above"]["f1"]),
        delta(
            "ham filed as spam",
            before["policy"]["ham_filed_as_spam"],
            after["policy"]["ham_filed_as_spam"],
        ),
        delta(
            "spam published", before["policy"]["spam_published"], after["policy"]["spam_published"]
        ),
        delta("sent to moderators", before["policy"]["band_share"], after["policy"]["band_share"]),
    ]
    report(
        f"{args.held_out}: the {n_rest} comments after the first {args.labels} "
        f"(after = measured, before = baseline)",
        rows,
    )
    report(
        f"scoring during the update ({layout})",
        [
            ("probes posted while an update ran", str(len(during)), "", ""),
            (
                "  decided, latency p50 / max",
                f"{len(during)} / {np.median(during_latency) if len(during) else 0:.0f} ms / "
                f"{during_latency.max() if len(during) else 0:.0f} ms",
                "",
                "ok" if len(during) and all(p["decided"] for p in during) else "CHECK",
            ),
            (
                "all probes: decided, latency p50 / max",
                f"{len(probes)} / {np.median(latency):.0f} ms / {latency.max():.0f} ms",
                "",
                f"{prober.refused} refused by intake",
            ),
            (
                "probes by base / new model",
                f"{by_version[base_model.version]} / {by_version[current]}",
                "",
                "",
            ),
        ],
    )


if __name__ == "__main__":
    main()
