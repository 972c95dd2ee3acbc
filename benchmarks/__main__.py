"""``python -m benchmarks``: every benchmark script in sequence, each printing its figures
beside their baselines, with short defaults so that one command gives every figure.

Scripts run one after another (never two at once: they share the machine and the
benchmark Redis database, which each flushes), each as its own process. A script
missing from the tree (colleagues add some) is skipped, and so is one whose dataset
(``../shared/datasets/youtube-spam-collection``) is absent; the soak runs only with
``--soak``. A summary at the end lists what ran, how long it took and how it ended;
the exit status is 1 when any script failed.

Run: ``.venv/bin/python -m benchmarks [--soak] [--soak-minutes 3] [--only NAME ...]``
(``make bench`` runs it.) ``COMMENTGATE_BENCH_REDIS_URL`` picks the database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATASET = REPO.parent / "shared" / "datasets" / "youtube-spam-collection"


@dataclass(frozen=True)
class Script:
    """One benchmark script and the short arguments ``python -m benchmarks`` gives it."""

    name: str
    args: tuple[str, ...] = ()
    needs_dataset: bool = False
    soak: bool = False

    @property
    def path(self) -> Path:
        return HERE / f"{self.name}.py"


SCRIPTS = (
    Script("classifier_quality", ("--quick",), needs_dataset=True),
    Script("classifier_speed"),
    Script("worker_throughput", ("--comments", "10000")),
    Script("intake", ("--seconds", "3")),
    Script("intake_instructions", ("--posts", "100")),
    Script("end_to_end", ("--rates", "100", "--seconds", "10")),
    Script("overload", ("--seconds", "5")),
    Script("learning", needs_dataset=True),
    Script("campaign_memory"),
    Script("site_memory", needs_dataset=True),
    Script("fuzz_api", ("--max-examples", "50")),
    Script("privacy_purge", ("--comments", "20000")),
    Script("soak", soak=True),
)


def skip_reason(script: Script, args: argparse.Namespace) -> str:
    """Why ``script`` does not run now ("" when it does)."""
    if args.only and script.name not in args.only:
        return "not in --only"
    if not script.path.exists():
        return "not in this tree"
    if script.soak and not args.soak:
        return "soak: pass --soak"
    if script.needs_dataset and not any(DATASET.glob("*.csv")):
        return f"dataset absent ({DATASET})"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--soak", action="store_true", help="also run the soak benchmark")
    parser.add_argument("--soak-minutes", type=float, default=3.0)
    parser.add_argument(
        "--only", nargs="+", default=[], metavar="NAME", help="run these scripts only"
    )
    parser.add_argument("--list", action="store_true", help="list the scripts and stop")
    args = parser.parse_args()
    if args.list:
        for script in SCRIPTS:
            print(f"{script.name:20} {' '.join(script.args)}")
        return 0
    summary: list[tuple[str, str, float]] = []
    for script in SCRIPTS:
        reason = skip_reason(script, args)
        if reason:
            summary.append((script.name, f"skipped: {reason}", 0.0))
            continue
        argv = [*script.args]
        if script.soak:
            argv += ["--minutes", f"{args.soak_minutes:g}"]
        print(f"\n### {script.name} {' '.join(argv)}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script.path), *argv], cwd=REPO, check=False)
        elapsed = time.monotonic() - started
        outcome = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        summary.append((script.name, outcome, elapsed))
    print("\n== benchmarks run")
    for name, outcome, elapsed in summary:
        took = f"{elapsed:6.0f} s" if elapsed else "       "
        print(f"   {name:20} {took}  {outcome}")
    return 1 if any(outcome.startswith("FAILED") for _, outcome, _ in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
