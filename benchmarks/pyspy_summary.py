#!/usr/bin/env python3
"""Summarise a py-spy raw profile by thread and by function: where does the time go?

    .venv/bin/pip install py-spy
    .venv/bin/py-spy record -r 2000 --threads --format raw -o /tmp/p.txt -- \\
        .venv/bin/python benchmarks/replay.py --no-feed-only
    .venv/bin/python benchmarks/pyspy_summary.py /tmp/p.txt [--thread StateKeeper] [--top 25]

py-spy samples only threads that are running (not waiting), and this drops
the samples of threads parked in `Condition.wait` (an empty pykka mailbox),
which py-spy does not always see as idle; so a thread's share is about its
CPU time (or time waiting for the GIL). Per thread: samples and share; then, for the threads
matching --thread (all by default), the functions by inclusive share (the
function or anything it called was on the stack) and by self share (it was on
top). Thread names are the pykka actor names (`StateKeeperActor-2`) or the
loop threads' (`market-data-io`).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# py-spy's idle detection misses a thread parked in a pykka mailbox (`Condition.wait`): drop those samples
IDLE_LEAVES = ("Condition.wait (threading.py)", "Event.wait (threading.py)", "select (selectors.py)",
               "EpollSelector.select (selectors.py)", "Thread.join (threading.py)")

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('func')} ({file})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("raw", type=Path)
    p.add_argument("--thread", default="", help="only threads whose name contains this")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()

    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    total = picked = 0
    for line in args.raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if frame_name(frames[-1]) in IDLE_LEAVES:
            continue
        thread = re.sub(r"^thread \(\d+\): ?", "", frames[0]) if frames[0].startswith("thread") else "?"
        thread = re.sub(r"-\d+$", "", thread) or "?"
        threads[thread] += n
        total += n
        if args.thread and args.thread not in thread:
            continue
        picked += n
        names = [frame_name(f) for f in frames[1:]]
        for name in set(names):
            inclusive[name] += n
        if names:
            self_[names[-1]] += n

    print(f"{total} samples (running threads only)\n\nby thread:")
    for name, n in threads.most_common():
        print(f"  {n / total:6.1%}  {name}")
    print(f"\n{picked} samples in threads matching {args.thread!r}\n\nby function, inclusive:")
    for name, n in inclusive.most_common(args.top):
        print(f"  {n / picked:6.1%}  {name}")
    print("\nby function, self:")
    for name, n in self_.most_common(args.top):
        print(f"  {n / picked:6.1%}  {name}")


if __name__ == "__main__":
    main()
