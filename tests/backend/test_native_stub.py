"""engine/_native.pyi, the type stub of the extension, says what the headers declare."""

from __future__ import annotations

import ast
import importlib.util
import pathlib

import pytest

from engine import _backend

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUB = ROOT / "engine" / "_native.pyi"


def _stub_writer():
    pytest.importorskip("pycparser")
    spec = importlib.util.spec_from_file_location("native_stub", ROOT / "csrc" / "native_stub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_stub_is_what_the_headers_give():
    assert STUB.read_text(encoding="utf-8") == _stub_writer().render(), (
        "engine/_native.pyi is stale: run python csrc/native_stub.py")


def test_the_stub_names_everything_the_extension_holds():
    try:
        _, lib = _backend.native()
    except Exception:
        pytest.skip("the native extension is not built")
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    lib_class = next(node for node in tree.body
                     if isinstance(node, ast.ClassDef) and node.name == "_Lib")
    declared = {node.target.id for node in lib_class.body if isinstance(node, ast.AnnAssign)}
    declared |= {node.name for node in lib_class.body if isinstance(node, ast.FunctionDef)}
    assert declared == set(dir(lib))
