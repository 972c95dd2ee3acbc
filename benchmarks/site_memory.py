"""Memory of a worker holding the base model and N learning sites' promoted models, and
what each site's model takes in Redis: the layout before (main up to this change) beside
the layout now, measured in the same run.

Run: ``.venv/bin/python benchmarks/site_memory.py [--sites 1 4 16] [--labels 300]
[--datasets DIR]``

Each site learns its layer from its own draw of ``--labels`` labelled comments of the
shared data sets (half spam), with the learning job's functions, and its model is stored
and promoted in the site's registry twice: as stored now (the layer alone) and as
stored before (the base's pipeline and the layer in one skops archive, written here as
the earlier ``dump_model_bytes`` wrote it). Then, for N sites, a fresh process loads
the base model and N site models and reports its RSS and what ``tracemalloc`` traces
(started after the base was loaded), in three layouts:

* ``before``: the earlier layout: every site model its own copy of the base pipeline
  (unpacked from its archive) and a dense coefficient matrix over the whole hashed
  space with the site's head as one more column (emulated: the archive loaded without
  its base, plus the head's dense column, ``SiteLayer.head_coef``, held beside it);
* ``now, entries stored before``: the stored-before archives loaded by a worker now
  (``ModelHolder``): the archived pipeline is checked to be the base's and dropped;
* ``now``: the layer-only entries loaded by a worker now.

Redis: ``HSTRLEN`` of a version's skops bytes and ``MEMORY USAGE`` of its hash (bytes
and card), for a site model and for the base each site's registry registers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import redis

from benchmarks._common import BENCH_REDIS_URL, SECRET, fresh_redis, report
from benchmarks.worker_throughput import DEFAULT_DATASETS, real_data

LAYOUTS = ("before", "now, entries stored before", "now")
_MB = 2**20


def legacy_bytes(model: Any) -> tuple[bytes, dict[str, Any]]:
    """A site model as the earlier ``dump_model_bytes`` stored it: pipeline and layer."""
    from classifier._persistence import _deterministic_dumps, library_versions

    payload = _deterministic_dumps({"pipeline": model.pipeline, "site_layer": model.layer})
    card = {**model.card, "libraries": library_versions()}
    card["sha256"] = hashlib.sha256(payload).hexdigest()
    card["size_bytes"] = len(payload)
    return payload, card


def site_name(layout: str, index: int) -> str:
    """The benchmark's site of one storage layout."""
    return f"{'legacy' if layout != 'now' else 'site'}-{index}"


def store_sites(client: redis.Redis, count: int, labels: int, datasets: Path) -> list[str]:
    """Train ``count`` site layers and store each in both layouts; return the versions."""
    from classifier import dump_model_bytes, load_model
    from classifier._site_learning import train_site_model
    from service.core.model_registry import BASE, CANDIDATE, ModelRegistry

    data = real_data(datasets)
    if data is None:
        raise SystemExit(f"the shared data sets are not in {datasets} (see --datasets)")
    base = load_model()
    y = np.asarray(data.labels)
    versions = []
    for index in range(count):
        rng = np.random.default_rng(index)
        drawn = np.concatenate(
            [rng.choice(np.flatnonzero(y == c), labels // 2, replace=False) for c in (1, 0)]
        )
        features = base.features([data.comments[i] for i in drawn])
        site = f"site-{index}"
        model = train_site_model(base, features, y[drawn], np.ones(len(drawn)), site=site).model
        for name, (blob, card), base_bytes in (
            (site, dump_model_bytes(model), None),
            (f"legacy-{index}", legacy_bytes(model), dump_model_bytes(base)[0]),
        ):
            registry = ModelRegistry(client, site=name)
            registry.put(base.version, base_bytes, dict(base.card), status=BASE)
            registry.put(model.version, blob, card, status=CANDIDATE)
            registry.promote(model.version, actor="benchmark")
        versions.append(model.version)
    return versions


def rss_mb() -> float:
    """This process's resident set now."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / _MB


def child(layout: str, count: int, trace: bool) -> dict[str, float]:
    """In a fresh process: load the base and ``count`` sites' models in ``layout``."""
    import gc

    from classifier import load_model, load_model_bytes
    from service.core.model_holder import ModelHolder
    from service.core.model_registry import ModelRegistry
    from service.core.settings import load_settings

    client = redis.Redis.from_url(BENCH_REDIS_URL)
    settings = load_settings(redis_url=BENCH_REDIS_URL, secret_key=SECRET)
    base = load_model()
    gc.collect()
    before = rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    held: list[Any] = []
    for index in range(count):
        registry = ModelRegistry(client, site=site_name(layout, index))
        if layout == "before":
            stored = registry.get(str(registry.current()))
            model = load_model_bytes(stored.data, stored.card)
            held.append((model, model.layer.head_coef()))  # the dense column of its scorer
        else:
            holder = ModelHolder(base, settings, registry)
            model = holder.refresh()[0]
            assert model.layer is not None
            assert model.shares_base_with(base)
            held.append(holder)
    seconds = time.perf_counter() - started
    gc.collect()
    traced, traced_peak = tracemalloc.get_traced_memory() if trace else (0, 0)
    return {
        "rss_base": before,
        "rss": rss_mb(),
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "traced": traced / _MB,
        "traced_peak": traced_peak / _MB,
        "load_seconds": seconds,
    }


def run_child(layout: str, count: int, trace: bool) -> dict[str, float]:
    """:func:`child` in its own interpreter (so each figure starts from the same process)."""
    argv = [sys.executable, __file__, "--child", layout, str(count)] + (["--trace"] * trace)
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def scoring_ms(datasets: Path, version_site: str) -> tuple[float, float]:
    """Median ms to assess 500 real comments: the base alone, and a site's model now.

    The two are timed in turns (31 rounds), so that the machine's load weighs on both.
    """
    from classifier import CommentInput, load_model, load_model_bytes
    from service.core.model_registry import ModelRegistry

    base = load_model()
    registry = ModelRegistry(redis.Redis.from_url(BENCH_REDIS_URL), site=version_site)
    stored = registry.get(str(registry.current()))
    site = load_model_bytes(stored.data, stored.card, base=base)
    data = real_data(datasets)
    batch = [CommentInput(c.text) for c in data.comments[:500]]
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(31):
        for index, model in enumerate((base, site)):
            started = time.perf_counter()
            model.assess(batch)
            times[index].append(time.perf_counter() - started)
    return float(np.median(times[0])) * 1000, float(np.median(times[1])) * 1000


def redis_rows(client: redis.Redis, version: str, base_version: str) -> list[tuple[str, ...]]:
    """Bytes of one site's model and of its registered base, now and before."""
    from service.core.store import keys

    def sizes(site: str, which: str) -> tuple[int, int]:
        key = keys.model_version(site, which)
        return int(client.hstrlen(key, "skops")), int(client.memory_usage(key) or 0)

    rows = []
    for label, which in (("site model", version), ("registered base", base_version)):
        now_skops, now_total = sizes("site-0", which)
        old_skops, old_total = sizes("legacy-0", which)
        rows.append(
            (
                f"Redis per site: {label}, skops bytes / MEMORY USAGE",
                f"{now_skops / 1024:,.1f} KiB / {now_total / 1024:,.1f} KiB",
                f"{old_skops / 1024:,.1f} KiB / {old_total / 1024:,.1f} KiB",
                f"{old_total / max(now_total, 1):,.0f}x less",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--labels", type=int, default=300, help="labels each site learns from")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--child", nargs=2, metavar=("LAYOUT", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.trace)))
        return
    client = fresh_redis()
    started = time.perf_counter()
    versions = store_sites(client, max(args.sites), args.labels, args.datasets)
    from classifier import load_model

    base_version = load_model().version
    print(
        f"{len(versions)} site layers trained and stored in {time.perf_counter() - started:.0f} s"
    )
    rows = redis_rows(client, versions[0], base_version)
    for count in args.sites:
        figures = {
            layout: (run_child(layout, count, False), run_child(layout, count, True))
            for layout in LAYOUTS
        }
        for metric, label in (
            ("rss", "RSS growth"),
            ("traced", "tracemalloc retained"),
        ):
            values = {}
            for layout, (plain, traced) in figures.items():
                source = traced if metric == "traced" else plain
                grown = source[metric] - (source["rss_base"] if metric == "rss" else 0)
                values[layout] = grown
            rows.append(
                (
                    f"{count} site(s): {label}, MB (per site)",
                    f"{values['now']:,.1f} ({values['now'] / count:,.2f}); stored before: "
                    f"{values['now, entries stored before']:,.1f}",
                    f"{values['before']:,.1f} ({values['before'] / count:,.2f})",
                    f"{values['before'] / max(values['now'], 0.01):,.0f}x less",
                )
            )
        alone = figures["now"][0]["rss_base"]
        rows.append(
            (
                f"{count} site(s): peak RSS of the process, MB (base alone {alone:,.0f})",
                f"{figures['now'][0]['peak_rss']:,.0f}; stored before: "
                f"{figures['now, entries stored before'][0]['peak_rss']:,.0f}",
                f"{figures['before'][0]['peak_rss']:,.0f}",
                "",
            )
        )
        rows.append(
            (
                f"{count} site(s): seconds to load the site models",
                f"{figures['now'][0]['load_seconds']:.2f}; stored before: "
                f"{figures['now, entries stored before'][0]['load_seconds']:.2f}",
                f"{figures['before'][0]['load_seconds']:.2f}",
                "",
            )
        )
    base_ms, site_ms = scoring_ms(args.datasets, "site-0")
    rows.append(
        (
            "ms to assess 500 real comments, a site model now (median of 31)",
            f"{site_ms:.1f}",
            f"{base_ms:.1f} (the base alone)",
            f"{site_ms / base_ms:.2f}x",
        )
    )
    report("site models in memory and in Redis: now beside before", rows)


if __name__ == "__main__":
    main()
