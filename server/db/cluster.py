"""A private PostgreSQL cluster run from the machine's own PostgreSQL installation.

``make run`` keeps a durable cluster in ``.fynlo/postgres``; tests and benchmarks use
``PostgresCluster.throwaway()``. A cluster folder holds ``pgdata/`` (the cluster itself),
``server.log``, ``port`` (reused by the next start while it is free), ``fynlo.lock`` (held
while a process runs the cluster) and the unix socket, unless its path would pass the
107-byte limit, in which case the socket goes to a short temp dir.

PostgreSQL refuses to run as root, so as root every PostgreSQL binary runs as the
``postgres`` OS user (created as a system user if missing) and the cluster folder is handed
to it. That user must be able to reach the folder: a repo under a 0700 ``/root`` is not
reachable. Rather than loosen permissions on someone's directories (as pgserver does) or put
the data somewhere unexpected, ``start()`` then refuses, naming the blocking directory and
the fixes. ``throwaway()`` clusters live in the system temp dir, which is always reachable.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)

DATABASE = "fynlo"
OS_USER = "postgres"
INSTALL_HINT = (
    "Install it with `apt-get install -y postgresql` (Debian/Ubuntu, as root or with sudo), "
    "or set FYNLO_DATABASE_URL to an existing database."
)
SOCKET_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes including the trailing NUL
INITDB_ARGS = ("-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
NOT_DURABLE = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
PSQL_ARGS = ("-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres")
CREATE_DATABASE = (  # psql's \gexec runs the one row as a statement only when it is missing
    f"SELECT 'CREATE DATABASE {DATABASE}' "
    f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n"
)


class PostgresNotInstalled(RuntimeError):
    """No PostgreSQL server binaries were found on this machine."""

    def __init__(self, detail: str = "PostgreSQL is not installed.") -> None:
        super().__init__(f"{detail} {INSTALL_HINT}")


def find_bindir() -> Path:
    """Return the folder holding ``initdb``, ``pg_ctl``, ``postgres`` and ``psql``."""
    if configured := os.environ.get("FYNLO_PG_BINDIR"):
        if _has_initdb(Path(configured)):
            return Path(configured)
        raise PostgresNotInstalled(f"FYNLO_PG_BINDIR={configured} holds no initdb.")
    debian = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if _has_initdb(p)]
    if debian:  # Debian keeps server binaries off PATH, one folder per major version
        return max(debian, key=lambda p: [int(n) for n in p.parent.name.split(".") if n.isdigit()])
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], check=False, capture_output=True)
        if found.returncode == 0 and _has_initdb(Path(os.fsdecode(found.stdout.strip()))):
            return Path(os.fsdecode(found.stdout.strip()))
    if initdb := shutil.which("initdb"):
        return Path(initdb).resolve().parent
    raise PostgresNotInstalled


class PostgresCluster:
    """One PostgreSQL cluster in ``data_dir``, listening only on 127.0.0.1."""

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir.absolute()
        self.port = port
        self.durable = durable
        self.bindir = find_bindir()
        self._requested_port = port
        self._pgdata = self.data_dir / "pgdata"
        self._user: pwd.struct_passwd | None = None
        self._lock: int | None = None
        self._pid: int | None = None
        self._temp_socket_dir: Path | None = None

    @classmethod
    @contextmanager
    def throwaway(cls) -> Iterator[PostgresCluster]:
        """Run a fast, non-durable cluster in a new temp dir, deleted on exit."""
        folder = Path(tempfile.mkdtemp(prefix="fynlo-pg-"))
        try:
            with cls(folder, durable=False) as cluster:
                yield cluster
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @property
    def dsn(self) -> str:
        """Address of the ``fynlo`` database over TCP."""
        if self._pid is None:
            raise RuntimeError(f"PostgreSQL in {self.data_dir} is not running")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def pid(self) -> int | None:
        """Process id of the postmaster while this object runs it."""
        return self._pid

    def start(self) -> str:
        """Create the cluster if needed, start it, create ``fynlo`` and return the DSN."""
        if self._lock is not None:
            raise RuntimeError(f"PostgreSQL in {self.data_dir} is already started")
        self._user = _os_user() if os.geteuid() == 0 else None
        self._prepare_folder()
        self._lock = _take_lock(self.data_dir / "fynlo.lock")
        atexit.register(self.stop)
        launched = False
        try:
            self._refuse_if_running()
            if not (self._pgdata / "PG_VERSION").exists():
                sync = () if self.durable else ("--no-sync",)
                self._run(self._bin("initdb"), "-D", str(self._pgdata), *INITDB_ARGS, *sync)
            self.port = self._choose_port()
            (self.data_dir / "port").write_text(f"{self.port}\n")
            sockets = shlex.quote(str(self._socket_dir()))  # pg_ctl passes -o through /bin/sh
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockets}"
            options += "" if self.durable else f" {NOT_DURABLE}"
            server_log = str(self.data_dir / "server.log")
            launched = True
            self._pg_ctl("start", "-w", "-t", "30", "-l", server_log, "-o", options)
            self._pid = _read_pid(self._pgdata)
            port = str(self.port)
            self._run(
                self._bin("psql"), *PSQL_ARGS, "-p", port, "-d", "postgres", stdin=CREATE_DATABASE
            )
        except BaseException:
            self._pid = self._pid or (_read_pid(self._pgdata) if launched else None)
            self.stop()
            raise
        log.info(
            "PostgreSQL runs on 127.0.0.1:%d, pid %s, in %s", self.port, self._pid, self.data_dir
        )
        return self.dsn

    def stop(self) -> None:
        """Stop the server this object started: fast, then immediate, then SIGKILL. Idempotent."""
        if self._lock is None:
            return
        pid = self._pid
        for step in ("fast", "immediate", "kill"):
            if pid is None or not _alive(pid):
                break
            if step != "kill":
                self._pg_ctl("stop", "-m", step, "-w", "-t", "30", check=False)
            else:
                log.warning("PostgreSQL (pid %d) did not stop; killing it", pid)
                for kill in (os.killpg, os.kill):  # the postmaster leads its own process group
                    with suppress(ProcessLookupError):
                        kill(pid, signal.SIGKILL)
            _wait_gone(pid, seconds=10)
        if self._temp_socket_dir is not None:
            shutil.rmtree(self._temp_socket_dir, ignore_errors=True)
            self._temp_socket_dir = None
        os.close(self._lock)
        self._lock = self._pid = None
        atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare_folder(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is None:
            return
        os.chown(self.data_dir, self._user.pw_uid, self._user.pw_gid)
        if self._run("test", "-w", str(self.data_dir), check=False).returncode == 0:
            return
        steps = [*reversed(self.data_dir.parents), self.data_dir]
        blocked = next((p for p in steps if not self._can_search(p)), self.data_dir)
        raise RuntimeError(
            f"PostgreSQL runs as the OS user {OS_USER!r}, which cannot reach {self.data_dir}: "
            f"{blocked} is not searchable by it. Run `chmod o+x {blocked}`, keep the data "
            "elsewhere, or set FYNLO_DATABASE_URL to an existing database."
        )

    def _can_search(self, folder: Path) -> bool:
        return self._run("test", "-x", str(folder), check=False).returncode == 0

    def _refuse_if_running(self) -> None:
        if self._pg_ctl("status", check=False).returncode == 0:
            raise RuntimeError(
                f"PostgreSQL already runs in {self._pgdata} (pid {_read_pid(self._pgdata)}), "
                f"started outside Fynlo. Stop it with `pg_ctl stop -D {self._pgdata}`."
            )

    def _choose_port(self) -> int:
        if self._requested_port is not None:
            return self._requested_port
        with suppress(OSError, ValueError):
            remembered = int((self.data_dir / "port").read_text())
            if _port_is_free(remembered):
                return remembered
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            return port

    def _socket_dir(self) -> Path:
        if len(os.fsencode(self.data_dir / ".s.PGSQL.65535")) < SOCKET_PATH_MAX:
            return self.data_dir
        self._temp_socket_dir = Path(tempfile.mkdtemp(prefix="fynlo-pg-", dir="/tmp"))
        if self._user is not None:
            os.chown(self._temp_socket_dir, self._user.pw_uid, self._user.pw_gid)
        return self._temp_socket_dir

    def _bin(self, name: str) -> str:
        return str(self.bindir / name)

    def _pg_ctl(
        self, action: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self._run(self._bin("pg_ctl"), action, "-D", str(self._pgdata), *args, check=check)

    def _run(
        self, *argv: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a program as the PostgreSQL OS user, without the caller's ``PG*`` settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        user = self._user
        if user is not None:
            env["HOME"] = str(self.data_dir)
        done = subprocess.run(
            argv,
            check=False,
            input=stdin,
            capture_output=True,
            text=True,
            cwd="/",
            env=env,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
        if check and done.returncode != 0:
            program = Path(argv[0]).name
            command = program if argv[1].startswith("-") else f"{program} {argv[1]}"
            raise RuntimeError(
                f"{command} failed with exit code {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()}"
                + (self._log_tail() if program == "pg_ctl" else "")
            )
        return done

    def _log_tail(self, lines: int = 10) -> str:
        server_log = self.data_dir / "server.log"
        if not server_log.exists():
            return ""
        tail = server_log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join([f"\nLast lines of {server_log}:", *tail])


def _has_initdb(bindir: Path) -> bool:
    return os.access(bindir / "initdb", os.X_OK)


def _os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        log.info("Creating the system user %r to run PostgreSQL", OS_USER)
        useradd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run([*useradd, OS_USER], check=True, capture_output=True)
        return pwd.getpwnam(OS_USER)


def _take_lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RuntimeError(
            f"PostgreSQL in {path.parent} is already run by another process (another `make run`?)."
            " Stop that one first, or use another data folder."
        ) from None
    return fd


def _read_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # PostgreSQL binds with SO_REUSEADDR too, so a port in TIME_WAIT still counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _alive(pid: int) -> bool:
    """Tell whether ``pid`` runs; a zombie waiting to be reaped counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return True


def _wait_gone(pid: int, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def running_dsn(data_dir: Path) -> str | None:
    """The DSN of the cluster a ``fynlo dev`` in another process runs in ``data_dir``, if any."""
    pid = _read_pid(data_dir / "pgdata")
    try:
        port = int((data_dir / "port").read_text())
    except (OSError, ValueError):
        return None
    if pid is None or not _alive(pid):
        return None
    return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"
