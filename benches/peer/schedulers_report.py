#!/usr/bin/env python3
"""summary.md of benches/schedulers_vs_dask.sh.

    schedulers_report.py RUN_DIR

Reads RUN_DIR/{raw.csv,processes.csv,checks.csv,meta.env} (see the script), writes
RUN_DIR/summary.md and prints its main table. Times are medians over the runs of the timed
processes of all rounds; peak RSS is the maximum over the timed processes. The ratio is dask's
median over brickwork's; the issue's target is >= 10 in every configuration. A configuration
whose timed process failed (for either tool, in any round) shows FAILED and the error.
"""

from __future__ import annotations

import csv
import importlib
import os
import statistics
import sys

TARGET = 10.0


def ver(module: str) -> str:
    try:
        return importlib.import_module(module).__version__
    except Exception:
        return "missing"


def describe(label: str) -> str:
    if label.startswith("cluster-"):
        w, t = label[len("cluster-"):].split("x")
        return f"cluster, {w} worker{'s' if w != '1' else ''} x {t} thread{'s' if t != '1' else ''}"
    if label.startswith("processes-"):
        return f"processes, {label[len('processes-'):]} workers"
    return label


def main() -> int:
    run_dir = sys.argv[1]
    read = lambda name: list(csv.DictReader(open(os.path.join(run_dir, name))))
    raw, procs, checks = read("raw.csv"), read("processes.csv"), read("checks.csv")
    meta = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(run_dir, "meta.env")) if "=" in line)

    labels = meta.get("configs", "").split()
    for p in procs:
        if p["config"] not in labels:
            labels.append(p["config"])

    def median(values):
        values = [float(v) for v in values if v not in ("", None)]
        return statistics.median(values) if values else None

    def timed(engine, label):
        return [p for p in procs if p["engine"] == engine and p["config"] == label and p["kind"] == "timed"]

    fmt = lambda v, d=4: "–" if v is None else f"{v:.{d}f}"
    lines = [
        "| configuration | brickwork s | dask s | dask compute() s | dask / brickwork | >= 10x | "
        "brickwork peak RSS MB | dask peak RSS MB |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    failed_notes, verdicts = [], []
    for label in labels:
        cells, rss, failed = {}, {}, False
        for engine in ("brickwork", "dask"):
            ps = timed(engine, label)
            bad = [p for p in ps if p["status"] != "ok"]
            runs = [r for r in raw if r["engine"] == engine and r["config"] == label]
            cells[engine] = median(r["seconds"] for r in runs)
            rss_values = [float(p["peak_rss_mb"]) for p in ps if p["peak_rss_mb"]]
            rss[engine] = fmt(max(rss_values), 1) if rss_values and not bad else "–"
            if bad or not ps:
                failed = True
                for p in bad:
                    failed_notes.append(f"- {engine} {label} round {p['round']}: FAILED ({p['error']})")
                if not ps:
                    failed_notes.append(f"- {engine} {label}: no timed process")
                cells[engine] = None
        bw, dk = cells["brickwork"], cells["dask"]
        dk_c = median(r["compute_only_seconds"] for r in raw if r["engine"] == "dask" and r["config"] == label)
        cell = lambda engine: "FAILED" if cells[engine] is None else fmt(cells[engine])
        if failed or not bw or dk is None:
            ratio, verdict = "–", "no (failed)" if failed else "–"
        else:
            r = dk / bw
            ratio, verdict = f"{r:.1f}x", "yes" if r >= TARGET else "no"
        verdicts.append(verdict)
        lines.append(f"| {describe(label)} | {cell('brickwork')} | {cell('dask')} | {fmt(dk_c)} | {ratio} "
                     f"| {verdict} | {rss['brickwork']} | {rss['dask']} |")
    table = "\n".join(lines)
    met = sum(v == "yes" for v in verdicts)

    bad_checks = [c for c in checks if c["ok"] != "ok"]
    out = [
        "# brickwork vs dask.distributed: schedulers on the tutorial workload\n",
        f"`x = random(({meta['n']}, {meta['n']}), chunks=({meta['chunk']}, {meta['chunk']})); "
        "v = (x + x.T)[::2, n//2:].mean(axis=1); v.compute()`, both tools in one run, "
        "back to back per configuration.\n",
        f"- *cluster, W workers x T threads*: brickwork `--scheduler cluster --workers W "
        f"--threads-per-worker T --memory-limit {meta['memory_limit']}`; dask one "
        f"`distributed.Client(processes=False, n_workers=W, threads_per_worker=T, "
        f"memory_limit=\"{meta['memory_limit']}\")` per process, started before the timed runs;\n"
        "- *processes, N workers*: brickwork `--scheduler processes --workers N`; dask "
        "`compute(scheduler=\"processes\", num_workers=N)`, which starts its pool of N spawned "
        "Python processes inside every compute() call;\n"
        "- *seconds*: each run's own timer around building the graph and computing it, median "
        f"of {meta['repeat']} runs per process x {meta['rounds']} round(s); *dask compute()*: the "
        "compute call alone, same runs;\n"
        "- *dask / brickwork*: ratio of the medians; *>= 10x*: the issue's target;\n"
        "- *peak RSS*: of the process doing the timed runs (max over rounds); for processes, "
        "the largest single process of its tree, not their sum.\n",
        table + "\n",
        f"Target (brickwork at least {TARGET:g}x faster than dask): met in {met} of {len(labels)} "
        "configurations.\n",
    ]
    if failed_notes:
        out += ["## Failed processes\n", "\n".join(failed_notes) + "\n"]
    out += [
        "## Correctness\n",
        f"{len(checks)} checks, {len(bad_checks)} mismatches. dask's random numbers differ from "
        "brickwork's, so each tool is checked against NumPy on its own x: every run's length "
        "(ceil(n/2)) and the mean of all of v (within 8 sigma of 1.0); brickwork: the same first "
        "values and mean in every run, round and configuration, and its first 5 values equal to "
        "NumPy's (relative 1e-12) computed from the elements of brickwork's x they depend on, "
        "written by the brickwork CLI; dask: its first 5 values equal to NumPy's (relative 1e-12) "
        "computed in the dask process from the same x, after the timing, in every run. Once per "
        f"configuration at n = {meta['check_n']} (chunks scaled alike), under that "
        "configuration: all of v, brickwork's length, first values and mean against NumPy's v "
        "from all of its x, dask's every element against NumPy's. Raw: checks.csv.\n",
    ]
    for c in bad_checks:
        out.append(f"- MISMATCH {c['engine']} n={c['n']} chunk={c['chunk']} round={c['round']} "
                   f"config={c['kind']} run={c['run']}: "
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
        f"| python peers | python {sys.version.split()[0]}, dask {ver('dask')}, distributed "
        f"{ver('distributed')}, numpy {ver('numpy')} |",
        f"| peak RSS via | {meta['rss_via']} |",
        f"| command | `{meta['command']}` |",
        "\nRaw: raw.csv (one row per timed run), processes.csv (one row per process: status, "
        "wall time, peak RSS, error; kind timed = the K-run process, full-check = the small-n "
        "check).\n",
    ]
    with open(os.path.join(run_dir, "summary.md"), "w") as f:
        f.write("\n".join(out))
    print(table)
    if failed_notes:
        print("\n".join(failed_notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
