"""What a benchmark report says about the machine, and the CPU its processes used."""

from __future__ import annotations

import os
import platform
import subprocess
from contextlib import suppress
from pathlib import Path


def describe() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown CPU",
    )
    memory = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    cores = len(os.sched_getaffinity(0))
    return (
        f"nproc {cores} ({os.cpu_count()} online), {model}, {memory / 1024**2:.1f} GiB RAM, "
        f"Linux {platform.release()}"
    )


def postgres_version() -> str:
    from server.db.cluster import find_bindir

    done = subprocess.run(  # noqa: S603 - the PostgreSQL the cluster runs, a fixed argument
        [str(find_bindir() / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip().replace("postgres (PostgreSQL)", "PostgreSQL") or "PostgreSQL"


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User plus system CPU time of ``pid`` so far (and of its reaped children if asked)."""
    try:
        fields = stat_fields(pid)
    except OSError:
        return 0.0
    # proc(5) fields 14-17: utime, stime, cutime, cstime (after the command, 0-based from 3).
    ticks = sum(int(value) for value in fields[11 : 15 if reaped_children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(postmaster: int | None) -> float:
    """CPU time of the postmaster, its live backends and the backends it has reaped."""
    if postmaster is None:
        return 0.0
    total = cpu_seconds(postmaster, reaped_children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):  # processes come and go meanwhile
            child = int(stat.parent.name)
            if int(stat_fields(child)[1]) == postmaster:  # field 4: the parent's pid
                total += cpu_seconds(child)
    return total


def stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name (which may hold spaces), from field 3."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def env_int(name: str, default: int) -> int:
    """A positive whole number from the environment, or ``default`` when unset."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SystemExit(f"{name} must be a positive whole number, not {raw!r}")
    return value


def quick() -> bool:
    """``BENCH_QUICK=1`` (``make bench-quick``): run the smaller variant of a benchmark, which
    still records every target it measures."""
    return os.environ.get("BENCH_QUICK", "") not in ("", "0")
