"""Assembly of the embedded model from its installed parts: verified, cached, atomic."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from gome.errors import GomeUserError
from gome.llm import embedded
from gome.llm.embedded import EmbeddedModel, LocalExtraMissing, ModelFileError, model_path, require_llama_cpp

PARTS = [b"GGUF-part-one|", b"part-two|", b"part-three"]


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmbeddedModel:
    """Three fake part packages on sys.path and a pinned spec for their concatenation."""
    site = tmp_path / "site"
    for i, data in enumerate(PARTS, 1):
        pkg = site / f"gome_fake_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        (pkg / "__init__.py").write_text(
            "import os\n"
            f"def get_part_path():\n    return os.path.join(os.path.dirname(__file__), 'data', 'part{i:02d}.bin')\n")
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(PARTS)
    spec = EmbeddedModel(size="0.5b", alias="fake", filename="fake.gguf", nbytes=len(whole),
                         modules=tuple(f"gome_fake_part{i}" for i in range(1, 4)), sha256=hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(embedded.MODELS, "0.5b", spec)
    monkeypatch.setenv("GOME_CACHE", str(tmp_path / "cache"))
    return spec


def _leftovers(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "cache" / "models").glob("*") if p.name != "fake.gguf"]


def test_assembles_once_into_the_cache(fake_model: EmbeddedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = model_path("0.5b")
    assert path == tmp_path / "cache" / "models" / "fake.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    assert not _leftovers(tmp_path)
    monkeypatch.setattr(embedded, "part_paths", lambda size: pytest.fail("reassembled a cached model"))
    assert model_path("0.5b") == path


def test_hash_mismatch_is_a_clear_error_and_leaves_nothing(fake_model: EmbeddedModel, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(embedded.MODELS, "0.5b", fake_model.model_copy(update={"sha256": "0" * 64}))
    with pytest.raises(ModelFileError, match="do not match the pinned file.*pip install"):
        model_path("0.5b")
    assert not (tmp_path / "cache" / "models" / "fake.gguf").exists()
    assert not _leftovers(tmp_path)


def test_a_failure_mid_write_leaves_no_partial_file(fake_model: EmbeddedModel, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(embedded.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk went away"):
        model_path("0.5b")
    assert not (tmp_path / "cache" / "models" / "fake.gguf").exists()
    assert not _leftovers(tmp_path)


def test_a_truncated_cached_file_is_rebuilt(fake_model: EmbeddedModel, tmp_path: Path) -> None:
    target = tmp_path / "cache" / "models" / "fake.gguf"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF")
    assert model_path("0.5b").read_bytes() == b"".join(PARTS)


def test_missing_part_package_names_the_pip_command(fake_model: EmbeddedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = fake_model.model_copy(update={"modules": (*fake_model.modules, "gome_fake_part_absent")})
    monkeypatch.setitem(embedded.MODELS, "0.5b", spec)
    with pytest.raises(LocalExtraMissing, match=r"gome_fake_part_absent.*pip install .*\[local\]"):
        model_path("0.5b")


def test_missing_llama_cpp_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(LocalExtraMissing, match=r"'local' extra \(llama_cpp is missing\).*pip install"):
        require_llama_cpp()


def test_unknown_size_is_a_user_error() -> None:
    with pytest.raises(GomeUserError, match="unknown embedded model size '7b'"):
        model_path("7b")


def test_pinned_models() -> None:
    big, small = embedded.MODELS["1.5b"].sha256, embedded.MODELS["0.5b"].sha256
    assert big.startswith("cc324af070c2") and big.endswith("c436933bb046")
    assert small.startswith("1d9614638d18") and small.endswith("ec4f6e1c4ff32")  # the "…6ec4f6…" is a typo: "…88ec4f6…"
    assert len(embedded.MODELS["1.5b"].modules) == 22 and len(embedded.MODELS["0.5b"].modules) == 6
