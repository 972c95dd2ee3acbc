"""Overload: intake offered twice its measured capacity, with load shedding on.

1. Capacity C: wrk drives ``POST /api/v1/comments`` (closed loop, as
   ``benchmarks/intake.py`` does, with its helpers) against ``commentgate web``;
   C is the 202s per second.
2. Shed rate S: wrk against a server whose admission rate sheds nearly everything:
   what one shed request costs, as a share of an intake (C / S).
3. Unloaded latency: an open-loop generator posts at C/5.
4. Overload: the generator offers 2 x C to a server with the queue-wait limit
   (``COMMENTGATE_INTAKE_MAX_WAIT_MS``, ``--max-wait-ms``) and, with ``--admit``, an
   admission rate of that share of C (``COMMENTGATE_INTAKE_MAX_PER_SECOND``). Reported:
   the rate offered and actually sent, the share of 202 / 429 / 503, other 5xx and
   transport errors (there must be none), the 202s per second against C, and p50/p99
   latency of the accepted posts beside the unloaded ones.
5. Contrast (``--no-contrast`` skips it): the same 2 x C without any shedding.

The generator is open loop, in ``--generators`` processes: each request is sent at its
scheduled time on its own connection (gunicorn's sync workers close every connection)
whatever happened to the earlier ones, and its latency counts from that scheduled
time, so a server that falls behind shows it (no coordinated omission). wrk2, the C
tool for this, is not packaged in Debian; plain wrk is closed loop (it never offers
more than the server answers). Unless ``--no-pin``, the server runs on CPU 0 and wrk
and the generator on the other CPUs, so the load does not take the server's CPU.

Why the wait limit bounds latency: a post that queued longer than the limit is
answered 503 at once (no Redis round trip), so every accepted post queued for at most
the limit, whatever arrives; and the server stays busy with the posts it can still
serve in time, without anyone measuring or configuring its capacity. A rate limit alone
decides when a worker takes the request, after it has queued, so it cannot bound that
wait: it only lowers the load.

Four gunicorn workers by default (``--workers``), on the one CPU: since gunicorn 27 a
sync worker closes a connection gracefully, waiting for the client to close its end
after the response, so a worker is tied up for a client round trip it does not spend
computing. With two workers and a load generator slow to close (Python, on the other
core), the workers sat idle in that wait half the time and even shedding fell behind
(py-spy: 46% of a worker's samples in ``close_graceful``); gunicorn's own advice is two
to four workers per core.

Run: ``.venv/bin/python benchmarks/overload.py [--seconds 10] [--max-wait-ms 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._comments import solved_posts
from benchmarks._common import (
    COMMENTGATE,
    free_port,
    fresh_redis,
    percentile,
    processes,
    report,
    start,
    wait_http,
)
from benchmarks.intake import bodies, wrk

HOST = "127.0.0.1"
#: Requests in flight at most; beyond it the generator queues (and counts the wait).
MAX_IN_FLIGHT = 4000
#: Seconds a request may take before it counts as a transport error.
REQUEST_TIMEOUT = 30.0


# -- an open-loop load generator (the soak benchmark uses it too) --------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """One request: status (0 for a transport error), latency from its scheduled time."""

    status: int
    latency: float
    sent_late: float
    comment_id: str = ""
    error: str = ""


def comment_requests(seed: int, thread_prefix: str = "bench/overload") -> Iterator[bytes]:
    """Endless raw HTTP requests posting comments, each with its own solved captcha."""
    for post in solved_posts(seed, thread_prefix=thread_prefix):
        body = json.dumps(post).encode()
        head = (
            f"POST /api/v1/comments HTTP/1.1\r\nHost: {HOST}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        yield head.encode() + body


async def _send(
    port: int, request: bytes, scheduled: float, limit: asyncio.Semaphore, keep_id: bool
) -> Result:
    loop = asyncio.get_running_loop()
    async with limit:
        sent_late = loop.time() - scheduled
        writer = None
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(request)
                await writer.drain()
                raw = await reader.read()  # the server closes the connection
        except TimeoutError:
            return Result(0, loop.time() - scheduled, sent_late, error="timeout")
        except OSError as exc:
            return Result(0, loop.time() - scheduled, sent_late, error=type(exc).__name__)
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    latency = loop.time() - scheduled
    head, _, body = raw.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return Result(0, latency, sent_late, error="no HTTP response")
    status = int(parts[1])
    comment_id = ""
    if keep_id and status == 202:
        comment_id = json.loads(body)["id"]
    return Result(status, latency, sent_late, comment_id=comment_id)


async def _offer(
    port: int, requests: Iterable[bytes], rate: float, count: int, keep_ids: bool
) -> list[Result]:
    loop = asyncio.get_running_loop()
    limit = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks = []
    t0 = loop.time() + 0.05
    for i, request in enumerate(requests):
        if i >= count:
            break
        scheduled = t0 + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing: the open-loop schedule, not a wait
        tasks.append(asyncio.create_task(_send(port, request, scheduled, limit, keep_ids)))
    return list(await asyncio.gather(*tasks))


def offer(
    port: int, requests: Iterable[bytes], rate: float, seconds: float, keep_ids: bool = False
) -> list[Result]:
    """Post ``rate`` requests per second for ``seconds``, open loop; every result."""
    return asyncio.run(_offer(port, requests, rate, int(rate * seconds), keep_ids))


# -- the benchmark ------------------------------------------------------------------------


def _offer_part(port: int, seed: int, rate: float, seconds: float, start_at: float) -> list[Result]:
    import time

    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)  # every generator process starts its schedule at the same moment
    return offer(port, comment_requests(seed), rate, seconds)


def offer_in_processes(
    port: int, rate: float, seconds: float, seed: int, generators: int
) -> list[Result]:
    """Offer ``rate`` per second from ``generators`` processes, each a share of it."""
    import time

    if generators <= 1:
        return offer(port, comment_requests(seed), rate, seconds)
    start_at = time.time() + 1.0  # once every process has imported and built its first request
    with ProcessPoolExecutor(max_workers=generators) as pool:
        parts = [
            pool.submit(_offer_part, port, seed + k, rate / generators, seconds, start_at)
            for k in range(generators)
        ]
        return [r for part in parts for r in part.result()]


@dataclass(frozen=True)
class Phase:
    """Results of one offered load."""

    name: str
    offered: float
    seconds: float
    results: list[Result]

    def share(self, *statuses: int) -> float:
        return sum(1 for r in self.results if r.status in statuses) / max(1, len(self.results))

    @property
    def other_5xx(self) -> int:
        return sum(1 for r in self.results if r.status >= 500 and r.status != 503)

    @property
    def errors(self) -> Counter[str]:
        return Counter(r.error for r in self.results if r.status == 0)

    def accepted_ms(self, q: float) -> float:
        return percentile([r.latency for r in self.results if r.status == 202], q) * 1000

    @property
    def sent_rate(self) -> float:
        """Requests sent per second: below ``offered`` when the generator lagged."""
        lag = percentile([r.sent_late for r in self.results], 0.5)
        return len(self.results) / (self.seconds + max(0.0, lag))


#: With ``--pin``: the CPU of the server under test; wrk and the generator get the rest.
SERVER_CPU = 0
_pinned = False


def pin_load_generators() -> None:
    """Keep this process and its children (wrk, generators) off the server's CPU."""
    global _pinned
    others = set(os.sched_getaffinity(0)) - {SERVER_CPU}
    if others and shutil.which("taskset"):
        os.sched_setaffinity(0, others)
        _pinned = True


def serve(procs: list[subprocess.Popen[bytes]], workers: int, **extra: str) -> int:
    """Start ``commentgate web`` on a free port; return the port once it answers.

    After :func:`pin_load_generators`, the server runs on :data:`SERVER_CPU` only.
    """
    port = free_port()
    pin = ["taskset", "-c", str(SERVER_CPU)] if _pinned else []
    start(
        procs,
        [*pin, COMMENTGATE, "web", "--bind", f"{HOST}:{port}", "--workers", str(workers)],
        **extra,
    )
    wait_http(f"http://{HOST}:{port}/healthz")
    return port


def measure_capacity(
    args: argparse.Namespace, tmp: Path, all_responses: bool = False, **extra: str
) -> tuple[float, dict[str, float]]:
    """Intake 202s per second under wrk (closed loop), and wrk's latency figures.

    With ``all_responses``, every response per second counts (the shed rate, when
    ``extra`` sets an admission limit that sheds nearly everything).
    """
    warm, measured = tmp / "warm.jsonl", tmp / "bodies.jsonl"
    if not measured.exists():
        bodies(warm, 5_000, seed=21)
        bodies(measured, max(20_000, 4_000 * args.seconds), seed=22)
    fresh_redis()
    with processes() as procs:
        port = serve(procs, args.workers, **extra)
        url = f"http://{HOST}:{port}"
        wrk(url, "/api/v1/comments", warm, 2, args.threads, args.connections)
        fresh_redis()
        summary = wrk(
            url, "/api/v1/comments", measured, args.seconds, args.threads, args.connections
        )
    rate = summary["requests"] / (summary["duration_us"] / 1e6)
    return float(rate if all_responses else summary["good_rps"]), {
        "p50": summary["p50_us"] / 1000,
        "p99": summary["p99_us"] / 1000,
    }


def run_phase(
    name: str,
    args: argparse.Namespace,
    rate: float,
    seconds: float,
    seed: int,
    generators: int,
    **extra: str,
) -> Phase:
    """Offer ``rate`` per second for ``seconds`` to a fresh server."""
    fresh_redis()
    with processes() as procs:
        port = serve(procs, args.workers, **extra)
        results = offer_in_processes(port, rate, seconds, seed, generators)
    return Phase(name, rate, seconds, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per phase")
    parser.add_argument(
        "--workers", type=int, default=4, help="gunicorn workers (on one CPU when pinned)"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk, for the capacity")
    parser.add_argument("--threads", type=int, default=2, help="wrk, for the capacity")
    parser.add_argument("--factor", type=float, default=2.0, help="offered load / capacity")
    parser.add_argument(
        "--admit", type=float, default=0, help="admission rate as a share of C (default: none)"
    )
    parser.add_argument(
        "--max-wait-ms",
        type=int,
        default=100,
        help="COMMENTGATE_INTAKE_MAX_WAIT_MS while shedding (0: rate limit only)",
    )
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--no-contrast", action="store_true", help="skip the run without limit")
    parser.add_argument(
        "--no-pin", action="store_true", help="do not keep the server and the load apart"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `bash scripts/system-deps` (as root)")
    if not args.no_pin:
        pin_load_generators()
    with tempfile.TemporaryDirectory() as tmp:
        capacity, wrk_latency = measure_capacity(args, Path(tmp))
        shed_rate = measure_capacity(
            args, Path(tmp), COMMENTGATE_INTAKE_MAX_PER_SECOND="1", all_responses=True
        )[0]
    s_ratio = capacity / shed_rate
    admit = max(1, round(capacity * args.admit)) if args.admit else 0
    offered = capacity * args.factor
    shedding = {"COMMENTGATE_INTAKE_MAX_WAIT_MS": str(args.max_wait_ms)}
    if admit:
        shedding["COMMENTGATE_INTAKE_MAX_PER_SECOND"] = str(admit)
    unloaded = run_phase("unloaded", args, capacity / 5, min(args.seconds, 5), 31, 1)
    shed = run_phase(
        "shedding",
        args,
        offered,
        args.seconds,
        32,
        args.generators,
        **shedding,
    )
    phases = [shed]
    if not args.no_contrast:
        phases.append(run_phase("no limit", args, offered, args.seconds, 33, args.generators))

    base_p99 = unloaded.accepted_ms(0.99)
    rows = [
        (
            "capacity C: intake 202/s under wrk",
            f"{capacity:,.0f}",
            f"wrk -c{args.connections}: p50 {wrk_latency['p50']:.1f} / "
            f"p99 {wrk_latency['p99']:.1f} ms",
            "",
        ),
        (
            "shed rate S: 503/s when everything is shed",
            f"{shed_rate:,.0f}",
            f"a shed costs {s_ratio:.2f} of an intake",
            "",
        ),
        (
            f"unloaded ({capacity / 5:,.0f}/s offered): accepted p50 / p99",
            f"{unloaded.accepted_ms(0.5):.1f} / {base_p99:.1f} ms",
            "(baseline)",
            "ok" if unloaded.share(202) == 1 else "CHECK: not all 202",
        ),
    ]
    accepted_rate = shed.share(202) * len(shed.results) / shed.seconds
    rows.append(
        (
            f"shedding, {args.factor:g} C: 202/s while offered",
            f"{accepted_rate:,.0f}",
            f"{accepted_rate / capacity:.0%} of capacity C",
            "",
        )
    )
    for phase in phases:
        is_shed = phase is shed
        label = f"{phase.name}, {args.factor:g} C"
        errors = sum(phase.errors.values())
        ratio = phase.accepted_ms(0.99) / base_p99
        rows += [
            (
                f"{label}: offered / sent per s",
                f"{phase.offered:,.0f} / {phase.sent_rate:,.0f}",
                (
                    f"wait limit {args.max_wait_ms} ms"
                    + (f", admission rate {admit}/s" if admit else "")
                )
                if is_shed
                else "no shedding",
                "" if phase.sent_rate >= 0.9 * phase.offered else "generator lagged",
            ),
            (
                f"{label}: 202 / 429 / 503",
                f"{phase.share(202):.0%} / {phase.share(429):.0%} / {phase.share(503):.0%}",
                "",
                "",
            ),
            (
                f"{label}: other 5xx / transport errors",
                f"{phase.other_5xx} / {errors}" + (f" {dict(phase.errors)}" if errors else ""),
                "0 / 0",
                ("ok" if phase.other_5xx == 0 and errors == 0 else "FAIL") if is_shed else "",
            ),
            (
                f"{label}: accepted p50 / p99",
                f"{phase.accepted_ms(0.5):.1f} / {phase.accepted_ms(0.99):.1f} ms",
                f"unloaded p99 x{ratio:.1f}" + ("; bounded: <= x10" if is_shed else ""),
                ("ok" if ratio <= 10 else "ABOVE TARGET") if is_shed else "",
            ),
        ]
    placement = (
        f"server on CPU {SERVER_CPU}, load on the others" if _pinned else "server and load unpinned"
    )
    report(
        f"overload: {args.factor:g} x measured intake capacity, gunicorn sync x{args.workers}, "
        f"{args.seconds}s per phase, {placement}",
        rows,
    )
    if shed.other_5xx or sum(shed.errors.values()):
        raise SystemExit("overload: 5xx other than 503, or transport errors, while shedding")


if __name__ == "__main__":
    main()
