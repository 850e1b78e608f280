"""Timing comparisons that hold on a busy, shared machine."""

from __future__ import annotations

import gc


def least_ratio(measured, baseline, rounds: int = 7, baseline_repeats: int = 3) -> float:
    """The least, over interleaved rounds, of ``measured()`` over the best of
    ``baseline_repeats`` calls of ``baseline()`` (each returns seconds): each ratio is taken
    while the machine is as busy for both, and the garbage collector waits meanwhile."""
    best = float("inf")
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            least = min(baseline() for _ in range(baseline_repeats))
            best = min(best, measured() / least)
    finally:
        if enabled:
            gc.enable()
    return best
