"""Resource use of a process, read from Linux's /proc (``None`` elsewhere)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` so far."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return None
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def resident_bytes(pid: int) -> int | None:
    """The resident set size of process ``pid`` now, in bytes."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def current_rss() -> int | None:
    """This process's resident set size now, in bytes."""
    statm = Path("/proc/self/statm")
    return int(statm.read_text().split()[1]) * _PAGE_SIZE if statm.exists() else None


def reset_peak_rss() -> bool:
    """Start a new peak: Linux resets ``VmHWM`` (not ``ru_maxrss``) on writing 5 to /proc/self/clear_refs."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss() -> int:
    """This process's largest resident set size since the last ``reset_peak_rss`` (else ever), in bytes."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def cpu_times() -> tuple[float, float]:
    """User and system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def open_sockets() -> int | None:
    """How many sockets this process holds open (a leak check after a session should be closed)."""
    fds = Path("/proc/self/fd")
    if not fds.exists():
        return None
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count
