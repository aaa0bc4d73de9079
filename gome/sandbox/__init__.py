"""Sandboxed execution of untrusted, LLM-written code (see :mod:`gome.sandbox.process`)."""

from gome.sandbox.isolation import isolation_layers
from gome.sandbox.process import SandboxLimits, SandboxResult, run_sandboxed

__all__ = ["SandboxLimits", "SandboxResult", "isolation_layers", "run_sandboxed"]
