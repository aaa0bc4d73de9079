"""OpenAI-compatible endpoints through autogen-ext's client, configured from the run config.

The API key is read from the environment variable the config names; it is never written to the run
folder. Under tests (`GOME_TESTING=1`) only loopback endpoints are allowed unless
`GOME_ALLOW_REAL_MODELS=1`, so the default test run cannot spend money or reach the network.
"""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import urlparse

from autogen_core.models import ChatCompletionClient, ModelFamily, ModelInfo
from pydantic import BaseModel, ConfigDict, model_validator

from gome.errors import EndpointError, GomeUserError

__all__ = ["ModelConfig", "StructuredMode", "RealModelBlocked", "make_client", "check_endpoint"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# How an endpoint can be asked for JSON, strongest first: OpenAI's strict json_schema; a json_object
# with a schema that the server turns into a grammar (llama.cpp); plain json_object; nothing.
StructuredMode = Literal["json_schema", "json_object_schema", "json_object", "none"]


class RealModelBlocked(GomeUserError):
    """Raised when a test run would call a real, non-local model."""


class ModelConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str = "gpt-4o-mini"
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    structured: StructuredMode = "json_object"  # the strongest response_format the endpoint accepts
    max_tokens: int = 4096  # completion-token limit of one reply; roles and step sizes ask for less
    temperature: float = 0.2
    timeout_s: float = 300.0
    max_retries: int = 3  # gome's own visible retries of transient failures (gome.llm.retry)
    retry_backoff_s: float = 2.0
    stream: bool = False  # streamed replies: progress while a reply comes, cached prompt tokens (gome.llm.stream)
    seeded: bool = False  # send each request a seed from the run's seed (gome.llm.delegate.SeededClient)
    stop_sequences: bool = False  # the endpoint takes `stop` (the embedded server does; some reasoning models refuse it)

    @model_validator(mode="before")
    @classmethod
    def _legacy_json_output(cls, data: object) -> object:
        """Accepts the former `json_output: bool` (older config.yaml files and callers)."""
        if isinstance(data, dict) and "json_output" in data:
            data = dict(data)
            legacy = data.pop("json_output")
            data.setdefault("structured", "json_object" if legacy else "none")
        return data

    @property
    def json_output(self) -> bool:
        """Whether the endpoint accepts any JSON response_format."""
        return self.structured != "none"

    def redacted(self) -> dict[str, object]:
        """The config as written to config.yaml: names the key variable, never its value."""
        return self.model_dump()


def _check_allowed(base_url: str) -> None:
    host = urlparse(base_url).hostname or ""
    if os.environ.get("GOME_TESTING") == "1" and host not in _LOOPBACK:
        if os.environ.get("GOME_ALLOW_REAL_MODELS") != "1":
            raise RealModelBlocked(f"real model calls are blocked in tests ({base_url}); set GOME_ALLOW_REAL_MODELS=1")


def make_client(config: ModelConfig) -> ChatCompletionClient:
    """Builds the autogen OpenAIChatCompletionClient for an endpoint."""
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    _check_allowed(config.base_url)
    api_key = os.environ.get(config.api_key_env, "") or "not-needed"
    if config.stream:
        from gome.llm.stream import StreamingClient

        return StreamingClient(model=config.model, base_url=config.base_url, api_key=api_key,
                               max_tokens=config.max_tokens, temperature=config.temperature, timeout_s=config.timeout_s)
    info = ModelInfo(
        vision=False,
        function_calling=False,
        json_output=config.json_output,
        family=ModelFamily.UNKNOWN,
        structured_output=config.structured == "json_schema",
    )
    return OpenAIChatCompletionClient(
        model=config.model,
        base_url=config.base_url,
        api_key=api_key,
        model_info=info,
        max_tokens=config.max_tokens,
        temperature=config.temperature,
        timeout=config.timeout_s,
        max_retries=0,  # retries are gome's: bounded and recorded (RetryingClient)
    )


async def check_endpoint(client: ChatCompletionClient, config: ModelConfig) -> None:
    """One tiny request before the run, so a wrong URL, key or model name is one clear error."""
    import openai
    from autogen_core.models import UserMessage

    try:
        await client.create([UserMessage(content="Reply with OK.", source="user")], extra_create_args={"max_tokens": 2})
    except openai.AuthenticationError as exc:
        raise EndpointError(f"{config.base_url}: the API key in ${config.api_key_env} was rejected ({exc.status_code})") from exc
    except openai.NotFoundError as exc:
        raise EndpointError(f"{config.base_url}: model {config.model!r} or its route was not found") from exc
    except openai.APIConnectionError as exc:
        raise EndpointError(f"{config.base_url}: cannot connect to the model endpoint ({exc.__cause__ or exc})") from exc
    except openai.APIStatusError as exc:
        raise EndpointError(f"{config.base_url}: the endpoint answered HTTP {exc.status_code}: {exc.message}") from exc
