"""Loopback servers for the object-store tests (tests/cloud.rs).

    python object_server.py s3 BUCKET [BUCKET ...]   # moto's S3 server, buckets made
    python object_server.py http DIR                  # static files of DIR, with Range

Binds 127.0.0.1 on a free port, prints "PORT <n>" on stdout, then serves until its
standard input closes (the test process that started it ended, however it ended), so no
server outlives its test. Every request is counted by method; "STATS" on stdin prints
them as one JSON line ({"GET": n, "HEAD": n, ...}) for the request-counting tests.
"""

import collections
import json
import os
import sys
import threading

COUNTS = collections.Counter()
LOCK = threading.Lock()


def count(method):
    with LOCK:
        COUNTS[method] += 1


def serve_s3(buckets):
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from moto.server import ThreadedMotoServer
    import boto3
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # Count requests: wrap the WSGI app the server runs.
    app = server._server.app if hasattr(server._server, "app") else None
    if app is not None:
        inner = app

        def counting(environ, start_response):
            count(environ.get("REQUEST_METHOD", "?"))
            return inner(environ, start_response)

        server._server.app = counting
    client = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1"
    )
    for b in buckets:
        client.create_bucket(Bucket=b)
    with LOCK:
        COUNTS.clear()
    return port, server.stop


def serve_http(root):
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=root, **kw)

        def log_message(self, *a):
            pass

        def do_HEAD(self):
            count("HEAD")
            super().do_HEAD()

        def do_GET(self):
            count("GET")
            rng = self.headers.get("Range")
            path = self.translate_path(self.path)
            if not rng or not os.path.isfile(path):
                return super().do_GET()
            size = os.path.getsize(path)
            spec = rng.strip().removeprefix("bytes=")
            first, _, last = spec.partition("-")
            if first == "":
                start, end = max(0, size - int(last)), size - 1
            else:
                start = int(first)
                end = min(size - 1, int(last)) if last else size - 1
            if start >= size or start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.end_headers()
                return
            with open(path, "rb") as f:
                f.seek(start)
                body = f.read(end - start + 1)
            self.send_response(206)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server.shutdown


def main():
    kind, args = sys.argv[1], sys.argv[2:]
    port, stop = serve_s3(args) if kind == "s3" else serve_http(args[0])
    print(f"PORT {port}", flush=True)
    for line in sys.stdin:
        if line.strip() == "STATS":
            with LOCK:
                print(json.dumps(dict(COUNTS)), flush=True)
        elif line.strip() == "RESET":
            with LOCK:
                COUNTS.clear()
            print("{}", flush=True)
    stop()


if __name__ == "__main__":
    main()
