"""A real OpenAI-compatible HTTP server on 127.0.0.1 whose replies come from a policy function."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Policy = Callable[[list[str]], str | tuple[int, str]]


def _handler(policy: Policy, requests: list[dict]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_POST(self) -> None:
            if not self.path.endswith("/chat/completions"):
                self.send_error(404)
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"body": body, "auth": self.headers.get("Authorization", "")})
            texts = [m["content"] if isinstance(m["content"], str) else json.dumps(m["content"]) for m in body["messages"]]
            reply = policy(texts)
            if isinstance(reply, tuple):  # (HTTP status, body): an injected failure
                status, body = reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())
                return
            payload = json.dumps({
                "id": f"chatcmpl-{len(requests)}", "object": "chat.completion", "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}],
                "usage": {"prompt_tokens": sum(len(t) for t in texts) // 4, "completion_tokens": len(reply) // 4,
                          "total_tokens": (sum(len(t) for t in texts) + len(reply)) // 4},
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def serve(policy: Policy) -> Iterator[tuple[str, list[dict]]]:
    """Yields (base_url, recorded requests) of a server running in a thread."""
    requests: list[dict] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(policy, requests))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests
    finally:
        server.shutdown()
        server.server_close()
