"""Peak resident memory of a server process tree (for `make bench`)."""

from __future__ import annotations

from pathlib import Path


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, in MiB."""
    import psutil

    total = 0.0
    for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            status = Path(f"/proc/{p.pid}/status").read_text()
            kb = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
            )
            total += kb / 1024
        except (OSError, StopIteration, psutil.Error):
            continue
    return round(total, 1)
