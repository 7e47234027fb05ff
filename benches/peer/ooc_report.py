#!/usr/bin/env python3
"""summary.md for benches/out_of_core.sh.

    ooc_report.py RAW_CSV CHECKS_CSV META_ENV SUMMARY_MD

RAW_CSV: tool,workload,seconds,max_rss_bytes,bytes_written,status,note,run,compute_seconds,
workdir_bytes,execute_seconds,cpu_seconds,check (one row per run; seconds is the wall time of
the process, compute_seconds the in-process time); CHECKS_CSV from ooc_check.py (one row per
checked result); META_ENV: key=value lines written by the script. Times are medians over the
runs of a (tool, workload), peak RSS the maximum; a (tool, workload) whose runs did not all
succeed is shown with the first failure's status and note. Prints the overview table on stdout.
"""

from __future__ import annotations

import csv
import importlib
import statistics
import sys

TOOLS = ("brickwork", "dask", "cubed", "brickwork-buffered")
WORKLOADS = {
    "sum": ("x.sum()", "full sum, scalar"),
    "mean0": ("x.mean(axis=0)", "column means, vector of N"),
    "std0": ("x.std(axis=0)", "column standard deviations, vector of N"),
    "demean": ("x - x.mean(axis=0)", "written to Zarr"),
    "xpxt": ("x + x.T", "square chunks, written to Zarr"),
    "rpxt": ("r + r.T", "row chunks, written to Zarr"),
    "rechunk": ("rechunk r to (N, R)", "rows to columns, written to Zarr"),
}
STREAMING = ("sum", "mean0", "std0")


def fmt_bytes(b: float | None) -> str:
    if b is None:
        return "–"
    b = float(b)
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(b) >= scale:
            return f"{b / scale:.2f} {unit}"
    return f"{b:.0f} B"


def fmt_s(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s:.2f}" if s >= 0.995 else f"{s:.3f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "–"
    return f"{a / b:.2f}x"


def ver(m: str) -> str:
    try:
        return importlib.import_module(m).__version__
    except Exception:
        return "missing"


def check_line(w: str, tools: list[str], checks: list[dict], rows: list[dict]) -> str:
    """One sentence per workload: how many runs of each tool matched NumPy, the worst value."""
    parts = []
    for t in tools:
        cw = [c for c in checks if c["workload"] == w and c["tool"] == t]
        runs = [r for r in rows if r["workload"] == w and r["tool"] == t]
        if not runs:
            continue
        if not cw:
            parts.append(f"{t}: not checked (no successful run)")
            continue
        ok = sum(c["ok"] == "ok" for c in cw)
        worst = max(cw, key=lambda c: float(c["value"]) if c["value"] not in ("nan", "") else float("inf"))
        parts.append(f"{t}: {ok} of {len(runs)} run(s) match NumPy (worst {worst['metric']} "
                     f"{worst['value']})")
    tol = checks[0]["tolerance"] if checks else ""
    tol = next((c["tolerance"] for c in checks if c["workload"] == w), tol)
    return f"Checks against NumPy ({tol}): " + "; ".join(parts) + "."


def main() -> int:
    raw_path, checks_path, meta_path, out_path = sys.argv[1:5]
    rows = list(csv.DictReader(open(raw_path)))
    checks = list(csv.DictReader(open(checks_path)))
    meta = {}
    for line in open(meta_path):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            meta[k] = v
    n = int(meta["n"])
    x_bytes = float(meta["x_bytes"])
    bw_warm = float(meta["bw_warm"]) if meta.get("bw_warm") else None
    bw_cold = float(meta["bw_cold"]) if meta.get("bw_cold") else None

    workloads = [w for w in WORKLOADS if any(r["workload"] == w for r in rows)]
    tools = [t for t in TOOLS if any(r["tool"] == t for r in rows)]

    def agg(tool: str, w: str) -> dict | None:
        sel = [r for r in rows if r["tool"] == tool and r["workload"] == w]
        if not sel:
            return None
        bad = [r for r in sel if r["status"] != "ok"]
        num = lambda k: [float(r[k]) for r in sel if r[k] not in ("", None)]
        comp = num("compute_seconds")
        execute = num("execute_seconds") if "execute_seconds" in sel[0] else []
        cpu = num("cpu_seconds") if "cpu_seconds" in sel[0] else []
        wd = num("workdir_bytes")
        first_note = next((r["note"] for r in sel if r["note"]), "")
        return {
            "runs": len(sel),
            "status": bad[0]["status"] if bad else "ok",
            "note": bad[0]["note"] if bad else first_note,
            "seconds": None if bad else statistics.median(float(r["seconds"]) for r in sel),
            "compute": None if bad or not comp else statistics.median(comp),
            "execute": None if bad or not execute else statistics.median(execute),
            "cpu": None if bad or not cpu else statistics.median(cpu),
            "rss": max(float(r["max_rss_bytes"]) for r in sel),
            # Sampled from /proc over the process tree (benches/peer/rss_sample.py); absent in
            # runs before 2026-12-07.
            "anon": max(num("rss_anon_bytes")) if sel[0].get("rss_anon_bytes") is not None and num("rss_anon_bytes") else None,
            "file": max(num("rss_file_bytes")) if sel[0].get("rss_file_bytes") is not None and num("rss_file_bytes") else None,
            "total": max(num("rss_total_bytes")) if sel[0].get("rss_total_bytes") is not None and num("rss_total_bytes") else None,
            "written": max(float(r["bytes_written"]) for r in sel) if not bad else
                       (max(float(r["bytes_written"]) for r in sel) or None),
            "workdir": max(wd) if wd else None,
            "failed_seconds": statistics.median(float(r["seconds"]) for r in bad) if bad else None,
        }

    out = []
    p = out.append
    p("# Out-of-core benchmark: brickwork vs dask.array vs Cubed\n")
    p(f"float64 {n} x {n} input ({fmt_bytes(x_bytes)}), uncompressed Zarr v3: `x` with chunks "
      f"({meta['chunk']}, {meta['chunk']}), `r` the same data with chunks ({meta['row_chunk']}, {n}). "
      f"{meta['threads']} threads per tool; brickwork `--memory-limit {meta['memory_limit']}`, "
      f"Cubed `allowed_mem` = {int(meta['memory_limit_bytes'])} bytes (per task), dask threads "
      f"scheduler (no limit); brickwork-buffered (when run) is brickwork with "
      f"BRICKWORK_NO_DIRECT_IO=1. *Wall* is the wall-clock time of the whole process (startup, "
      f"imports, opening the inputs, planning, I/O), median of {meta['repeat']} run(s); "
      f"*in-process* is the tool's own timer, inputs already opened (brickwork `--stats` "
      f"seconds: parse, graph, plan, compute, write/print; dask/Cubed: graph construction + "
      f"compute/store); *compute call* is the compute alone (brickwork `execute_seconds`, "
      f"dask/Cubed `compute()`/`to_zarr()`); *CPU* is user + system time of the process. "
      f"Peak RSS is the process's maximum resident set ({meta['rss_via']}); *sampled anon + "
      f"file* are the peaks of the process tree's RssAnon and RssFile (and of their sum) read "
      f"from /proc every 20 ms, what a cgroup charges, mapped chunk pages included. Page cache: "
      f"{'inputs read once with cat before each run (warm)' if meta['cache'] == 'warm' else 'dropped before each run (cold)'}.\n")

    bw_line = f"Sequential read bandwidth of `x` (cat of its {meta['x_chunk_files']} chunk files, one stream): "
    parts = []
    if bw_warm:
        parts.append(f"warm page cache {fmt_bytes(bw_warm)}/s")
    if bw_cold:
        parts.append(f"cold (page cache dropped) {fmt_bytes(bw_cold)}/s")
    else:
        parts.append("cold not measured (could not drop the page cache)")
    p(bw_line + "; ".join(parts) + ".\n")

    # Overview.
    p("## Overview\n")
    hdr = ["workload"]
    for t in tools:
        hdr.append(f"{t} wall s (in-process s)")
    for t in tools:
        if t != "brickwork" and "brickwork" in tools:
            hdr.append(f"{t}/brickwork")
    for t in tools:
        hdr.append(f"{t} peak RSS")
    lines = ["| " + " | ".join(hdr) + " |", "|---|" + "---:|" * (len(hdr) - 1)]
    for w in workloads:
        a = {t: agg(t, w) for t in tools}
        cells = [f"{w}: `{WORKLOADS[w][0]}`"]
        for t in tools:
            r = a[t]
            cells.append("–" if r is None else (f"{fmt_s(r['seconds'])} ({fmt_s(r['compute'])})"
                                                if r["status"] == "ok" else r["status"]))
        for t in tools:
            if t != "brickwork" and "brickwork" in tools:
                ta, tb = a[t], a["brickwork"]
                cells.append(f"{ratio(ta and ta['seconds'], tb and tb['seconds'])} "
                             f"({ratio(ta and ta['compute'], tb and tb['compute'])})")
        for t in tools:
            r = a[t]
            cells.append("–" if r is None or not r["rss"] else fmt_bytes(r["rss"]))
        lines.append("| " + " | ".join(cells) + " |")
    overview = "\n".join(lines)
    p(overview + "\n")
    p("Ratios are tool / brickwork, of wall times and (in parentheses) of in-process times: "
      "above 1 means brickwork was faster.\n")

    # Per workload.
    p("## Per workload\n")
    for w in workloads:
        expr, what = WORKLOADS[w]
        p(f"### {w}: `{expr}` ({what})\n")
        cols = ["tool", "status", "wall s", "in-process s", "compute call s", "CPU s", "peak RSS",
                "sampled anon + file (together)", "bytes written"]
        if "cubed" in tools:
            cols.append("work_dir bytes")
        cols += ["time / brickwork", "RSS / brickwork"]
        if w in STREAMING:
            cols += ["read rate", "% of warm bw", "% of cold bw"]
        cols.append("note")
        lines = ["| " + " | ".join(cols) + " |", "|---|---|" + "---:|" * (len(cols) - 3) + "---|"]
        bwr = agg("brickwork", w) if "brickwork" in tools else None
        if bwr is not None and bwr["status"] != "ok":
            bwr = None  # no ratios against a brickwork run that failed
        for t in tools:
            r = agg(t, w)
            if r is None:
                continue
            cells = [t, r["status"], fmt_s(r["seconds"]) if r["seconds"] is not None else
                     (f"({fmt_s(r['failed_seconds'])})" if r["failed_seconds"] is not None else "–"),
                     fmt_s(r["compute"]), fmt_s(r["execute"]), fmt_s(r["cpu"]),
                     fmt_bytes(r["rss"]) if r["rss"] else "–",
                     (f"{fmt_bytes(r['anon'])} + {fmt_bytes(r['file'])} ({fmt_bytes(r['total'])})"
                      if r["total"] else "–"),
                     fmt_bytes(r["written"]) if r["written"] else "–"]
            if "cubed" in tools:
                cells.append(fmt_bytes(r["workdir"]) if t == "cubed" and r["workdir"] is not None else "–")
            if t == "brickwork":
                cells += ["1", "1"] if r["status"] == "ok" else ["–", "–"]
            else:
                cells.append(ratio(r["seconds"], bwr and bwr["seconds"]))
                cells.append(ratio(r["rss"] if r["status"] == "ok" else None, bwr and bwr["rss"]))
            if w in STREAMING:
                rate = x_bytes / r["seconds"] if r["seconds"] else None
                cells.append(f"{fmt_bytes(rate)}/s" if rate else "–")
                cells.append(f"{100 * rate / bw_warm:.0f}%" if rate and bw_warm else "–")
                cells.append(f"{100 * rate / bw_cold:.0f}%" if rate and bw_cold else "–")
            note = r["note"].replace("|", "\\|")
            if r["status"] == "refused":
                note = "refused: " + note
            cells.append(note)
            lines.append("| " + " | ".join(cells) + " |")
        p("\n".join(lines) + "\n")
        p(check_line(w, tools, checks, rows) + "\n")

    bad_checks = [c for c in checks if c["ok"] != "ok"]
    unchecked = [r for r in rows if r["status"] != "ok"]
    p("## Correctness\n")
    p(f"{len(checks)} results checked against NumPy, {len(bad_checks)} mismatches; "
      f"{len(unchecked)} run(s) not checked because they did not succeed. Every result of every "
      "run is compared with a reference that NumPy computes itself, streaming the input `x` "
      "band by band with zarr-python (benches/peer/ooc_check.py). Tolerances: sum, mean0, std0 "
      "relative 1e-12 (per element for vectors); demean 1e-12 x max(1, |column mean|) per "
      "element; xpxt, rpxt, rechunk exact (bitwise, every element). rpxt and rechunk read `r`; "
      "their references are computed from `x`, and `r` was checked to hold exactly the data of "
      f"`x` (inputs checked: {'yes' if meta.get('inputs_checked') == '1' else 'not needed'}). "
      f"Checking took {meta.get('check_seconds', '?')} s in all, outside the timed runs. "
      "Raw comparisons: checks.csv.\n")
    for c in bad_checks:
        p(f"- MISMATCH {c['workload']}, {c['tool']}, repeat {c['run']}: {c['metric']} "
          f"{c['value']} ({c['tolerance']}); {c['detail']}\n")

    p("## Notes\n")
    p("- *read rate* = bytes of `x` / wall seconds; *% of bw* divides it by the measured "
      "sequential read bandwidth above (warm: the page-cache bandwidth the runs actually see "
      "in warm mode; cold: the disk).\n"
      "- *bytes written*: total size of the output store's files (chunks + metadata); brickwork's temporary rechunk store and "
      "dask's in-memory shuffles are not included; Cubed's intermediates are in *work_dir bytes* "
      "(total size of the files in its work_dir after the computation, measured by the peer before Cubed deletes them at exit; after a timeout, what was left on disk).\n"
      "- Memory limits differ in meaning: brickwork's bounds the engine's accounted buffers of "
      "the whole process (and refuses plans that cannot fit); Cubed's `allowed_mem` bounds each "
      "task's projected memory (up to `threads` tasks run at once); dask's threads scheduler has "
      "no limit.\n"
      "- *CPU s* over *wall s* shows how busy the process kept the cores; for writes it includes "
      "the kernel's work of copying into the page cache (brickwork writes large chunks with "
      "O_DIRECT, brickwork-buffered and the peers through the page cache).\n"
      "- Outputs are uncompressed for all tools (brickwork `--codec none`, dask/Cubed "
      "`compressors=None`), each with its tool's natural chunks (shown as chunks=C0xC1 in the "
      "notes); Cubed's intermediates use its default Zarr codecs. Outputs are written to the "
      "page cache (brickwork: O_DIRECT for chunk objects of 1 MiB or more); `sync` runs "
      "between runs, outside the timing.\n"
      "- Status *timeout*: stopped at --timeout (the wall time in parentheses is when); "
      "*disk-limit*: stopped by the disk guard (--max-run-disk); *refused*: the tool declined "
      "the plan for memory before running; *failed*: any other error (see the note).\n")

    p("## Machine and versions\n")
    p("| | |\n|---|---|")
    p(f"| date | {meta['date']} |")
    p(f"| host | {meta['host']} |")
    p(f"| cpu | {meta['cpu']} (family/model {meta.get('cpu_family_model', '?')}), "
      f"{meta['cores']} vCPUs, hypervisor {meta.get('hypervisor') or 'none reported'} |")
    p(f"| memory | {fmt_bytes(float(meta['mem_total']))} |")
    p(f"| kernel | {meta['kernel']} |")
    p(f"| data filesystem | {meta['filesystem']} |")
    p(f"| brickwork | {meta['brickwork']}; environment: {meta.get('brickwork_env', '?')} |")
    p(f"| python peers | python {sys.version.split()[0]}, dask {ver('dask')}, cubed {ver('cubed')}, "
      f"zarr {ver('zarr')}, numpy {ver('numpy')} |")
    p(f"| settings | n={n}, chunks ({meta['chunk']}, {meta['chunk']}) and ({meta['row_chunk']}, {n}), "
      f"threads={meta['threads']}, memory limit {meta['memory_limit']}, timeout {meta['timeout']} s, "
      f"repeat {meta['repeat']}, cache {meta['cache']}, disk guard "
      f"{fmt_bytes(float(meta.get('max_run_disk_bytes') or 0))} per run |")
    p(f"| inputs | {meta['x_store']}, {meta['r_store']} |")
    p(f"| command | `{meta.get('command', '?')}` |")
    p(f"| benchmark wall time | {meta['elapsed']} s (including data creation when not cached) |")
    p("\nRaw per-run results: raw.csv (tool, workload, seconds = process wall, max_rss_bytes, "
      "bytes_written, status, note, run, compute_seconds = in-process, workdir_bytes, "
      "execute_seconds = compute call, cpu_seconds, check); correctness: checks.csv.\n")

    with open(out_path, "w") as f:
        f.write("\n".join(out))
    print(overview)
    return 0


if __name__ == "__main__":
    sys.exit(main())
