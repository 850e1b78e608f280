"""The type stub of ``engine._native`` (engine/_native.pyi), written from the public headers.

cffi gives the extension no types; the stub says what ``lib`` holds, read from the same
``csrc/*.h`` that build_native.py gives to cffi's cdef: every enum constant (an int), every
function with its parameters, and every struct the functions take, with its fields. Pointers
and buffers are ``CData`` (what ``ffi.new``, ``ffi.from_buffer`` and cffi's results are); bytes
may stand for a ``const`` buffer, as cffi allows.

``python csrc/native_stub.py`` writes the stub; tests/backend/test_native_stub.py checks that
the committed one is what the headers give today.
"""

from __future__ import annotations

import keyword
import os
import re
import sys
import textwrap

from pycparser import c_ast, c_parser

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STUB = os.path.join(ROOT, "engine", "_native.pyi")
sys.path.insert(0, HERE)

from build_native import _cdef_text, _headers  # noqa: E402

# The standard types the headers use, declared for pycparser (cffi knows them already).
_PRELUDE = """
typedef unsigned long size_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
"""

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)

_HEAD = '''"""Types of the cffi extension engine._native, written by csrc/native_stub.py from csrc/*.h.

Do not edit: run ``python csrc/native_stub.py`` after changing a header.
"""

from typing import Any, Union

CData = Any  # a cffi pointer, array or struct
Buffer = Union[bytes, CData]  # a const buffer: immutable bytes, or a pointer from cffi

ffi: Any  # a cffi.FFI (cffi has no types of its own)
'''


def _python_type(node, *, const_buffer_ok: bool = True) -> str:
    """The stub's type for a C declaration's type."""
    if isinstance(node, c_ast.PtrDecl):
        inner = node.type
        if (const_buffer_ok and isinstance(inner, c_ast.TypeDecl) and "const" in inner.quals
                and isinstance(inner.type, c_ast.IdentifierType)
                and inner.type.names[-1] == "char"):
            return "Buffer"
        return "CData"
    if isinstance(node, c_ast.ArrayDecl):
        return "CData"
    if isinstance(node, c_ast.TypeDecl):
        if isinstance(node.type, c_ast.IdentifierType):
            return "None" if node.type.names == ["void"] else "int"
        return "CData"
    raise TypeError("no stub type for %r" % node)


def _function(decl: c_ast.Decl) -> str:
    function = decl.type
    params = []
    for index, param in enumerate(function.args.params if function.args else ()):
        if isinstance(param, c_ast.Typename):  # (void)
            continue
        name = param.name or "arg%d" % index
        if keyword.iskeyword(name):
            name += "_"
        params.append("%s: %s" % (name, _python_type(param.type)))
    result = _python_type(function.type, const_buffer_ok=False)
    if params:
        params.append("/")
    # broken between parameters only: the return annotation stays inside the line's parentheses
    line = "    def %s(%s)\xa0->\xa0%s: ..." % (decl.name, ", ".join(["self"] + params), result)
    lines = textwrap.wrap(line, 99, subsequent_indent=" " * 8, break_long_words=False,
                          break_on_hyphens=False)
    return "\n".join(lines).replace("\xa0", " ")


def _struct(name: str, struct: c_ast.Struct) -> list[str]:
    lines = ["class %s:" % name, '    """csrc struct %s."""' % name, ""]
    for field in struct.decls:
        lines.append("    %s: %s" % (field.name, _python_type(field.type, const_buffer_ok=False)))
    return lines


def render() -> str:
    """The text of engine/_native.pyi for the headers as they are."""
    text = _PRELUDE + _COMMENT.sub(" ", "".join(_cdef_text(h) for h in _headers()))
    tree = c_parser.CParser().parse(text, filename="<headers>")
    constants: list[str] = []
    functions: list[str] = []
    structs: list[list[str]] = []
    for node in tree.ext:
        if isinstance(node, c_ast.Typedef) and isinstance(node.type.type, c_ast.Struct):
            struct = node.type.type
            if struct.decls is not None:
                structs.append(_struct(node.name, struct))
        elif isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.Enum):
            constants += ["    %s: int" % e.name for e in node.type.values.enumerators]
        elif isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.FuncDecl):
            functions.append(_function(node))
    out = [_HEAD]
    for lines in structs:
        out.append("\n".join(lines) + "\n")
    out.append("class _Lib:\n" + "\n".join(constants + [""] + functions) + "\n")
    out.append("lib: _Lib\n")
    return "\n\n".join(out)


if __name__ == "__main__":
    with open(STUB, "w", encoding="utf-8") as fh:
        fh.write(render())
    print("wrote %s" % os.path.relpath(STUB, ROOT))
