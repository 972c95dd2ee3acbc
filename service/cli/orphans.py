"""Children that die with their parent, even when the parent is killed outright.

Linux sends a process a chosen signal when its parent dies if the process asked for
it with ``prctl(PR_SET_PDEATHSIG)``; the request survives ``exec``. ``commentgate dev``
uses it at every link of its process tree, so ``kill -9`` of ``commentgate dev`` takes
web, workers, scheduler and Redis down with it:

* :func:`die_with_parent` is a ``preexec_fn`` for :class:`subprocess.Popen`;
* :func:`die_with_this_process` does it for every process :func:`os.fork` makes here
  (honcho's helper processes);
* ``python -m service.cli.orphans -- COMMAND...`` (:func:`main`) runs ``COMMAND`` and
  guards its whole process group: for commands started by code that takes no
  ``preexec_fn`` (honcho), and whose own children might outlive them.

Elsewhere than Linux these do nothing: a parent killed outright leaves its children.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType

_PR_SET_PDEATHSIG = 1
#: What :func:`main` gets when its parent dies (a signal nobody else sends it).
_DEATH_SIGNAL = signal.SIGUSR1
#: Seconds a stopping command gets before what is left of its process group is killed.
GRACE_SECONDS = 5.0
#: Seconds between two looks at what is left of the group.
_POLL = 0.05


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent dies.

    Args:
        signum: The signal, e.g. ``signal.SIGTERM``.

    Returns:
        Whether the request was made (False off Linux, or where prctl is missing).
    """
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum) == 0)
    return False


def die_with_parent(parent_pid: int, signum: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` making the child get ``signum`` when ``parent_pid`` dies.

    Args:
        parent_pid: The process starting the child (``os.getpid()`` there).
        signum: What the child gets.

    Returns:
        The function to pass as ``preexec_fn`` (it runs between fork and exec).
    """

    def setup() -> None:
        set_parent_death_signal(signum)
        if os.getppid() != parent_pid:  # the parent died before the request took effect
            os._exit(1)

    return setup


def die_with_this_process(signum: int = signal.SIGKILL) -> None:
    """Make every process forked from here on get ``signum`` when this one dies.

    For forks made by library code (honcho forks one helper per command through
    :mod:`multiprocessing`); :func:`subprocess.Popen` without ``preexec_fn`` is not
    affected. Registered once per process.

    Args:
        signum: What the forked processes get. SIGKILL suits honcho's helpers, which
            ignore SIGTERM.
    """
    parent = os.getpid()

    def in_child() -> None:
        if os.getppid() == parent:  # a direct child of the process that registered
            set_parent_death_signal(signum)
            if os.getppid() != parent:
                os._exit(1)

    os.register_at_fork(after_in_child=in_child)


def launcher(argv: list[str]) -> list[str]:
    """The command line running ``argv`` under :func:`main`'s guard."""
    return [sys.executable, "-m", "service.cli.orphans", "--", *argv]


def group_alive(pgid: int) -> bool:
    """Whether any process is left in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _end_like(code: int) -> int:
    """Exit as the child did: by the same signal, or with the same code."""
    if code < 0:
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code  # pragma: no cover - the signal ended this process
    return code


class _StopError(Exception):
    """A stop signal arrived: wait for the child, up to :data:`GRACE_SECONDS`."""


def main(args: list[str]) -> int:
    """``python -m service.cli.orphans -- COMMAND...``: run COMMAND, ending with the parent.

    This process is the parent of COMMAND and, under honcho, the leader of the process
    group holding COMMAND and everything it starts. When the parent of this process
    dies (Linux sends SIGUSR1, see :func:`set_parent_death_signal`), COMMAND gets
    SIGTERM. On any stop (that, or SIGTERM, SIGINT, SIGHUP sent to the group), whatever
    is left of the group after :data:`GRACE_SECONDS` gets SIGKILL: grandchildren
    included, such as RQ's scheduler process, which would otherwise retry a Redis that
    stopped at the same time for minutes. COMMAND itself gets SIGTERM should this
    process be killed outright.

    Returns:
        COMMAND's exit code (ended by a signal, this process ends by the same one).
    """
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m service.cli.orphans -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    parent = os.getppid()
    child: subprocess.Popen[bytes] | None = None
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if signum == _DEATH_SIGNAL and child is not None:
            child.send_signal(signal.SIGTERM)  # the parent died: nobody else will ask it
        first = not stopping
        stopping.append(signum)
        if first:
            raise _StopError

    for signum in (_DEATH_SIGNAL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    set_parent_death_signal(_DEATH_SIGNAL)
    if os.getppid() != parent:  # it died before the request took effect
        return 1
    code: int | None = None
    try:
        child = subprocess.Popen(args, preexec_fn=die_with_parent(os.getpid()))  # noqa: S603
        code = child.wait()
    except _StopError:
        pass
    except FileNotFoundError as exc:
        print(f"cannot run {args[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    if child is None:  # stopped before it started
        return 1
    deadline = time.monotonic() + GRACE_SECONDS
    with contextlib.suppress(_StopError):  # a stop now changes nothing
        code = _wait_for_group(child, deadline)
    return _end_like(code if code is not None else 1)


def _wait_for_group(child: subprocess.Popen[bytes], deadline: float) -> int:
    """Wait until the child and the rest of this group are gone; SIGKILL them at ``deadline``.

    Returns:
        The child's return code.
    """
    try:
        code = child.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        code = None
    left = _group_members()
    for pid in left:  # what the child left behind: a fork of it, a grandchild
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    while left and time.monotonic() < deadline:
        time.sleep(_POLL)
        left = _group_members()
    if code is None or left:
        for pid in [*left, child.pid]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return child.wait() if code is None else code


def _group_members() -> list[int]:
    """The other live processes of the group this process leads (Linux's /proc).

    None when this process leads no group (its group is its starter's) or off Linux.
    """
    me, group = os.getpid(), os.getpgrp()
    members: list[int] = []
    if group != me:
        return members
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] not in ("Z", "X"):
                members.append(int(entry))
    return members


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
