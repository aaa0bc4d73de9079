"""Model access: endpoint configuration, a scripted fake for tests, structured output with repair, and
the embedded local model (`gome.llm.embedded`, `gome.llm.local_server`, imported on demand)."""

from gome.llm.client import ModelConfig, RealModelBlocked, StructuredMode, check_endpoint, make_client
from gome.llm.scripted import ScriptedChatCompletionClient, Transcript
from gome.llm.structured import StructuredOutputError, ask_code, ask_structured, extract_code, parse_json_model

__all__ = [
    "ModelConfig",
    "StructuredMode",
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
