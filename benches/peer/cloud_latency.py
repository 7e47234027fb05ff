"""The object-store latency benchmark (benches/cloud_latency.sh): brickwork against dask +
zarr-python (obstore), reading and writing an S3 bucket (moto) through a proxy that adds
DELAY ms to every request (tests/python/object_server.py), in one run.

    python cloud_latency.py BRICKWORK OUT_DIR N CHUNK THREADS DELAY_MS REPEAT [WORKLOADS]

WORKLOADS: a comma-separated list of LAYOUT:OP (default: all four, chunks:sum,
shards:sum, chunks:add_t, chunks:rechunk).

For each layout (chunks of CHUNK x CHUNK float64; and shards of 4 CHUNK x 4 CHUNK with
inner chunks of CHUNK/2 x CHUNK/4) and each workload (x.sum(); x + x.T written to another
prefix; a rechunk to (N, 128) written), runs each engine REPEAT times with the same
threads and reports the median seconds, dask / brickwork, the requests the proxy saw, the
bytes moved, the peak RSS (/usr/bin/time) and the proxy bandwidth used. brickwork runs
with --memory-limit 256MiB. Sums are checked against each other (and against NumPy on
the array brickwork reads back, once). Writes raw.txt and summary.md into OUT_DIR.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "tests/python/object_server.py"
DASK = Path(__file__).with_name("cloud_dask.py")


class Server:
    def __init__(self, *args):
        self.p = subprocess.Popen(
            [sys.executable, str(SERVER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.p.stdout.readline()
        self.port = int(line.split()[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stats(self):
        self.p.stdin.write("STATS\n")
        self.p.stdin.flush()
        counts = json.loads(self.p.stdout.readline())
        self.p.stdin.write("RESET\n")
        self.p.stdin.flush()
        self.p.stdout.readline()
        return counts

    def stop(self):
        self.p.stdin.close()
        self.p.wait()


def timed(cmd, env=None):
    """(seconds, peak RSS in MiB, stdout) of one command."""
    start = time.perf_counter()
    r = subprocess.run(
        ["/usr/bin/time", "-f", "RSS_KB=%M", *cmd],
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{cmd}: {r.stderr[-2000:]}")
    rss = int(r.stderr.strip().splitlines()[-1].split("=")[1]) / 1024
    inner = [l for l in r.stdout.splitlines() if l.startswith("seconds=")]
    if inner:
        seconds = float(inner[-1].split("=")[1])
    return seconds, rss, r.stdout


def main():
    bw, out, n, chunk, threads, delay, repeat = sys.argv[1:8]
    all_workloads = [("chunks", "sum"), ("shards", "sum"), ("chunks", "add_t"), ("chunks", "rechunk")]
    if len(sys.argv) > 8 and sys.argv[8]:
        workloads = [tuple(w.split(":", 1)) for w in sys.argv[8].split(",")]
        unknown = [w for w in workloads if w not in all_workloads]
        if unknown:
            sys.exit(f"unknown workloads {unknown}: choose from {all_workloads}")
    else:
        workloads = all_workloads
    n, chunk, threads, repeat = int(n), int(chunk), int(threads), int(repeat)
    out = Path(out)
    s3 = Server("s3", "bench")
    proxy = Server("proxy", str(s3.port), f"delay:{delay}")
    options = [
        "--storage-option", "access_key_id=testing",
        "--storage-option", "secret_access_key=testing",
        "--storage-option", "region=us-east-1",
    ]
    direct = ["--storage-option", f"endpoint={s3.endpoint}", *options]
    slow = ["--storage-option", f"endpoint={proxy.endpoint}", *options]
    layouts = {
        "chunks": ["--chunks", f"{chunk},{chunk}"],
        "shards": ["--chunks", f"{chunk // 2},{chunk // 4}", "--shards", f"{4 * chunk},{4 * chunk}"],
    }
    program = f"random(({n}, {n}), chunks=({chunk}, {chunk}), seed=1)"
    for name, layout in layouts.items():
        if not any(w[0] == name for w in workloads):
            continue
        subprocess.run(
            [bw, "eval", program, "--output", f"s3://bench/{name}.zarr", "-q", "--codec", "none",
             *layout, *direct],
            check=True,
        )
    raw = open(out / "raw.txt", "w")
    rows = []
    for layout, op in workloads:
        src = f"{layout}.zarr"
        results = {}
        for engine in ("brickwork", "dask"):
            runs = []
            for i in range(repeat):
                dst = f"out-{engine}-{op}-{i}.zarr"
                if engine == "brickwork":
                    common = ["--threads", str(threads), "--memory-limit", "256MiB", "-q", *slow]
                    if op == "sum":
                        cmd = [bw, "eval", "-i", f"x=s3://bench/{src}", "x.sum()", *common]
                    elif op == "add_t":
                        cmd = [bw, "eval", "-i", f"x=s3://bench/{src}", "x + x.T", "--output",
                               f"s3://bench/{dst}", "--codec", "none", *common]
                    else:
                        cmd = [bw, "rechunk", f"s3://bench/{src}", f"s3://bench/{dst}",
                               "--chunks", f"{n},128", "--codec", "none", *common]
                else:
                    cmd = [sys.executable, str(DASK), op, proxy.endpoint, "bench", src, dst,
                           str(threads)]
                proxy.stats()
                seconds, rss, stdout = timed(cmd)
                counts = proxy.stats()
                print(f"{layout} {op} {engine} run={i} seconds={seconds:.3f} rss_mib={rss:.0f} "
                      f"requests={json.dumps(counts)} out={stdout.strip()!r}", file=raw, flush=True)
                runs.append((seconds, rss, counts, stdout))
            results[engine] = runs
        med = {e: statistics.median(r[0] for r in runs) for e, runs in results.items()}
        rss = {e: max(r[1] for r in runs) for e, runs in results.items()}
        reqs = {e: runs[0][2] for e, runs in results.items()}
        rows.append((layout, op, med, rss, reqs))
    nbytes = n * n * 8
    with open(out / "summary.md", "w") as f:
        f.write(f"array {n}x{n} float64 ({nbytes / 2**20:.0f} MiB), chunks {chunk}x{chunk}, "
                f"{threads} threads, +{delay} ms per request, median of {repeat}\n\n")
        f.write("| layout | workload | brickwork s | dask s | dask / brickwork | requests bw / dask "
                "| max in flight bw / dask | peak RSS MiB bw / dask | MiB/s bw / dask |\n")
        f.write("|---|---|---|---|---|---|---|---|---|\n")
        for layout, op, med, rss, reqs in rows:
            total = {e: sum(v for k, v in reqs[e].items() if k.isupper()) for e in reqs}
            moved = nbytes * (1 if op == "sum" else 2)
            f.write(
                f"| {layout} | {op} | {med['brickwork']:.2f} | {med['dask']:.2f} | "
                f"{med['dask'] / med['brickwork']:.2f} | {total['brickwork']} / {total['dask']} | "
                f"{reqs['brickwork'].get('max_in_flight', 0)} / {reqs['dask'].get('max_in_flight', 0)} | "
                f"{rss['brickwork']:.0f} / {rss['dask']:.0f} | "
                f"{moved / 2**20 / med['brickwork']:.0f} / {moved / 2**20 / med['dask']:.0f} |\n"
            )
    proxy.stop()
    s3.stop()
    print((out / "summary.md").read_text())


if __name__ == "__main__":
    main()
