"""A real OpenAI-compatible HTTP server on 127.0.0.1 whose replies come from a policy function."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Policy = Callable[[list[str]], str | tuple[int, str]]
STREAM_DELAY_S = 0.002  # between streamed chunks
STALL = "\x00stall\x00"  # in a streamed reply: the server sends what comes before, then stalls for STALL_S
STALL_S = 5.0


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
            for stop in [] if isinstance(reply, tuple) else body.get("stop") or []:
                reply = reply.split(stop, 1)[0]  # as a server does: the reply ends before the first stop text
            if isinstance(reply, tuple):  # (HTTP status, body): an injected failure
                status, body = reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())
                return
            if body.get("stream"):
                self._stream(body, texts, reply, requests)
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

        def _stream(self, body: dict, texts: list[str], reply: str, requests: list[dict]) -> None:
            """Server-sent events, a few characters per chunk, then OpenAI's usage chunk when asked. Prompt
            tokens of the first message's prefix shared with the previous request count as cached (a prefix cache)."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            base = {"id": f"chatcmpl-{len(requests)}", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": body["model"]}
            reply, stalls, _ = reply.partition(STALL)
            for start in range(0, len(reply), 8):
                delta = {"index": 0, "delta": {"content": reply[start:start + 8]}, "finish_reason": None}
                self.wfile.write(f"data: {json.dumps({**base, 'choices': [delta]})}\n\n".encode())
                time.sleep(STREAM_DELAY_S)
            if stalls:
                time.sleep(STALL_S)  # the client has given up by now: the connection is dropped
                self.close_connection = True
                return
            end = {"index": 0, "delta": {}, "finish_reason": "stop"}
            self.wfile.write(f"data: {json.dumps({**base, 'choices': [end]})}\n\n".encode())
            if (body.get("stream_options") or {}).get("include_usage"):
                previous = requests[-2]["body"]["messages"][0]["content"] if len(requests) > 1 else None
                shared = next((i for i, (a, b) in enumerate(zip(previous or "", texts[0])) if a != b),
                              min(len(previous or ""), len(texts[0])))
                cached = shared // 4
                usage = {"prompt_tokens": sum(len(t) for t in texts) // 4, "completion_tokens": len(reply) // 4,
                         "total_tokens": (sum(len(t) for t in texts) + len(reply)) // 4,
                         "prompt_tokens_details": {"cached_tokens": cached}}
                self.wfile.write(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

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
