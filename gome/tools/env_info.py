"""What the generated code can use: installed library versions, told to the Coder up front."""

from __future__ import annotations

import functools
import importlib.metadata
import sys

__all__ = ["library_versions"]

_LIBRARIES = ("pandas", "numpy", "scikit-learn", "scipy", "lightgbm", "xgboost", "torch")


@functools.cache
def library_versions() -> str:
    """For example 'python 3.11, pandas 3.1.1, numpy 2.4.6, scikit-learn 1.9.1'."""
    found = [f"python {sys.version_info.major}.{sys.version_info.minor}"]
    for name in _LIBRARIES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return ", ".join(found)
