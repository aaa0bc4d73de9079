"""Model access: endpoint configuration, a scripted fake for tests, and structured output with repair."""

from gome.llm.client import ModelConfig, RealModelBlocked, check_endpoint, make_client
from gome.llm.scripted import ScriptedChatCompletionClient, Transcript
from gome.llm.structured import StructuredOutputError, ask_code, ask_structured, extract_code, parse_json_model

__all__ = [
    "ModelConfig",
    "RealModelBlocked",
    "make_client",
    "check_endpoint",
    "ScriptedChatCompletionClient",
    "Transcript",
    "StructuredOutputError",
    "ask_structured",
    "ask_code",
    "extract_code",
    "parse_json_model",
]
