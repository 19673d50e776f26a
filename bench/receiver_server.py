"""A webhook receiver process for the delivery benchmark: checks signatures, applies each
Idempotency-Key once, records arrival times. `python -m bench.receiver_server PORT SECRET OUT.json`."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARRIVALS: dict[str, float] = {}  # idempotency key -> first arrival (epoch seconds)
CODES: dict[str, str] = {}
LOCK = threading.Lock()


def main() -> None:
    port, secret, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = hmac.compare_digest(
                "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest(), self.headers.get("X-IEC-Signature", "")
            )
            if ok:
                key = self.headers.get("Idempotency-Key", "")
                with LOCK:
                    if key not in ARRIVALS:
                        ARRIVALS[key] = time.time()
                        CODES[key] = json.loads(raw).get("code", "")
            body = b"{}" if ok else b'{"error": "signature"}'
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            with LOCK:
                body = json.dumps({"count": len(ARRIVALS)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def stop(*_):
        with LOCK, open(out, "w") as f:
            json.dump({"arrivals": ARRIVALS, "codes": CODES}, f)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
