"""Progress bars for long work (``engine verify``, ``engine speed``, Dask batches): tqdm's, on
stderr, drawn only when stderr is a terminal unless asked for, so that piped output and logs
stay clean. tqdm is the optional ``progress`` extra: without it the work runs without a bar."""

from __future__ import annotations

import sys

try:
    from tqdm import tqdm
except ImportError:  # engine[progress] is not installed
    tqdm = None


class _NoBar:
    """What a bar does when tqdm is missing: nothing."""

    def __init__(self, **_options):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def set_description(self, desc=None, refresh: bool = True) -> None:
        return None

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        return None

    def close(self) -> None:
        return None


def on_terminal(stream) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(total: int | None = None, *, unit: str = "it", desc: str | None = None,
                 enabled: bool | None = None, stream=None, delay: float = 0.0):
    """A tqdm bar of ``total`` steps (None: a counter) on ``stream`` (stderr).

    ``enabled``: None draws it on a terminal only; ``delay`` seconds pass before it is first
    drawn, so that quick work shows none. It is erased when closed.
    """
    stream = sys.stderr if stream is None else stream
    show = on_terminal(stream) if enabled is None else bool(enabled)
    if tqdm is None:
        return _NoBar()
    return tqdm(total=total, unit=unit, desc=desc, file=stream, disable=not show, delay=delay,
                leave=False, dynamic_ncols=True)


def write_line(line: str, stream=None) -> None:
    """Print ``line`` on stdout (or ``stream``) without tearing a bar that is being drawn."""
    out = sys.stdout if stream is None else stream
    if tqdm is None:
        print(line, file=out)
    else:
        tqdm.write(line, file=out)
