"""Peak memory of a run at 1x and 10x ``episodes_per_family``, and the cost of fsync.

Runs ``python -m gtalign_sim.run experiment=clarification_game`` with cheap assistants
in subprocesses and reads each child's peak RSS (``ru_maxrss`` from ``os.wait4``, the
per-child form of ``resource.getrusage(RUSAGE_CHILDREN)``). Episodes stream to
``episodes.jsonl`` and the metrics are computed over the file, so the peak should stay
flat in the number of episodes (target: within 20%). Then times appending typical
episode lines with an fsync after every line, every 64 lines, and never (flush only).

    python benchmarks/run_memory.py                 # 1x = 125 episodes per family
    python benchmarks/run_memory.py --base 25       # quicker
    python benchmarks/run_memory.py --repo /path    # another source tree (for a before/after)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ASSISTANTS = "[always_da,always_aq,random]"


def peak_rss_mb(repo: Path, episodes_per_family: int, out: Path) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one run in a subprocess."""
    cmd = [
        sys.executable,
        "-m",
        "gtalign_sim.run",
        "experiment=clarification_game",
        f"assistants.names={ASSISTANTS}",
        f"episodes_per_family={episodes_per_family}",
        "plots=false",
        "progress=false",
        "print_table=false",
        f"hydra.run.dir={out}",
        "hydra/job_logging=disabled",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"run failed ({proc.returncode}): {' '.join(cmd)}")
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # Linux: KiB, macOS: bytes
    return usage.ru_maxrss / scale, time.perf_counter() - t0


def fsync_cost(directory: Path, lines: int = 2000) -> dict[str, float]:
    """Microseconds per appended line for each sync policy (typical ~2.4 KB lines)."""
    from gtalign_sim.experiments.rundir import JsonlWriter

    record = {"assistant": "always_da", "episode": 0, "payload": "x" * 2400}
    out = {}
    for label, every in (("fsync every line", 1), ("fsync every 64 lines", 64), ("flush only", 0)):
        path = directory / f"sync_{every}.jsonl"
        writer = JsonlWriter(path, sync_lines=every or 10**9, sync_seconds=1e9)
        t0 = time.perf_counter()
        for i in range(lines):
            record["episode"] = i
            writer.write(record)
        writer.close()
        out[label] = 1e6 * (time.perf_counter() - t0) / lines
        path.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=125, help="1x episodes_per_family")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        costs = fsync_cost(Path(tmp))
        for label, us in costs.items():
            print(f"{label:>22}: {us:8.1f} us/line")
        rows = {}
        for mult in (1, 10):
            n = args.base * mult
            mb, wall = peak_rss_mb(args.repo, n, Path(tmp) / f"run{mult}")
            eps = n * 4 * 3
            rows[mult] = mb
            print(f"{mult:>3}x: {eps:>6} episodes, peak RSS {mb:7.1f} MiB, {wall:6.1f} s")
        ratio = rows[10] / rows[1]
        print(f"10x / 1x peak RSS: {ratio:.3f} (target <= 1.20)")
        print(json.dumps({"fsync_us_per_line": costs, "peak_rss_mib": rows, "ratio": ratio}))


if __name__ == "__main__":
    main()
