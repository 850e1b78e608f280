"""The package is typed: it ships py.typed, ``mypy --strict`` accepts the README examples and
the programs of tests/typing/examples as users write them, and ``mypy`` with the project's
settings accepts every module of the package."""

from __future__ import annotations

import ast
import importlib.resources
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLES = pathlib.Path(__file__).resolve().parent / "examples"

# What README's prose takes as given around its fragments ("feed them bytes", "a chain", "a
# CRL"...): declared with their types, so that the fragments are checked as written. A
# section's module declares only the names it does not define itself.
GIVEN = {
    "sock": "socket.socket",  # a connected socket
    "key": "bytes",
    "iv": "bytes",
    "data": "bytes",  # bytes received from the peer
    "chains": "list[list[x509.Certificate]]",
    "names": "list[str | None]",
    "crl": "engine.RevocationList",
    "trust": "engine.TrustStore",
    "other_config": "engine.ClientConfig",
    "keystore": "engine.KeyStore",
    "app": "engine.asgi.ASGIApp",
}
PRELUDE = "import socket\nfrom cryptography import x509\nimport engine\nimport engine.asgi\n" \
          "from engine.pki import TrustStore\n"


def readme_modules() -> dict[str, str]:
    """One module per README section that holds ```python blocks: its blocks in the order
    README gives them (they read as one program), after declarations of the given names."""
    modules: dict[str, str] = {}
    for number, section in enumerate(re.split(r"\n## ", README.read_text(encoding="utf-8"))):
        blocks = re.findall(r"```python\n(.*?)```", section, re.S)
        if not blocks:
            continue
        body = "\n".join(blocks)
        defined = _defined_names(body)
        given = "".join("%s: %s\n" % (name, kind) for name, kind in GIVEN.items()
                        if name not in defined)
        modules["readme_%02d" % number] = PRELUDE + given + body
    return modules


def _defined_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def run_strict(paths: list[pathlib.Path], cache: pathlib.Path) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy is not installed (pip install mypy)")
    config = cache.parent / "mypy.ini"  # mypy's defaults, not the project's settings
    config.write_text("[mypy]\n", encoding="utf-8")
    out, err, status = api.run(["--config-file", str(config), "--strict", "--python-version",
                                "3.10", "--cache-dir",
                                str(cache), "--no-error-summary", "--hide-error-context",
                                # the package as users get it: its own modules are not theirs
                                "--follow-imports", "silent",
                                *map(str, paths)])
    assert status == 0, "mypy --strict failed:\n" + out + err


def test_the_package_ships_py_typed() -> None:
    assert importlib.resources.files("engine").joinpath("py.typed").is_file()


def test_the_readme_has_python_examples_to_check() -> None:
    assert len(readme_modules()) >= 4


@pytest.mark.slow
def test_mypy_strict_accepts_the_readme_examples(tmp_path: pathlib.Path) -> None:
    paths = []
    for name, source in readme_modules().items():
        path = tmp_path / (name + ".py")
        path.write_text(source, encoding="utf-8")
        paths.append(path)
    run_strict(paths, tmp_path / ".mypy_cache")


@pytest.mark.slow
def test_mypy_strict_accepts_the_typing_examples(tmp_path: pathlib.Path) -> None:
    run_strict(sorted(EXAMPLES.glob("*.py")), tmp_path / ".mypy_cache")


@pytest.mark.slow
def test_mypy_accepts_the_package_with_the_project_settings(tmp_path: pathlib.Path) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy is not installed (pip install mypy)")
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir",
                                str(tmp_path / ".mypy_cache"), "--no-error-summary",
                                str(ROOT / "engine")])
    assert status == 0, "mypy failed on the package:\n" + out + err
