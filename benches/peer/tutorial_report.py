#!/usr/bin/env python3
"""summary.md of benches/tutorial_vs_dask.sh.

    tutorial_report.py RUN_DIR

Reads RUN_DIR/{raw.csv,processes.csv,checks.csv,meta.env} (see the script), writes
RUN_DIR/summary.md and prints its main table. In-process times are medians over the runs of
the K-run processes of all rounds; the process wall is the median over rounds of the
one-run processes; peak RSS is the maximum over the K-run processes.
"""

from __future__ import annotations

import csv
import importlib
import os
import statistics
import sys


def ver(module: str) -> str:
    try:
        return importlib.import_module(module).__version__
    except Exception:
        return "missing"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "–"
    r = a / b
    return f"{r:.1f}x faster" if r >= 1 else f"{r:.2f}x (slower)"


def main() -> int:
    run_dir = sys.argv[1]
    read = lambda name: list(csv.DictReader(open(os.path.join(run_dir, name))))
    raw, procs, checks = read("raw.csv"), read("processes.csv"), read("checks.csv")
    meta = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(run_dir, "meta.env")) if "=" in line)

    configs = []
    for r in raw:
        key = (int(r["n"]), int(r["chunk"]))
        if key not in configs:
            configs.append(key)

    def runs(engine, key, kind="repeat"):
        return [r for r in raw if r["engine"] == engine and (int(r["n"]), int(r["chunk"])) == key
                and r["kind"] == kind]

    def processes(engine, key, kind):
        return [p for p in procs if p["engine"] == engine and (int(p["n"]), int(p["chunk"])) == key
                and p["kind"] == kind]

    def median(values):
        values = [float(v) for v in values if v not in ("", None)]
        return statistics.median(values) if values else None

    fmt = lambda v, d=4: "–" if v is None else f"{v:.{d}f}"
    lines = [
        "| n, chunks | brickwork in-process s | dask in-process s | in-process ratio | dask compute() s "
        "| brickwork process wall s | dask process wall s | wall ratio | brickwork peak RSS MB | dask peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in configs:
        bw, dk = runs("brickwork", key), runs("dask", key)
        bw_t, dk_t = median(r["seconds"] for r in bw), median(r["seconds"] for r in dk)
        dk_c = median(r["compute_only_seconds"] for r in dk)
        bw_w = median(p["wall_seconds"] for p in processes("brickwork", key, "one-run"))
        dk_w = median(p["wall_seconds"] for p in processes("dask", key, "one-run"))
        bw_rss = max(float(p["peak_rss_mb"]) for p in processes("brickwork", key, "repeat"))
        dk_rss = max(float(p["peak_rss_mb"]) for p in processes("dask", key, "repeat"))
        lines.append(f"| {key[0]}, {key[1]} | {fmt(bw_t)} | {fmt(dk_t)} | {ratio(dk_t, bw_t)} | {fmt(dk_c)} "
                     f"| {fmt(bw_w, 3)} | {fmt(dk_w, 3)} | {ratio(dk_w, bw_w)} | {bw_rss:.1f} | {dk_rss:.1f} |")
    table = "\n".join(lines)

    bad = [c for c in checks if c["ok"] != "ok"]
    threads = raw[0]["threads"] if raw else meta.get("threads", "?")
    out = [
        "# brickwork vs dask.array: tutorial workload\n",
        "`x = random((n, n), chunks=(c, c)); v = (x + x.T)[::2, n//2:].mean(axis=1); v.compute()`, "
        f"threads scheduler, {threads} threads.\n",
        "- *in-process*: each run's own timer around building the graph and computing it, median "
        f"of {meta['repeat']} runs per process x {meta['rounds']} round(s);\n"
        "- *dask compute()*: the compute call alone, same runs;\n"
        "- *process wall*: wall time of a fresh process doing one run (start, imports, one "
        f"run, exit), measured around it, median of {meta['rounds']} round(s);\n"
        "- *peak RSS*: of the process doing the timed runs (max over rounds).\n",
        table + "\n",
        "## Correctness\n",
        f"{len(checks)} checks, {len(bad)} mismatches. dask's random numbers differ from "
        "brickwork's, so each tool is checked against NumPy on its own x: every run's length "
        "(ceil(n/2)) and the mean of all of v (within 8 sigma of 1.0); brickwork: the same first "
        "values and mean in every run, and its first 5 values equal to NumPy's (relative 1e-12) "
        "computed from the elements of brickwork's x they depend on, written by the brickwork "
        "CLI; dask: its first 5 values equal to NumPy's (relative 1e-12) computed in the dask "
        "process from the same x, after the timing, in every run of the K-run processes. Once "
        f"per config at n = {meta['check_n']} (chunks scaled alike): all of v, brickwork's "
        "length, first values and mean against NumPy's v from all of its x, dask's every "
        "element against NumPy's. Raw: checks.csv.\n",
    ]
    for c in bad:
        out.append(f"- MISMATCH {c['engine']} n={c['n']} chunk={c['chunk']} round={c['round']} "
                   f"process={c['kind']} run={c['run']}: "
                   f"{c['check']} {c['value']} ({c['tolerance']}) {c['detail']}\n")
    out += [
        "## Machine and versions\n",
        "| | |\n|---|---|",
        f"| date | {meta['date']} |",
        f"| host | {meta['host']} |",
        f"| cpu | {meta['cpu']} (family/model {meta['cpu_family_model']}), {meta['cores']} vCPUs, "
        f"hypervisor {meta['hypervisor'] or 'none reported'} |",
        f"| memory | {int(meta['mem_total']) / 1e9:.1f} GB |",
        f"| kernel | {meta['kernel']} |",
        f"| brickwork | {meta['brickwork']} |",
        f"| python peers | python {sys.version.split()[0]}, dask {ver('dask')}, numpy {ver('numpy')} |",
        f"| peak RSS via | {meta['rss_via']} |",
        f"| command | `{meta['command']}` |",
        "\nRaw: raw.csv (one row per run; kind repeat = K-run process, one-run = fresh process), "
        "processes.csv (one row per process: wall time, summed in-process time, peak RSS).\n",
    ]
    with open(os.path.join(run_dir, "summary.md"), "w") as f:
        f.write("\n".join(out))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
