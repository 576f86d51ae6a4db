"""``fynlo serve --workers N``: N server processes answering on one listening socket.

uvicorn's own ``--workers`` would start plain ``uvicorn.Server``s and lose ours (``dev.py``'s
``ClosingServer``, which tells WebSockets 1001 on the way out), so this is its small twin.
The supervisor binds the socket once and forks N children, each serving on it (the kernel
hands each new connection to one of them). It serves nothing itself and opens no database
connection; each child builds its own app, pool and background tasks after the fork.

- SIGTERM or SIGINT: the supervisor closes its copy of the socket and sends SIGTERM to every
  child, which stops as ``fynlo serve`` does (requests finish, sockets hear 1001, at most
  ``grace`` seconds); a child still there ``grace`` + ``KILL_MARGIN`` seconds later is killed.
  Exit 0.
- A child that dies while nobody asked it to is replaced at once, up to ``MAX_RESTARTS``
  times in ``RESTART_WINDOW`` seconds; past that something is wrong with every child (the
  database refused them all, the code is broken), so the rest are stopped and the
  supervisor exits 1, for systemd or the orchestrator to see.
- A child whose supervisor dies gets SIGTERM from the kernel (Linux's parent-death signal),
  so no orphans keep serving.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

from server.logs import configure_logging
from server.settings import get_settings

log = logging.getLogger("fynlo.workers")

MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
KILL_MARGIN = 5.0
"""Seconds past the grace before a child that has not stopped is killed."""
POLL_SECONDS = 0.2
BACKLOG = 2048  # uvicorn's default

Serve = Callable[[list[socket.socket]], None]
"""Serves on the given sockets until a signal stops it (``dev._serve``)."""


class _ChildStopped(Exception):
    """SIGTERM in a child before uvicorn took over its signals, or re-raised after."""


def supervise(count: int, serve: Serve, *, host: str, port: int, grace: float) -> int:
    """Run ``count`` children of ``serve`` on one socket at ``host:port``; the exit code."""
    configure_logging(get_settings().log_level)
    listener = _bind(host, port)
    stopping: list[int] = []

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    children: set[int] = set()
    deaths: list[float] = []
    code = 0
    try:
        for _ in range(count):
            children.add(_fork(serve, listener))
        log.info("serving with %d workers on %s:%d", count, host, port)
        while not stopping:
            for pid, status in _reap(children):
                log.warning("worker %d died (%s): replacing it", pid, _describe(status))
                now = time.monotonic()
                deaths = [t for t in deaths if now - t < RESTART_WINDOW] + [now]
                if len(deaths) > MAX_RESTARTS:
                    log.error(
                        "workers died %d times in %.0f s: giving up", len(deaths), RESTART_WINDOW
                    )
                    code = 1
                    break
                children.add(_fork(serve, listener))
            if code:
                break
            time.sleep(POLL_SECONDS)
    finally:
        listener.close()  # no new connections queue where no child will take them
        _stop_all(children, grace)
    return code


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(BACKLOG)
    listener.set_inheritable(True)
    return listener


def _fork(serve: Serve, listener: socket.socket) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:  # the child: never returns into the supervisor's code
        _die_with_parent()
        signal.signal(signal.SIGTERM, _raise_stopped)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        serve([listener])
        code = 0
    except (_ChildStopped, KeyboardInterrupt):
        code = 0
    except SystemExit as exc:  # uvicorn exits 3 when the app's start-up fails
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise _ChildStopped


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the supervisor dies (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the request took hold
        os._exit(0)


def _reap(children: set[int]) -> list[tuple[int, int]]:
    """Children that have exited since the last look, with their wait status."""
    dead = []
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid in children:
            children.discard(pid)
            dead.append((pid, status))
    return dead


def _stop_all(children: set[int], grace: float) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace + KILL_MARGIN
    while children and time.monotonic() < deadline:
        _reap(children)
        time.sleep(POLL_SECONDS / 2)
    for pid in children:
        log.error("worker %d still running %.0f s after SIGTERM: killed", pid, grace)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while children:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        children.discard(pid)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.waitstatus_to_exitcode(status)}"
