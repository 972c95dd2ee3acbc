"""The model registry: versions, the current pointer, promotions, rollbacks, pruning."""

from __future__ import annotations

import pytest
import redis

from service.core.model_registry import (
    BASE,
    CANDIDATE,
    REFUSED,
    ModelRegistry,
    NotRestorableError,
    UnknownVersionError,
    lineage,
)


def card(version: str, **extra: object) -> dict[str, object]:
    return {"model_version": version, "thresholds": {}, "libraries": {}, "sha256": "x"} | extra


@pytest.fixture
def registry(redis_client: redis.Redis) -> ModelRegistry:
    return ModelRegistry(redis_client, keep=3)


def test_put_get_and_list(registry: ModelRegistry) -> None:
    assert registry.current() is None
    assert registry.list() == []
    assert registry.put("cg-a", b"base-bytes", card("cg-a"), status=BASE)
    assert registry.put("cg-a+u1", b"new-bytes", card("cg-a+u1", note="n"), status=CANDIDATE)
    assert not registry.put("cg-a", b"other", card("cg-a"), status=BASE)  # kept as it was
    stored = registry.get("cg-a+u1")
    assert stored.data == b"new-bytes"
    assert stored.card["note"] == "n"
    assert registry.get("cg-a").data == b"base-bytes"
    listed = registry.list()
    assert [v.version for v in listed] == ["cg-a", "cg-a+u1"]
    assert [v.status for v in listed] == [BASE, CANDIDATE]
    assert [v.size for v in listed] == [10, 9]
    assert not any(v.current for v in listed)


def test_promote_and_rollback_keep_a_history(
    registry: ModelRegistry, redis_client: redis.Redis
) -> None:
    registry.put("cg-a", b"a", card("cg-a"), status=BASE)
    registry.put("cg-a+u1", b"b", card("cg-a+u1"), status=CANDIDATE)
    assert registry.promote("cg-a+u1", actor="learning", also={"cg:test:cursor": "5-0"}) is None
    assert registry.current() == "cg-a+u1"
    assert redis_client.get("cg:test:cursor") == b"5-0"  # set in the same transaction
    listed = {v.version: v for v in registry.list()}
    assert listed["cg-a+u1"].status == "promoted"
    assert listed["cg-a+u1"].current
    assert listed["cg-a+u1"].promoted_at is not None
    assert registry.rollback("cg-a", actor="cli:ops") == "cg-a+u1"
    assert registry.current() == "cg-a"
    assert [(e["action"], e["version"], e["previous"]) for e in registry.history()] == [
        ("rollback", "cg-a", "cg-a+u1"),
        ("promote", "cg-a+u1", None),
    ]
    assert registry.history()[0]["actor"] == "cli:ops"


def test_unknown_and_refused_versions_cannot_become_current(
    registry: ModelRegistry, redis_client: redis.Redis
) -> None:
    registry.put("cg-a+u2", None, card("cg-a+u2"), status=REFUSED)
    with pytest.raises(UnknownVersionError):
        registry.rollback("cg-nope", actor="t")
    with pytest.raises(UnknownVersionError):
        registry.rollback("../../etc", actor="t")  # not even a version name
    with pytest.raises(NotRestorableError):
        registry.rollback("cg-a+u2", actor="t")
    with pytest.raises(UnknownVersionError):
        registry.get("cg-a+u2")  # only the card is kept
    assert registry.card("cg-a+u2")["model_version"] == "cg-a+u2"
    assert not redis_client.exists(registry.current_key)
    with pytest.raises(ValueError, match="promoted"):
        registry.put("cg-b", b"x", card("cg-b"), status="promoted")


def test_prune_keeps_the_newest_the_current_and_the_base(registry: ModelRegistry) -> None:
    registry.put("cg-a", b"a", card("cg-a"), status=BASE)
    for i in range(1, 7):
        registry.put(f"cg-a+u{i}", b"x", card(f"cg-a+u{i}"), status=CANDIDATE)
    registry.promote("cg-a+u2", actor="t")
    deleted = registry.prune()
    assert sorted(deleted) == ["cg-a+u1", "cg-a+u3"]
    assert [v.version for v in registry.list()] == [
        "cg-a",
        "cg-a+u2",
        "cg-a+u4",
        "cg-a+u5",
        "cg-a+u6",
    ]
    assert registry.current() == "cg-a+u2"


def test_lineage() -> None:
    assert lineage("cg-abc+udef") == "cg-abc"
    assert lineage("cg-abc") == "cg-abc"


def test_a_base_registered_by_its_card_alone_can_be_rolled_back_to(
    registry: ModelRegistry,
) -> None:
    """Every worker holds its base: a site's registry keeps its card, not a copy."""
    assert registry.put("cg-a", None, card("cg-a"), status=BASE)
    registry.put("cg-a+s1", b"layer", card("cg-a+s1"), status=CANDIDATE)
    registry.promote("cg-a+s1", actor="learning")
    assert registry.rollback("cg-a", actor="cli:ops") == "cg-a+s1"
    assert registry.current() == "cg-a"
    assert {v.version: v.size for v in registry.list()} == {"cg-a": 0, "cg-a+s1": 5}
    registry.put("cg-a+s2", None, card("cg-a+s2"), status=REFUSED)
    with pytest.raises(NotRestorableError):
        registry.promote("cg-a+s2", actor="cli:ops")  # a refused card alone still cannot


def test_the_copy_of_a_base_registered_before_is_dropped_once(registry: ModelRegistry) -> None:
    registry.put("cg-a", b"base-bytes", card("cg-a"), status=BASE)
    registry.put("cg-a+s1", b"layer", card("cg-a+s1"), status=CANDIDATE)
    assert not registry.drop_base_bytes("cg-a+s1")  # only a base's bytes go
    assert registry.drop_base_bytes("cg-a")
    assert not registry.drop_base_bytes("cg-a")
    assert registry.card("cg-a") == card("cg-a")
    assert registry.get("cg-a+s1").data == b"layer"
    with pytest.raises(UnknownVersionError):
        registry.get("cg-a")
    registry.promote("cg-a", actor="cli:ops")
    assert registry.current() == "cg-a"
