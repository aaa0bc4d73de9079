"""What model a script builds, read from its code (never run): its estimator constructor calls, and which
of their arguments only restate the class's defaults. The attempt history shows the calls, so that the
agents see what was really tried; a no-op is explained with the defaults ("n_estimators=100 is
LGBMClassifier's default"), so that the Coder's next try changes a value that matters."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from dataclasses import dataclass

from gome.tools.hints import MODEL_PACKAGES
from gome.tools.patch import ESTIMATOR_NAME

__all__ = ["EstimatorCall", "estimator_calls", "calls_text", "other_values", "model_calls", "model_defaults", "literal"]

_MAX_CALL = 120  # characters of one call shown


@dataclass(frozen=True)
class EstimatorCall:
    name: str  # the class (its real name where the script imports it under another)
    source: str  # the call as written, shortened
    defaults: tuple[tuple[str, object], ...]  # keyword arguments whose value is the class's default


def _imports(tree: ast.AST) -> dict[str, tuple[str, str]]:
    """Local name -> (module, class name) for every `from pkg.mod import Name [as alias]` of a model package."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in MODEL_PACKAGES:
            found.update({a.asname or a.name: (node.module, a.name) for a in node.names})
    return found


@functools.cache
def model_defaults(module: str, name: str) -> dict[str, object] | None:
    """The constant keyword defaults of a model class (one that fits and predicts); None for anything else.
    A class that is not installed counts as a model when its name says so, with no defaults known."""
    try:
        cls = getattr(importlib.import_module(module), name, None)
    except ImportError:
        cls = None
    if cls is None:
        return {} if ESTIMATOR_NAME.fullmatch(name) else None
    if not (inspect.isclass(cls) and hasattr(cls, "fit") and hasattr(cls, "predict")):
        return None
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if isinstance(p.default, (int, float, str, bool, type(None)))}


def literal(node: ast.expr) -> tuple[bool, object]:
    try:
        return True, ast.literal_eval(node)
    except ValueError:
        return False, None


def model_calls(tree: ast.AST) -> list[tuple[ast.Call, str, dict[str, object]]]:
    """(call node, class name, the class's constant defaults) for every call of a model class under `tree`, in
    the order of `ast.walk` (an outer call before the calls in its arguments)."""
    imports = _imports(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imports:
            module, name = imports[node.func.id]
            defaults = model_defaults(module, name)
            if defaults is not None:
                found.append((node, name, defaults))
    return found


@functools.lru_cache(maxsize=256)
def estimator_calls(code: str) -> tuple[EstimatorCall, ...]:
    """The calls of model classes in a script (a class of sklearn, lightgbm or xgboost), in order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ()
    calls = []
    for node, name, defaults in model_calls(tree):
        same = []
        for kw in node.keywords:
            known, value = literal(kw.value)
            if kw.arg in defaults and known and type(value) is type(defaults[kw.arg]) and value == defaults[kw.arg]:
                same.append((kw.arg, value))
        source = ast.unparse(node)
        calls.append(EstimatorCall(name, source if len(source) <= _MAX_CALL else source[:_MAX_CALL] + "…)",
                                   tuple(same)))
    return tuple(calls)


def calls_text(code: str) -> str:
    """The model calls of a script on one line, or '' when it has none that can be read."""
    return "; ".join(dict.fromkeys(c.source for c in estimator_calls(code)))


def other_values(call: EstimatorCall) -> list[str]:
    """Values for the arguments that restate a default, that would change the model: an integer tripled,
    a fraction halved, a boolean flipped."""
    out = []
    for name, value in call.defaults:
        if isinstance(value, bool):
            out.append(f"{name}={not value}")
        elif isinstance(value, int) and value > 1 and "state" not in name and "seed" not in name:
            out.append(f"{name}={value * 3}")
        elif isinstance(value, float) and 0 < value <= 1:
            out.append(f"{name}={value / 2:g}")
    return out
