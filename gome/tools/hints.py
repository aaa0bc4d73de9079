"""Hints the harness adds to a crash report for the Coder: facts it can check that a small model
often gets wrong, such as where an importable name really lives."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re

__all__ = ["crash_hint", "find_module_of", "fix_imports"]

_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_NOT_IN_AXIS = re.compile(r"KeyError: \"\[(.+?)\] not found in axis\"")
_PACKAGES = ("sklearn", "pandas", "numpy", "scipy", "lightgbm", "xgboost", "torch")


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
    """The public module of `package` that exports `name`, or ''."""
    for module_name in _public_modules(package):
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - optional dependencies of a submodule
            continue
        if name in getattr(module, "__all__", ()) or (module_name != package and hasattr(module, name)):
            return module_name
    return ""


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
    axis = _NOT_IN_AXIS.search(stderr)
    if axis:
        return (f"hint: the frame has no column {axis.group(1)}; test.csv has no target column, so drop the "
                "target from train only (or pass errors='ignore')")
    if "SyntaxError" in stderr and re.search(r"^\s*!", stderr, re.MULTILINE):
        return "hint: shell lines such as `!pip install` are not Python; packages cannot be installed"
    return ""


_FROM_IMPORT = re.compile(r"^(\s*)from ([\w.]+) import ([\w, ]+?)\s*$", re.MULTILINE)


def _exports(module_name: str, name: str) -> bool:
    try:
        return hasattr(importlib.import_module(module_name), name)
    except Exception:  # noqa: BLE001 - a module that does not import cannot export
        return False


def fix_imports(code: str) -> tuple[str, list[str]]:
    """Rewrites `from pkg.mod import A, B` lines whose names live elsewhere in the same package
    (e.g. SimpleImputer in sklearn.impute, not sklearn.preprocessing); returns the code and notes."""
    notes: list[str] = []

    def repair(match: re.Match[str]) -> str:
        indent, module, names = match.group(1), match.group(2), [n.strip() for n in match.group(3).split(",")]
        package = module.split(".")[0]
        if package not in _PACKAGES or any(" " in n or not n for n in names):
            return match.group(0)
        lines, kept = [], []
        for name in names:
            home = "" if _exports(module, name) else find_module_of(name, package)
            if home:
                lines.append(f"{indent}from {home} import {name}")
                notes.append(f"{name} is imported from {home}, not {module}")
            else:
                kept.append(name)
        if kept:
            lines.insert(0, f"{indent}from {module} import {', '.join(kept)}")
        return "\n".join(lines)

    return _FROM_IMPORT.sub(repair, code), notes
