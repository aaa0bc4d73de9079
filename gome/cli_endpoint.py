"""Which model a command uses, announced on its first line, and the sandbox check before it starts.

The OpenAI conventions: `--model M` alone is served by `$OPENAI_BASE_URL` when it is set, else by the
OpenAI API, with the key from `$OPENAI_API_KEY` (or the variable `--api-key-env` names); `--base-url`
names another endpoint. The embedded local model starts only when no model is named, or with
`--local-size`.
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pydantic import BaseModel, ConfigDict

from gome.errors import GomeUserError
from gome.llm import ModelConfig
from gome.llm.embedded import LocalSize

__all__ = ["Endpoint", "OPENAI_API", "announce", "check_reachable", "check_sandbox", "model_arguments", "open_endpoint",
           "resolve", "sandbox_argument"]

OPENAI_API = "https://api.openai.com/v1"
BASE_URL_ENV = "OPENAI_BASE_URL"
DEFAULT_MODEL = "gpt-4o-mini"  # with --base-url and no --model
DEFAULT_LOCAL: LocalSize = "1.5b"


class Endpoint(BaseModel):
    """The resolved endpoint: a URL and model name, the embedded model (`local_size`), or none (replay)."""

    model_config = ConfigDict(frozen=True)

    base_url: str | None = None
    model: str = ""
    source: str = ""  # where base_url came from: --base-url, $OPENAI_BASE_URL, the OpenAI API
    local_size: LocalSize | None = None
    replay: Path | None = None


def model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model options of `run` and `bench`."""
    add = parser.add_argument
    add("--model", default=None, help="model name; alone it is served by $OPENAI_BASE_URL when set, else the "
        "OpenAI API (default: no model named, the embedded local model runs)")
    add("--base-url", default=None, help="another OpenAI-compatible endpoint for --model (default model "
        f"{DEFAULT_MODEL})")
    add("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    add("--structured", default="json_object", choices=["json_schema", "json_object_schema", "json_object", "none"],
        help="the strongest JSON response_format the endpoint accepts (default json_object)")
    add("--no-json-mode", action="store_true", help="same as --structured none")
    add("--stream", action="store_true", help="stream replies: the live view shows a long call's progress, and the "
        "llm_call events the prompt tokens the endpoint served from its cache (the embedded model always streams)")
    add("--stop-sequences", action="store_true", help="the endpoint takes `stop`: a Coder reply of which only the "
        "functions are used ends before the script's own code (the embedded model always does)")
    add("--max-tokens", type=int, default=4096,
        help="completion-token limit of one model reply (default 4096; small steps ask for less)")
    add("--local-size", default=None, choices=["1.5b", "0.5b"],
        help="run the embedded model: 1.5b (the default when no --model is named) or 0.5b (fast, weaker)")


def sandbox_argument(parser: argparse.ArgumentParser) -> None:
    """`--allow-root-sandbox`: the explicit opt-in to running generated code as root."""
    parser.add_argument("--allow-root-sandbox", action="store_true",
                        help="UNSAFE: as root, where generated code cannot run as nobody, run it as root "
                        "(it can then read the task's private answers); by default gome refuses")


def resolve(args: argparse.Namespace, replay: Path | None = None) -> Endpoint:
    """The endpoint the options name (see the module docstring); GomeUserError when they conflict."""
    if replay is not None:
        return Endpoint(replay=replay)
    if args.local_size and (args.model or args.base_url):
        raise GomeUserError("--local-size runs the embedded model: drop it, or drop --model/--base-url")
    if args.base_url:
        return Endpoint(base_url=args.base_url, model=args.model or DEFAULT_MODEL, source="--base-url")
    if args.model:
        env_url = os.environ.get(BASE_URL_ENV, "").strip()
        if env_url:
            return Endpoint(base_url=env_url, model=args.model, source=f"${BASE_URL_ENV}")
        if not os.environ.get(args.api_key_env):
            raise GomeUserError(f"--model {args.model} uses the OpenAI API ({OPENAI_API}), which needs a key in "
                                f"${args.api_key_env}; set it, name another variable with --api-key-env, or set "
                                f"${BASE_URL_ENV} (or --base-url) for another endpoint")
        return Endpoint(base_url=OPENAI_API, model=args.model, source=f"the OpenAI API, ${BASE_URL_ENV} unset")
    return Endpoint(local_size=args.local_size or DEFAULT_LOCAL)


_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_reachable(endpoint: Endpoint, backend: str, ray_address: str | None) -> None:
    """The embedded model listens on 127.0.0.1 of this machine: trace teams on other nodes of a Ray cluster
    could not reach it. Refuses before anything starts (a cluster on this machine alone is fine)."""
    if backend != "ray" or not ray_address or endpoint.local_size is None:
        return
    host = ray_address.removeprefix("ray://").rsplit(":", 1)[0].strip("[]")
    if host not in _LOCAL_HOSTS:
        raise GomeUserError(f"--ray-address {ray_address}: the embedded model listens on 127.0.0.1 of this machine, "
                            "where trace teams on other nodes cannot reach it; give --base-url (or $OPENAI_BASE_URL) "
                            "an OpenAI-compatible endpoint that every node can reach")


def announce(endpoint: Endpoint, api_key_env: str = "OPENAI_API_KEY") -> str:
    """The first line of a run: the endpoint and the model it uses."""
    if endpoint.replay is not None:
        return f"gome: endpoint none: model replies are replayed from {endpoint.replay}"
    if endpoint.local_size is not None:
        from gome.llm.embedded import MODELS

        alias = MODELS[endpoint.local_size].alias
        return f"gome: endpoint the embedded local model (llama.cpp server on 127.0.0.1, starting), model {alias}"
    key = f"key from ${api_key_env}" if os.environ.get(api_key_env) else f"no key (${api_key_env} unset)"
    return f"gome: endpoint {endpoint.base_url} ({endpoint.source}), model {endpoint.model}, {key}"


@contextmanager
def open_endpoint(endpoint: Endpoint, args: argparse.Namespace) -> Iterator[ModelConfig | None]:
    """The model config for the command: the named endpoint, the embedded server's, or None (replay)."""
    if endpoint.replay is not None:
        yield None
        return
    if endpoint.local_size is None:
        assert endpoint.base_url is not None
        yield ModelConfig(model=endpoint.model, base_url=endpoint.base_url, api_key_env=args.api_key_env,
                          structured="none" if args.no_json_mode else args.structured, stream=args.stream,
                          stop_sequences=args.stop_sequences)
        return
    from gome.llm.local_server import model_endpoint

    with model_endpoint(None, endpoint.local_size) as model:  # the local server stops here, also on errors
        yield model


def check_sandbox(args: argparse.Namespace) -> str:
    """Before any model starts: SandboxRefused (one line) when generated code would run as root, unless
    `--allow-root-sandbox`; then the warning line to show after the first line, else ""."""
    from gome.sandbox import ALLOW_ROOT_ENV, check_sandbox as check

    allowed = bool(getattr(args, "allow_root_sandbox", False))
    plan = check(allow_root=allowed)
    if allowed:
        os.environ[ALLOW_ROOT_ENV] = "1"  # the sandbox reads it in every execution of this process
    return f"gome: WARNING: generated code runs as ROOT (--allow-root-sandbox): {plan.reason}" if plan.reason else ""
