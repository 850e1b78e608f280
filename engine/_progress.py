"""Progress bars for long work (``engine verify``, ``engine speed``, Dask batches): tqdm's, on
stderr, drawn only when stderr is a terminal unless asked for, so that piped output and logs
stay clean."""

from __future__ import annotations

import sys

from tqdm import tqdm


def on_terminal(stream) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(total: int | None = None, *, unit: str = "it", desc: str | None = None,
                 enabled: bool | None = None, stream=None, delay: float = 0.0) -> tqdm:
    """A tqdm bar of ``total`` steps (None: a counter) on ``stream`` (stderr).

    ``enabled``: None draws it on a terminal only; ``delay`` seconds pass before it is first
    drawn, so that quick work shows none. It is erased when closed.
    """
    stream = sys.stderr if stream is None else stream
    show = on_terminal(stream) if enabled is None else bool(enabled)
    return tqdm(total=total, unit=unit, desc=desc, file=stream, disable=not show, delay=delay,
                leave=False, dynamic_ncols=True)


def write_line(line: str, stream=None) -> None:
    """Print ``line`` on stdout (or ``stream``) without tearing a bar that is being drawn."""
    tqdm.write(line, file=sys.stdout if stream is None else stream)
