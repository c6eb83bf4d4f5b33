"""A local stand-in for the ModelScope hub on 127.0.0.1, speaking the two HTTP calls the
installed `modelscope` client makes to download a model (list files, get one file, with
Range), so download jobs are tested through the real client over a real socket."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


class FakeModelScope:
    """Serves `repos` ({model_id: folder}); `delay` slows each 64 KiB chunk (to cancel midway)."""

    def __init__(self, repos: dict[str, Path], delay: float = 0.0) -> None:
        self.repos = repos
        self.delay = delay
        self.requests: list[str] = []
        self.resumed_at: list[int] = []  # Range starts > 0: a partial file continued
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:  # keep test output quiet
                return None

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append(self.path)
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "FakeModelScope":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _send_json(self, h: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        try:
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up on this call
            return

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = unquote(url.path).split("/")  # ['', 'api', 'v1', 'models', owner, name, 'repo', ('files')]
        if len(parts) < 7 or parts[1:4] != ["api", "v1", "models"] or parts[6] != "repo":
            return self._send_json(h, 404, {"Code": 10010205001, "Message": "not found", "Success": False})
        folder = self.repos.get(f"{parts[4]}/{parts[5]}")
        if folder is None:
            return self._send_json(h, 404, {"Code": 10010205001, "Message": "model not exists", "Success": False})
        if len(parts) > 7 and parts[7] == "files":
            files = [
                {"Name": p.name, "Path": p.relative_to(folder).as_posix(), "Type": "blob", "Size": p.stat().st_size,
                 "Sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "Revision": "master"}
                for p in sorted(folder.rglob("*")) if p.is_file()
            ]
            return self._send_json(h, 200, {"Code": 200, "Data": {"Files": files}, "Success": True})
        target = folder / query.get("FilePath", "")
        if not target.is_file() or folder.resolve() not in target.resolve().parents:
            return self._send_json(h, 404, {"Code": 10010205001, "Message": "file not exists", "Success": False})
        data = target.read_bytes()
        start = 0
        if "Range" in h.headers:
            start = int(h.headers["Range"].split("=")[1].split("-")[0])
            if start:
                self.resumed_at.append(start)
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            h.send_response(200)
        h.send_header("Content-Length", str(len(data) - start))
        h.end_headers()
        try:
            for i in range(start, len(data), 65536):
                h.wfile.write(data[i:i + 65536])
                if self.delay:
                    time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):  # the client cancelled
            return
