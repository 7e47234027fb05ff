"""Loopback servers for the object-store tests (tests/cloud.rs).

    python object_server.py s3 BUCKET [BUCKET ...]     # moto's S3 server, buckets made
    python object_server.py http DIR                    # static files of DIR, with Range
    python object_server.py azure AZURITE CONTAINER ... # Azurite's blob service (npm)
    python object_server.py gcs BUCKET [BUCKET ...]     # gcp-storage-emulator (PyPI)
    python object_server.py proxy PORT [RULE ...]       # a faulty proxy in front of PORT

Binds 127.0.0.1 on a free port, prints "PORT <n>" on stdout, then serves until its
standard input closes (the test process that started it ended, however it ended), so no
server outlives its test. Every request is counted by method; "STATS" on stdin prints
them as one JSON line ({"GET": n, "HEAD": n, ...}) for the request-counting tests.
"DIGESTS BUCKET PREFIX" (s3 only) prints {key: sha256} of the objects under PREFIX, and
"COUNT BUCKET PREFIX" their number.

The GCS emulator: gcp-storage-emulator speaks Google's JSON API, while object_store's GCS
client speaks the XML API (path-style GET/HEAD/PUT/DELETE with ranges, conditional
writes and generations, S3-style listing, multipart uploads). Only the bucket creation and
the object storage of the emulator serve here; `GcsXml` below answers the XML requests
over that storage (the emulator's XML route has no listing, suffix ranges, ETags,
conditions, deletes or multipart uploads). See README, "Object stores".

The proxy's RULEs, each `KIND:ARG` (see `Proxy`): `delay:MS` (every request waits MS
milliseconds), `fail:N` (every Nth request is answered 503 SlowDown), `drop:N` (every Nth
connection is closed without an answer), `deny:TEXT` (every request whose path holds TEXT
is answered 503, always), `region:NAME` (every request is answered as S3 answers for a
bucket of region NAME reached at another region's endpoint: 301 PermanentRedirect). Requests are forwarded with their Host header unchanged, so
signatures stay valid. Its STATS also hold "max_in_flight", the most requests it had open
at once, and "fail"/"drop" counts of the faults it made.
"""

import collections
import json
import os
import sys
import threading
from http.server import ThreadingHTTPServer

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
    from http.server import SimpleHTTPRequestHandler

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

    server = Listener(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server.shutdown


class Listener(ThreadingHTTPServer):
    """A threading HTTP server whose listen queue takes the clients' bursts of connections
    (the standard library's holds 5; a refused connection costs the client a retry)."""

    request_queue_size = 128
    daemon_threads = True


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, seconds=60):
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


# Azurite's well-known development account (public, in Microsoft's documentation).
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azure_create_container(port, name):
    """Creates container NAME with a SharedKey-signed PUT (no Azure SDK needed)."""
    import base64
    import hashlib
    import hmac
    import urllib.request
    from email.utils import formatdate

    date, version, ctype = formatdate(usegmt=True), "2021-08-06", "application/octet-stream"
    to_sign = (
        "PUT\n\n\n\n\n" + ctype + "\n\n\n\n\n\n\n"
        + f"x-ms-date:{date}\nx-ms-version:{version}\n"
        + f"/{AZURE_ACCOUNT}/{AZURE_ACCOUNT}/{name}\nrestype:container"
    )
    key = base64.b64decode(AZURE_KEY)
    sig = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest())
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}/{name}?restype=container",
        method="PUT",
        data=b"",
        headers={
            "x-ms-date": date,
            "x-ms-version": version,
            "Content-Type": ctype,
            "Authorization": f"SharedKey {AZURE_ACCOUNT}:{sig.decode()}",
        },
    )
    urllib.request.urlopen(req).close()


def serve_azure(launcher, containers):
    """Azurite's blob service (in memory), a child of this process, containers made.

    Requests are not counted (Azurite runs in its own process)."""
    import subprocess

    import ctypes
    import signal

    def die_with_parent():
        # The test stops this server with SIGKILL, which leaves it no time to stop Azurite:
        # the kernel sends Azurite SIGTERM when this process ends (PR_SET_PDEATHSIG).
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))

    port = free_port()
    child = subprocess.Popen(
        [launcher, "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--inMemoryPersistence", "--silent", "--skipApiVersionCheck", "--disableTelemetry"],
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    wait_for(port)
    for c in containers:
        azure_create_container(port, c)

    def stop():
        child.terminate()
        child.wait()

    return port, stop


class GcsXml:
    """The XML API of GCS over gcp-storage-emulator's storage (see the module doc)."""

    def __init__(self, storage):
        self.storage = storage
        self.uploads = {}

    @staticmethod
    def etag(obj):
        import base64

        return '"' + base64.b64decode(obj["md5Hash"]).hex() + '"'

    def meta_headers(self, obj, size):
        from email.utils import formatdate

        return {
            "ETag": self.etag(obj),
            "x-goog-generation": obj["generation"],
            "Last-Modified": formatdate(int(obj["generation"]) / 1e9, usegmt=True),
            "Content-Length": str(size),
        }

    def get(self, bucket, name, headers, head):
        from gcp_storage_emulator.exceptions import NotFound

        try:
            obj = self.storage.get_file_obj(bucket, name)
            data = self.storage.get_file(bucket, name, show_error=False)
        except NotFound:
            return 404, {}, b"<Error><Code>NoSuchKey</Code></Error>"
        size, status, extra = len(data), 200, {}
        rng = headers.get("Range")
        if rng:
            first, _, last = rng.strip().removeprefix("bytes=").partition("-")
            if first == "":
                start, end = max(0, size - int(last)), size
            else:
                start, end = int(first), min(size, int(last) + 1) if last else size
            if start >= size and size > 0:
                return 416, {"Content-Range": f"bytes */{size}"}, b""
            data, status = data[start:end], 206
            extra["Content-Range"] = f"bytes {start}-{max(start, end - 1)}/{size}"
        out = self.meta_headers(obj, len(data))
        out.update(extra)
        return status, out, b"" if head else data

    def put_object(self, bucket, name, data, headers):
        from gcp_storage_emulator.exceptions import NotFound
        from gcp_storage_emulator.handlers import objects

        match = headers.get("x-goog-if-generation-match")
        if match is not None:
            try:
                now = self.storage.get_file_obj(bucket, name)["generation"]
            except NotFound:
                now = "0"
            if now != match:
                return 412, {}, b"<Error><Code>PreconditionFailed</Code></Error>"
        obj = objects._make_object_resource(
            "http://127.0.0.1", bucket, name, "application/octet-stream", str(len(data))
        )
        obj = objects._checksums(data, obj)
        try:
            self.storage.create_file(bucket, name, data, obj)
        except NotFound:
            return 404, {}, b"<Error><Code>NoSuchBucket</Code></Error>"
        return 200, self.meta_headers(obj, 0), b""

    def delete(self, bucket, name):
        from gcp_storage_emulator.exceptions import NotFound

        try:
            self.storage.delete_file(bucket, name)
        except NotFound:
            return 404, {}, b"<Error><Code>NoSuchKey</Code></Error>"
        return 204, {}, b""

    def list(self, bucket, query):
        from gcp_storage_emulator.exceptions import NotFound
        from xml.sax.saxutils import escape

        prefix = query.get("prefix", [""])[0]
        delimiter = query.get("delimiter", [None])[0]
        try:
            objs, prefixes = self.storage.get_file_list(bucket, prefix or None, delimiter)
        except NotFound:
            return 404, {}, b"<Error><Code>NoSuchBucket</Code></Error>"
        parts = ["<?xml version='1.0' encoding='UTF-8'?><ListBucketResult>"]
        parts.append(f"<Name>{escape(bucket)}</Name><IsTruncated>false</IsTruncated>")
        for o in objs:
            parts.append(
                f"<Contents><Key>{escape(o['name'])}</Key><Size>{o['size']}</Size>"
                f"<LastModified>{o['updated']}</LastModified>"
                f"<ETag>{escape(self.etag(o))}</ETag></Contents>"
            )
        for p in prefixes:
            parts.append(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>")
        parts.append("</ListBucketResult>")
        return 200, {"Content-Type": "application/xml"}, "".join(parts).encode()

    def multipart(self, method, bucket, name, query, raw_query, data):
        """Initiate (POST ?uploads), part (PUT), complete (POST), abort (DELETE)."""
        import hashlib
        import re
        import uuid

        if method == "POST" and "uploads" in {kv.partition("=")[0] for kv in raw_query.split("&")}:
            upload = uuid.uuid4().hex
            self.uploads[upload] = {}
            body = (
                "<?xml version='1.0' encoding='UTF-8'?><InitiateMultipartUploadResult>"
                f"<Bucket>{bucket}</Bucket><Key>{name}</Key><UploadId>{upload}</UploadId>"
                "</InitiateMultipartUploadResult>"
            )
            return 200, {"Content-Type": "application/xml"}, body.encode()
        upload = query["uploadId"][0]
        if upload not in self.uploads:
            return 404, {}, b"<Error><Code>NoSuchUpload</Code></Error>"
        if method == "PUT":
            etag = '"' + hashlib.md5(data).hexdigest() + '"'
            self.uploads[upload][int(query["partNumber"][0])] = data
            return 200, {"ETag": etag}, b""
        if method == "DELETE":
            del self.uploads[upload]
            return 204, {}, b""
        numbers = [int(n) for n in re.findall(rb"<PartNumber>(\d+)</PartNumber>", data)]
        parts = self.uploads.pop(upload)
        whole = b"".join(parts[n] for n in numbers)
        status, headers, _ = self.put_object(bucket, name, whole, {})
        headers.pop("Content-Length", None)  # the answer has a body
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><CompleteMultipartUploadResult>"
            f"<Bucket>{bucket}</Bucket><Key>{name}</Key><ETag>{headers.get('ETag', '')}</ETag>"
            "</CompleteMultipartUploadResult>"
        )
        return status, headers, body.encode()

    def handle(self, method, path, raw_query, headers, data):
        from urllib.parse import parse_qs, unquote

        query = parse_qs(raw_query)
        bucket, _, name = path.lstrip("/").partition("/")
        bucket, name = unquote(bucket), unquote(name)
        if not name:
            return self.list(bucket, query) if method == "GET" else (405, {}, b"")
        if "uploadId" in query or (method == "POST" and "uploads" in raw_query):
            return self.multipart(method, bucket, name, query, raw_query, data)
        if method in ("GET", "HEAD"):
            return self.get(bucket, name, headers, method == "HEAD")
        if method == "PUT":
            return self.put_object(bucket, name, data, headers)
        if method == "DELETE":
            return self.delete(bucket, name)
        return 405, {}, b""


def serve_gcs(buckets):
    """gcp-storage-emulator in memory, buckets made, with `GcsXml` for the XML API."""
    import logging

    from gcp_storage_emulator import server as emulator

    logging.getLogger("gcp_storage_emulator").setLevel(logging.CRITICAL)
    from gcp_storage_emulator.storage import Storage

    storage = Storage(use_memory_fs=True)
    xml = GcsXml(storage)
    lock = threading.Lock()
    json_prefixes = ("/storage/", "/upload/", "/download/", "/batch/")

    class Handler(emulator.RequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(storage, *a, **kw)

        def xml(self, method):
            count(method)
            path, _, raw_query = self.path.partition("?")
            if path.startswith(json_prefixes):
                with lock:
                    return getattr(super(), f"do_{method}")()
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            with lock:
                status, headers, body = xml.handle(method, path, raw_query, self.headers, data)
            self.send_response(status)
            headers.setdefault("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            self.xml("GET")

        def do_HEAD(self):
            self.xml("HEAD")

        def do_PUT(self):
            self.xml("PUT")

        def do_POST(self):
            self.xml("POST")

        def do_DELETE(self):
            self.xml("DELETE")

    for b in buckets:
        storage.create_bucket(b, {"name": b, "kind": "storage#bucket"})
    server = Listener(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server.shutdown


class Proxy:
    """Forwards HTTP requests to 127.0.0.1:UPSTREAM, with the faults of its rules."""

    def __init__(self, upstream, rules):
        self.upstream = upstream
        self.delay = 0.0
        self.fail = self.drop = 0
        self.deny = []
        self.region = None
        self.seen = 0
        self.in_flight = 0
        for rule in rules:
            kind, _, arg = rule.partition(":")
            if kind == "delay":
                self.delay = float(arg) / 1000
            elif kind == "fail":
                self.fail = int(arg)
            elif kind == "drop":
                self.drop = int(arg)
            elif kind == "deny":
                self.deny.append(arg)
            elif kind == "region":
                self.region = arg
            else:
                raise SystemExit(f"unknown proxy rule {rule!r}")

    def fault(self, path):
        """None, "fail" or "drop" for the next request to PATH."""
        with LOCK:
            self.seen += 1
            n = self.seen
        if self.region:
            return "region"
        if any(d in path for d in self.deny):
            return "fail"
        if self.drop and n % self.drop == 0:
            return "drop"
        if self.fail and n % self.fail == 0:
            return "fail"
        return None


def serve_proxy(upstream, rules):
    import http.client
    import time
    from http.server import BaseHTTPRequestHandler

    proxy = Proxy(int(upstream), rules)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def forward(self):
            count(self.command)
            with LOCK:
                proxy.in_flight += 1
                COUNTS["max_in_flight"] = max(COUNTS["max_in_flight"], proxy.in_flight)
            try:
                self.answer()
            finally:
                with LOCK:
                    proxy.in_flight -= 1

        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fault = proxy.fault(self.path)
            if fault:
                count(fault)
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault == "region":
                # What S3 answers for a bucket of another region reached at this one.
                msg = (
                    "<Error><Code>PermanentRedirect</Code><Message>The bucket you are "
                    "attempting to access must be addressed using the specified endpoint."
                    f"</Message><Endpoint>s3.{proxy.region}.amazonaws.com</Endpoint></Error>"
                ).encode()
                self.send_response(301)
                self.send_header("x-amz-bucket-region", proxy.region)
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
            if fault == "fail":
                msg = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                self.send_response(503)
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
            if proxy.delay:
                time.sleep(proxy.delay)
            conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

    server = Listener(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server.shutdown


def s3_client(port):
    import boto3

    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")


def object_count(port, bucket, prefix):
    """The number of objects of BUCKET under PREFIX (an S3 server on PORT)."""
    pages = s3_client(port).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(len(p.get("Contents", [])) for p in pages)


def digests(port, bucket, prefix):
    """{key: sha256} of the objects of BUCKET under PREFIX (an S3 server on PORT)."""
    import hashlib

    c = s3_client(port)
    out = {}
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            body = c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            out[o["Key"][len(prefix):]] = hashlib.sha256(body).hexdigest()
    return out


def main():
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "s3":
        port, stop = serve_s3(args)
    elif kind == "http":
        port, stop = serve_http(args[0])
    elif kind == "azure":
        port, stop = serve_azure(args[0], args[1:])
    elif kind == "gcs":
        port, stop = serve_gcs(args)
    elif kind == "proxy":
        port, stop = serve_proxy(args[0], args[1:])
    else:
        raise SystemExit(f"unknown server kind {kind!r}")
    print(f"PORT {port}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["STATS"]:
            with LOCK:
                print(json.dumps(dict(COUNTS)), flush=True)
        elif words == ["RESET"]:
            with LOCK:
                COUNTS.clear()
            print("{}", flush=True)
        elif words[:1] == ["COUNT"] and kind == "s3":
            print(object_count(port, words[1], words[2]), flush=True)
        elif words[:1] == ["DIGESTS"] and kind == "s3":
            print(json.dumps(digests(port, words[1], words[2])), flush=True)
    stop()


if __name__ == "__main__":
    main()
