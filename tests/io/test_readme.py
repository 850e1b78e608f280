"""The examples of README's "Using it with existing code" run, in order, as written."""

from __future__ import annotations

import contextlib
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Using it with existing code"


def examples() -> list:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return re.findall(r"```python\n(.*?)```", text[start:end], re.S)


def test_the_examples_run(tmp_path, monkeypatch, capsys):
    for module in ("httpx", "urllib3", "uvicorn"):
        pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    blocks = examples()
    assert len(blocks) >= 5
    try:
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    finally:
        www = namespace.get("www")
        if www is not None and www.poll() is None:
            www.kill()
            with contextlib.suppress(Exception):
                www.wait(10)
        if www is not None:
            www.stdout.close()
    out = capsys.readouterr().out
    assert "200 TLSv1.3 ('TLS_" in out
    assert "(('DNS', 'localhost'), ('IP Address', '127.0.0.1'))" in out
    assert "200 True" in out  # the hybrid group, through httpx
    assert "b'HTTP/1.1 200 OK'" in out
    assert "((('commonName', 'localhost'),),)" in out
    assert "\nhttps\n" in out  # uvicorn's protocol saw TLS
    assert "not valid for 'www.example.org': it holds DNS:localhost, IP:127.0.0.1" in out
