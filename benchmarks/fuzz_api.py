"""Fuzz the whole HTTP API with Schemathesis: every phase, every check, many examples.

The app runs in this process behind werkzeug's threaded HTTP server on an ephemeral
loopback port (shut down at exit), on the benchmark Redis database, rate limits off.
Schemathesis's engine (what ``schemathesis run`` drives) loads ``/api/v1/openapi.json``
from it and runs the examples, coverage, fuzzing and stateful phases with every check
and a fixed seed. Valid intake bodies get a solved captcha, so they reach storage.

The conformance checks (server errors, statuses, content types, schemas, headers,
methods, auth) must find nothing: any failure makes the exit status 1. The two data
heuristics are told what the API refuses on purpose (``BY_DESIGN``) and otherwise
reported too: a schema-valid request refused for a reason the schema cannot express
(a cursor the store never issued, a CSRF token, a taken name) is not a bug.

Run: ``.venv/bin/python benchmarks/fuzz_api.py [--max-examples 200] [--seed 1]``
(``COMMENTGATE_BENCH_REDIS_URL`` picks the database; it is flushed.)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import schemathesis
from schemathesis import Case, GenerationMode, HookContext
from schemathesis.engine import Status, events, from_schema
from werkzeug.serving import BaseWSGIServer, make_server

from benchmarks._common import BENCH_REDIS_URL, SECRET, fresh_redis, report
from service.core.accounts import ModeratorStore, Role
from service.core.settings import Settings
from service.web.app import create_app
from service.web.services import EXTENSION_KEY, Services
from tests.conftest import solve

#: Checks that must never fail.
CONFORMANCE = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "allow_header_conformance",
    "unsupported_method",
    "missing_required_header",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
    "object_level_authorization",
)
_POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "429"]
#: operationId pattern -> (statuses a schema-valid request may also get, why).
BY_DESIGN: dict[str, tuple[list[str], str]] = {
    "comments_create_post": (
        ["400", "422"],
        "text rules (no control characters, visible text, e-mail syntax), repeated form "
        "fields and the captcha are beyond JSON Schema",
    ),
    "comments_list_thread_get": (
        ["400", "422"],
        "opaque cursors (only ones the store issued) and thread text rules",
    ),
    "(moderation_queue|pages_demo_post)_get": (["400"], "opaque cursors"),
    "moderation_audit_get": (["422"], "audit cursors must be Redis stream ids under 2**64"),
    "moderation_(add|remove)_entry_.*": (["422"], "an entry must suit its kind (IP, domain)"),
    "moderation_add_moderator_post": (["422"], "account names are unique"),
    "moderate_.*_post.*": (["400"], "moderation UI forms need a CSRF token from a page"),
}
#: operationId pattern -> statuses a schema-violating request may get; why.
NEGATIVE_BY_DESIGN: dict[str, tuple[list[str], str]] = {
    "moderate_queue_get.*": (
        ["303", "308"],
        "no session cookie: to the login page (and /moderate/held is /moderate)",
    ),
}


def config_for(seed: int, max_examples: int, token: str) -> schemathesis.Config:
    """Every phase and check, the admin token, and what is refused on purpose."""
    operations = [
        {
            "include-operation-id-regex": pattern,
            "checks": {"positive_data_acceptance": {"expected-statuses": _POSITIVE + statuses}},
        }
        for pattern, (statuses, _) in BY_DESIGN.items()
    ]
    operations += [
        {
            "include-operation-id-regex": pattern,
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": ["400", "401", "403", "404", "405", "415", "422", *extra]
                }
            },
        }
        for pattern, (extra, _) in NEGATIVE_BY_DESIGN.items()
    ]
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "headers": {"Authorization": f"Bearer {token}"},
            "continue-on-failure": True,
            "generation": {"max-examples": max_examples, "database": "none"},
            "checks": {"enabled": True},
            "operations": operations,
        }
    )


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` on an ephemeral loopback port; yield its base URL."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def solve_captchas(schema: Any, services: Services) -> None:
    """Give valid intake bodies a solved captcha, so they get past it to storage."""

    @schema.hook("map_case")
    def _solved(context: HookContext, case: Case) -> Case:
        valid = case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
        intake = f"{case.method} {case.path}" == "POST /api/v1/comments"
        if intake and valid and isinstance(case.body, dict):
            challenge = services.captcha.issue()
            answer = str(solve(challenge.question))
            case.body = case.body | {"captcha_token": challenge.token, "captcha_answer": answer}
        return case


def run(max_examples: int, seed: int) -> int:
    """Fuzz; print the figures; return the number of conformance failures."""
    client = fresh_redis()
    settings = Settings(
        redis_url=BENCH_REDIS_URL,
        secret_key=SECRET,
        captcha_min_solve_seconds=0,
        rate_limits_enabled=False,
    )
    app = create_app(settings)
    token = ModeratorStore(client).add("fuzz-admin", Role.ADMIN)
    cases = 0
    runs: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    examples: dict[tuple[str, str, str], str] = {}
    errors: list[str] = []
    started = time.perf_counter()
    with serving(app) as base_url:
        schema = schemathesis.openapi.from_url(
            f"{base_url}/api/v1/openapi.json", config=config_for(seed, max_examples, token)
        )
        solve_captchas(schema, app.extensions[EXTENSION_KEY])
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
                recorder = event.recorder
                cases += len(recorder.cases)
                for nodes in recorder.checks.values():
                    for node in nodes:
                        runs[node.name] += 1
                        if node.status is Status.FAILURE:
                            failed[node.name] += 1
                            info = node.failure_info
                            title = info.failure.title if info else ""
                            key = (node.name, recorder.label, title)
                            if info and key not in examples:
                                examples[key] = f"{info.failure.message}\n    {info.code_sample}"
            elif isinstance(event, events.NonFatalError):
                errors.append(f"{event.label}: {event.info.format()[:400]}")
            elif isinstance(event, events.FatalError):
                errors.append(f"fatal: {event.exception!r}")
    elapsed = time.perf_counter() - started
    client.flushdb()
    conformance = sum(failed[name] for name in CONFORMANCE)
    rows = [
        ("cases sent", str(cases), "", ""),
        ("run time", f"{elapsed:.0f} s", "", ""),
        ("engine errors", str(len(errors)), "0", "ok" if not errors else "FAIL"),
    ]
    for name in sorted(runs):
        must = name in CONFORMANCE
        verdict = ("ok" if not failed[name] else "FAIL") if must else "advisory"
        rows.append((name, f"{failed[name]} failed / {runs[name]}", "0" if must else "", verdict))
    report(f"Schemathesis fuzz of the API (seed {seed}, {max_examples} examples)", rows)
    print("\n   refused on purpose (not counted):")
    for pattern, (statuses, why) in {**BY_DESIGN, **NEGATIVE_BY_DESIGN}.items():
        print(f"   - {pattern}: {', '.join(statuses)}: {why}")
    for (check, operation, title), text in sorted(examples.items()):
        print(f"\n-- {check} on {operation}: {title}\n    {text}")
    for error in errors[:20]:
        print(f"\n-- error: {error}")
    return conformance + len(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=200, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the app logs every refused request
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    sys.exit(1 if run(args.max_examples, args.seed) else 0)


if __name__ == "__main__":
    main()
