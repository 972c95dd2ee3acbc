"""Schemathesis fuzzes every operation of the OpenAPI document, in-process, and the app
answers each generated request without a server error and as documented.

Cases come from each operation's Hypothesis strategy (positive and negative data), with a
fixed seed and a bounded number of examples: the run is the same every time and takes
well under a minute. ``benchmarks/fuzz_api.py`` is the long run, with every check.
(Schemathesis's own pytest plugin, ``schemathesis.pytest.from_fixture``, is not used: its
4.x releases fail on pytest 9.2, which no longer has ``Function._nodeid``.)
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import redis
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from service.core.accounts import ModeratorStore, Role
from service.web.services import EXTENSION_KEY, Services
from tests.conftest import decided, solve

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SEED = 20240501
#: Examples per operation and generation mode.
MAX_EXAMPLES = 25
INTAKE = "POST /api/v1/comments"
DECISION = "POST /api/v1/moderation/comments/{comment_id}"

pytestmark = pytest.mark.slow


def deepen(app: Flask, held: list[str]) -> Callable[[Case], None]:
    """Let valid cases reach deeper than the captcha and the unknown-id checks.

    Intake bodies get a solved captcha, so valid ones are stored; half of the decisions
    (chosen by a checksum of the generated id, so the run stays deterministic) name a
    comment that exists.
    """
    services: Services = app.extensions[EXTENSION_KEY]

    def apply(case: Case) -> None:
        label = f"{case.method} {case.path}"
        if label == INTAKE and isinstance(case.body, dict):
            challenge = services.captcha.issue()
            answer = str(solve(challenge.question))
            case.body = case.body | {"captcha_token": challenge.token, "captcha_answer": answer}
        elif label == DECISION and case.path_parameters:
            generated = str(case.path_parameters.get("comment_id", ""))
            checksum = zlib.crc32(generated.encode("utf-8", "replace"))
            if checksum % 2:
                case.path_parameters["comment_id"] = held[checksum % len(held)]

    return apply


def fuzz(
    operation: Any, mode: GenerationMode, prepare: Callable[[Case], None], headers: dict[str, str]
) -> int:
    """Run one operation's cases in one generation mode; return how many were sent."""
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        nonlocal sent
        if mode is GenerationMode.POSITIVE:
            prepare(case)
        sent += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    with contextlib.suppress(Unsatisfiable):  # nothing to negate: no parameters, no body
        run()
    return sent


def test_every_operation_conforms_to_the_document(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    from service.web.app import create_app

    app = create_app(make_settings(rate_limits_enabled=False))
    token = ModeratorStore(redis_client).add("fuzz-admin", Role.ADMIN)
    headers = {"Authorization": f"Bearer {token}"}
    held = [decided(redis_client, "held") for _ in range(4)]
    config = schemathesis.Config()
    config.update(seed=SEED, max_failures=None)
    config.projects.default.generation.update(deterministic=True, database="none")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    prepare = deepen(app, held)
    failures: list[str] = []
    sent: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} ({mode.value})"
            try:
                sent[label] = fuzz(operation, mode, prepare, headers)
            except Exception as exc:  # report every operation, not only the first failure
                failures.append(f"{label}: {exc}")
    assert failures == [], "\n\n".join(failures)
    assert sum(sent.values()) > 500
