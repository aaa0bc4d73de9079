"""Sandboxed execution of untrusted, LLM-written code (see :mod:`gome.sandbox.process`)."""

from gome.sandbox.isolation import isolation_layers
from gome.sandbox.nobody import ALLOW_ROOT_ENV, SandboxRefused, check_sandbox
from gome.sandbox.process import SandboxLimits, SandboxResult, run_sandboxed

__all__ = ["ALLOW_ROOT_ENV", "SandboxLimits", "SandboxRefused", "SandboxResult", "check_sandbox",
           "isolation_layers", "run_sandboxed"]
