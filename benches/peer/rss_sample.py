#!/usr/bin/env python3
"""Peak resident memory of a process tree, split into anonymous and file-backed pages.

Usage: rss_sample.py ROOT_PID OUT_FILE [--interval SECONDS]

Samples `RssAnon` and `RssFile` of /proc/PID/status for ROOT_PID and every descendant (the
measured command and the processes it starts: worker processes, MPI ranks; the `bash`,
`time`, `timeout` and `env` wrappers are left out) every --interval seconds (default 0.02) until
ROOT_PID exits, and writes one line to OUT_FILE:

    anon_peak_bytes file_peak_bytes total_peak_bytes samples

where each peak is of the sum over the tree at one sample (total = anon + file at the same
sample, so total_peak <= anon_peak + file_peak). `/usr/bin/time`'s maximum resident set is
the largest single process's; this is what a cgroup or a batch system charges the job,
mapped file pages included (issue 24).

The process list is refreshed every 10 samples; each sample reads only the status files of
the processes found, so the sampler costs a few percent of one core.
"""

import os
import sys
import time

WRAPPERS = {"time", "timeout", "env", "bash"}


def children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: the fields after it start after the last ')'.
        rest = stat[stat.rfind(")") + 2 :].split()
        kids.setdefault(int(rest[1]), []).append(int(name))
    return kids


def descendants(root):
    kids = children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def rss(pid):
    anon = file = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = int(line.split()[1]) * 1024
                elif line.startswith("RssFile:"):
                    file = int(line.split()[1]) * 1024
    except OSError:
        pass
    return anon, file


def main():
    args = sys.argv[1:]
    interval = 0.02
    if "--interval" in args:
        i = args.index("--interval")
        interval = float(args[i + 1])
        del args[i : i + 2]
    root, out = int(args[0]), args[1]
    anon_peak = file_peak = total_peak = samples = 0
    pids = []
    while os.path.exists(f"/proc/{root}"):
        if samples % 10 == 0 or not pids:
            pids = [p for p in [root, *descendants(root)] if comm(p) not in WRAPPERS]
        anon = file = 0
        for p in pids:
            a, f = rss(p)
            anon += a
            file += f
        anon_peak = max(anon_peak, anon)
        file_peak = max(file_peak, file)
        total_peak = max(total_peak, anon + file)
        samples += 1
        time.sleep(interval)
    with open(out, "w") as f:
        f.write(f"{anon_peak} {file_peak} {total_peak} {samples}\n")


if __name__ == "__main__":
    main()
