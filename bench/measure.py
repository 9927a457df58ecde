"""Measurement helpers the benchmarks share: CPU pinning, workloads, timing and statistics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from itertools import accumulate
from typing import Any


def pin(pid: int, cpus: set[int]) -> bool:
    """Pin every thread of a process to ``cpus`` (new threads inherit); False if unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    try:
        tasks = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tasks = [pid]
    for task in tasks:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(task, cpus)
    return True


def pin_apart(server_pid: int) -> list[int]:
    """Pin a server to the first CPU and this process to the second.

    Returns the CPUs to give this process back afterwards (``pin(os.getpid(), set(cpus))``),
    or ``[]`` when there are not two CPUs to pin to.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) >= 2 and pin(server_pid, {cpus[0]}):
        pin(os.getpid(), {cpus[1]})
        return cpus
    return []


def pinning(cpus: Sequence[int]) -> str:
    """How ``pin_apart`` placed Neo4j and the bench, for the result document."""
    return f"neo4j on CPU {cpus[0]}, bench process on CPU {cpus[1]}" if cpus else "none"


def zipf_sequence(pool: Sequence[str], count: int, rng: random.Random, s: float) -> list[str]:
    """``count`` draws from ``pool``, Zipf-skewed (rank k has weight 1/k^s), ranks shuffled."""
    ranked = list(pool)
    rng.shuffle(ranked)
    cumulative = list(accumulate(1.0 / (k**s) for k in range(1, len(ranked) + 1)))
    return rng.choices(ranked, cum_weights=cumulative, k=count)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    index = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def spread_ms(stats: Mapping[str, float]) -> str:
    """A ``spread`` of milliseconds for a report: median (min-max)."""
    return f"{stats['median']:.2f} ({stats['min']:.2f}-{stats['max']:.2f})"


def yes_no(met: bool) -> str:
    """A goal's verdict for a report."""
    return "yes" if met else "NO"


async def time_round(fn: Callable[[str], Awaitable[Any]], args: Sequence[str]) -> dict[str, Any]:
    """Await ``fn`` on each argument one after another: p50, p99 and ops/s."""
    gc.collect()
    latencies = []
    clock = time.perf_counter_ns
    started = clock()
    for arg in args:
        t0 = clock()
        await fn(arg)
        latencies.append(clock() - t0)
    elapsed = (clock() - started) / 1e9
    latencies.sort()
    return {
        "p50_ms": percentile(latencies, 0.50) / 1e6,
        "p99_ms": percentile(latencies, 0.99) / 1e6,
        "ops_s": len(args) / elapsed,
    }


def run_async(main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run a benchmark's coroutine on uvloop where it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
