"""Hints the harness adds to a crash report for the Coder: facts it can check that a small model
often gets wrong, such as where an importable name really lives."""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import inspect
import pkgutil
import re

__all__ = ["crash_hint", "find_module_of", "fix_imports", "add_missing_imports", "model_import", "MODEL_PACKAGES"]

_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_NOT_IN_AXIS = re.compile(r"KeyError: \"\[(.+?)\] not found in axis\"")
_UNEXPECTED_ARGUMENT = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
_PACKAGES = ("sklearn", "pandas", "numpy", "scipy", "lightgbm", "xgboost", "torch")
MODEL_PACKAGES = ("sklearn", "lightgbm", "xgboost")  # where a model class named in code or an error is looked up


@functools.cache
def _public_modules(package: str) -> tuple[str, ...]:
    try:
        root = importlib.import_module(package)
    except ImportError:
        return ()
    names = [package]
    for info in pkgutil.iter_modules(root.__path__, package + "."):
        if not any(part.startswith("_") or part in ("tests", "conftest") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return tuple(names)


@functools.cache
def find_module_of(name: str, package: str) -> str:
    """The public module of `package` that exports `name` (one whose `__all__` lists it first: StandardScaler's is
    sklearn.preprocessing, not sklearn.discriminant_analysis, which imports it), or ''."""
    having = []
    for module_name in _public_modules(package):
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - optional dependencies of a submodule
            continue
        if name in getattr(module, "__all__", ()):
            return module_name
        if module_name != package and hasattr(module, name):
            having.append(module_name)
    return having[0] if having else ""


def crash_hint(stderr: str) -> str:
    """One line of help for a crash, or ''."""
    found = _CANNOT_IMPORT.search(stderr)
    if found:
        name, module = found.groups()
        package = module.split(".")[0]
        home = find_module_of(name, package) if package in _PACKAGES else ""
        return f"hint: {name} is not in {module}" + (f"; import it with `from {home} import {name}`" if home else "")
    missing = _NO_MODULE.search(stderr)
    if missing:
        return f"hint: the module {missing.group(1)} is not installed here; use only the installed libraries"
    unexpected = _UNEXPECTED_ARGUMENT.search(stderr)
    if unexpected:
        return _arguments_hint(*unexpected.groups())
    axis = _NOT_IN_AXIS.search(stderr)
    if axis:
        return (f"hint: the frame has no column {axis.group(1)}; test.csv has no target column, so drop the "
                "target from train only (or pass errors='ignore')")
    if "SyntaxError" in stderr and re.search(r"^\s*!", stderr, re.MULTILINE):
        return "hint: shell lines such as `!pip install` are not Python; packages cannot be installed"
    return ""


def _arguments_hint(name: str, argument: str) -> str:
    """The arguments a model class really takes, when it is one of scikit-learn's, LightGBM's or XGBoost's."""
    home = next((m for m in (find_module_of(name, p) for p in MODEL_PACKAGES) if m), "")
    try:
        parameters = list(inspect.signature(getattr(importlib.import_module(home), name)).parameters) if home else []
    except (TypeError, ValueError, AttributeError, ImportError):
        parameters = []
    if not parameters:
        return ""
    return f"hint: {name} takes no argument {argument}; its arguments are {', '.join(parameters)}"


_FROM_IMPORT = re.compile(r"^(\s*)from ([\w.]+) import ([\w, ]+?)\s*$", re.MULTILINE)


def _exports(module_name: str, name: str) -> bool:
    try:
        return hasattr(importlib.import_module(module_name), name)
    except Exception:  # noqa: BLE001 - a module that does not import cannot export
        return False


# model classes the small model imports under names no installed package has: what stands in for them
_STAND_INS = {"XGBRegressor": ("lightgbm", "LGBMRegressor"), "XGBClassifier": ("lightgbm", "LGBMClassifier"),
              "LightGBMRegressor": ("lightgbm", "LGBMRegressor"), "LightGBMClassifier": ("lightgbm", "LGBMClassifier")}


# the names packages are imported under by convention: `from lightgbm import lgb` means `import lightgbm as lgb`
_PACKAGE_ALIASES = {"lgb": "lightgbm", "xgb": "xgboost", "np": "numpy", "pd": "pandas"}


def _elsewhere(name: str, module: str) -> tuple[str, str]:
    """An import line, and a note, for a name `module` does not export: the package itself under its usual
    alias; its module in the same package; for a model class, in another model package; else an installed
    stand-in (xgboost is not installed here)."""
    package = module.split(".")[0]
    if _PACKAGE_ALIASES.get(name) == package:
        return f"import {package} as {name}", f"{name} is the package {package} itself: import {package} as {name}"
    for where in (package, *(p for p in MODEL_PACKAGES if p != package and package in MODEL_PACKAGES)):
        home = find_module_of(name, where)
        if home:
            return f"from {home} import {name}", f"{name} is imported from {home}, not {module}"
    stand_in = _STAND_INS.get(name)
    if stand_in and _exports(*stand_in):
        home, real = stand_in
        return f"from {home} import {real} as {name}", f"{name} is not installed: {home}'s {real} stands in for it"
    return "", ""


def fix_imports(code: str) -> tuple[str, list[str]]:
    """Rewrites `from pkg.mod import A, B` lines whose names live elsewhere (SimpleImputer in sklearn.impute,
    not sklearn.preprocessing; a model class in another model package; an installed stand-in for one that
    is not installed: see `_elsewhere`); returns the code and notes."""
    notes: list[str] = []

    def repair(match: re.Match[str]) -> str:
        indent, module, names = match.group(1), match.group(2), [n.strip() for n in match.group(3).split(",")]
        package = module.split(".")[0]
        if package not in _PACKAGES or any(" " in n or not n for n in names):
            return match.group(0)
        lines, kept = [], []
        for name in names:
            line, note = ("", "") if _exports(module, name) else _elsewhere(name, module)
            if line:
                lines.append(indent + line)
                notes.append(note)
            else:
                kept.append(name)
        if kept:
            lines.insert(0, f"{indent}from {module} import {', '.join(kept)}")
        return "\n".join(lines)

    return _FROM_IMPORT.sub(repair, code), notes


_ALIASES = {"np": "import numpy as np", "pd": "import pandas as pd"}


def _bound(tree: ast.AST) -> set[str]:
    """Every name the script binds anywhere: imports, assignments, definitions, arguments, handlers."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def model_import(name: str) -> str:
    """The import line of a model class of scikit-learn, LightGBM or XGBoost; "" if none has it."""
    home = next((m for m in (find_module_of(name, p) for p in MODEL_PACKAGES) if m), "")
    return f"from {home} import {name}" if home else ""


def add_missing_imports(code: str) -> tuple[str, list[str]]:
    """Adds the import of a name the script uses but never imports or defines, when the name is np/pd or a
    class of scikit-learn, LightGBM or XGBoost (a small model's commonest slip: RandomForestClassifier used,
    its import forgotten). Returns the code and notes; code that does not parse is returned as it is."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, []
    bound = _bound(tree) | set(dir(builtins))
    used = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound)
    lines: list[str] = []
    for name in used:
        if name in _ALIASES:
            lines.append(_ALIASES[name])
        elif name[:1].isupper():
            lines += [line] if (line := model_import(name)) else []
    if not lines:
        return code, []
    future = [n.end_lineno or 0 for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    head, rest = code.splitlines(keepends=True)[: max(future, default=0)], code.splitlines(keepends=True)[max(future, default=0):]
    return "".join([*head, *(line + "\n" for line in lines), *rest]), [f"added the missing import: {line}" for line in lines]
