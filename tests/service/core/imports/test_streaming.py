"""Large exports are streamed: memory stays far below the file's size; labels all arrive."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
import redis

from classifier import load_model
from service.core.imports import ImportedComment
from service.core.imports._xml import CountingReader
from service.core.imports.disqus import parse_disqus
from service.core.imports.run import Importer
from service.core.imports.wordpress import parse_wordpress
from service.core.site_labels import SiteLabels
from tests.service.core.imports.exports import write_large_disqus, write_large_wxr

COMMENTS = 20_000
Parser = Callable[[BinaryIO, str], Iterator[ImportedComment]]


@pytest.fixture(scope="module")
def large_wxr(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("exports") / "wordpress.xml"
    return path, write_large_wxr(path, COMMENTS)


@pytest.fixture(scope="module")
def large_disqus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("exports") / "disqus.xml"
    return path, write_large_disqus(path, COMMENTS)


def peak_while_parsing(parse: Parser, path: Path) -> tuple[int, Counter[str]]:
    """Peak traced memory while streaming every comment, and the labels seen."""
    seen: Counter[str] = Counter()
    with path.open("rb") as raw:
        tracemalloc.start()
        try:
            for comment in parse(raw, path.name):
                seen[comment.skipped or ("spam" if comment.label else "ham")] += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak, seen


@pytest.mark.parametrize("source", ["wordpress", "disqus"])
def test_memory_stays_far_below_the_file_size(
    source: str,
    large_wxr: tuple[Path, dict[str, int]],
    large_disqus: tuple[Path, dict[str, int]],
) -> None:
    parse, (path, expected) = (
        (parse_wordpress, large_wxr) if source == "wordpress" else (parse_disqus, large_disqus)
    )
    size = path.stat().st_size
    assert size > 8_000_000
    peak, seen = peak_while_parsing(parse, path)
    assert dict(seen) == expected
    assert sum(seen.values()) == COMMENTS
    # the whole tree would take several times the file; a stream holds one post at a time
    assert peak < size / 20, f"peak {peak} bytes for a {size}-byte file"


def test_every_label_of_a_large_export_is_recorded(
    redis_client: redis.Redis, large_wxr: tuple[Path, dict[str, int]]
) -> None:
    path, expected = large_wxr
    model = load_model()
    positions: list[int] = []
    with path.open("rb") as raw:
        reader = CountingReader(raw)
        stats = Importer(
            redis_client, site="big", model=lambda: model, labeller="import:wordpress"
        ).run(
            parse_wordpress(reader, path.name), progress=lambda _: positions.append(reader.position)
        )
    assert (stats.ham, stats.spam, stats.skipped["pending"]) == (
        expected["ham"],
        expected["spam"],
        expected["pending"],
    )
    assert stats.batches == -(-(expected["ham"] + expected["spam"]) // 2000)
    assert stats.history == expected["ham"] + expected["spam"]
    assert len(SiteLabels(redis_client, "big", model.feature_space)) == stats.history
    # progress by bytes: rises in steps through the file, and reaches its end
    assert positions == sorted(positions)
    assert len(set(positions)) > 100
    assert positions[-1] == path.stat().st_size
