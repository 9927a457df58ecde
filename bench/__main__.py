"""Run the benchmarks, write bench/results/<name>.json and print a short table per benchmark.

``python -m bench`` runs all of them; ``--only twin_api`` (or ``ontology_validation``) picks one.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from bench import audit_overhead, federation, ontology_validation, policy_overhead, twin_api
from bench.measure import spread_ms, yes_no

RESULTS = Path(__file__).resolve().parent / "results"
BENCHMARKS = ("ontology_validation", "twin_api", "policy_overhead", "audit_overhead", "federation")


def ontology_table(data: dict[str, Any]) -> Table:
    table = Table(title="DTDL validation (median of runs)")
    for column in ("model set", "interfaces", "median", "min-max", "goal", "met"):
        table.add_column(column)
    for name, row in data.items():
        table.add_row(
            name,
            str(row["interfaces"]),
            f"{row['median_s'] * 1000:.0f} ms",
            f"{row['min_s'] * 1000:.0f}-{row['max_s'] * 1000:.0f} ms",
            f"{row['goal_s']:.0f} s",
            yes_no(row["median_s"] <= row["goal_s"]),
        )
    return table


def _rate(stats: dict[str, float]) -> str:
    return f"{stats['median']:,.0f} ({stats['min']:,.0f}-{stats['max']:,.0f})"


def twin_api_tables(data: dict[str, Any]) -> list[Table]:
    scale = data["scale"]
    table = Table(
        title=f"Twin API at {scale['name']} scale ({scale['twins']:,} twins, "
        f"{scale['relationships']:,} relationships): ours (GraphQL, in-process) vs raw driver; "
        f"median (min-max) of {data['method']['rounds']} interleaved rounds"
    )
    columns = (
        "store",
        "operation",
        "ops/round",
        "ours p50 ms",
        "raw p50 ms",
        "p50 ours/raw",
        "ours p99 ms",
        "raw p99 ms",
        "ours ops/s",
        "raw ops/s",
        "stmts",
        "db hits ours/raw",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("store", "operation") else "right")
    for store, operations in data["stores"].items():
        for name, title in twin_api.TITLES.items():
            row = operations.get(name)
            if row is None:
                continue
            hits = row.get("db_hits")
            table.add_row(
                store,
                title,
                str(row["ops_per_round"]),
                spread_ms(row["ours"]["p50_ms"]),
                spread_ms(row["raw"]["p50_ms"]),
                f"{row['ratio']['p50_ours_over_raw']:.1f}x",
                spread_ms(row["ours"]["p99_ms"]),
                spread_ms(row["raw"]["p99_ms"]),
                _rate(row["ours"]["ops_s"]),
                _rate(row["raw"]["ops_s"]),
                str(row["statements_per_op"]),
                f"{hits['ours']:,}/{hits['raw']:,}" if hits else "-",
            )
    seeding = Table(title="Seeding through GraphStore.import_batch")
    for column in ("store", "twins", "relationships", "seconds", "twins/s"):
        seeding.add_column(column, justify="left" if column == "store" else "right")
    for store, operations in data["stores"].items():
        s = operations["seeding"]
        seeding.add_row(
            store,
            f"{s['twins']:,}",
            f"{s['relationships']:,}",
            f"{s['seconds']:.1f}",
            f"{s['twins_per_s']:,.0f}",
        )
    return [table, seeding]


def policy_table(data: dict[str, Any]) -> Table:
    table = Table(
        title=f"Policy overhead: {data['rules']} rules vs one permit (p50, median of rounds)"
    )
    for column in ("operation", "one permit", f"{data['rules']} rules", "ratio"):
        table.add_column(column)
    for name, row in data["operations"].items():
        table.add_row(
            name,
            f"{row['open_p50_ms']:.2f} ms",
            f"{row['ruled_p50_ms']:.2f} ms",
            f"{row['ratio']:.2f}x",
        )
    return table


def audit_table(data: dict[str, Any]) -> Table:
    goals = data["goals"]
    table = Table(
        title=f"Audited durable patches: audit on vs off (applied patches/s, median (min-max) of "
        f"{data['method']['rounds']} interleaved rounds; goal: at most "
        f"{goals['max_apart']:.0%} apart)"
    )
    for column in ("store", "scenario", "audit on", "audit off", "off/on", "apart met", "goal"):
        table.add_column(column, justify="left" if column in ("store", "scenario") else "right")
    table.add_column("failed on/off", justify="right")
    for store, result in data["stores"].items():
        if "skipped" in result:
            table.add_row(store, f"skipped: {result['skipped']}", *[""] * 6)
            continue
        for name, row in result["scenarios"].items():
            goal = row["throughput_goal"]
            table.add_row(
                store,
                name,
                _rate(row["on"]),
                _rate(row["off"]),
                f"{row['ratio_off_over_on']:.3f}",
                yes_no(row["apart_met"]),
                "-" if goal is None else f">= {goal:,.0f}/s: {yes_no(row['throughput_met'])}",
                f"{sum(row['on']['failed'].values())}/{sum(row['off']['failed'].values())}",
            )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=BENCHMARKS, action="append", help="run only these")
    parser.add_argument("--rounds", type=int, default=twin_api.ROUNDS, help="twin_api rounds")
    parser.add_argument(
        "--ops-scale",
        type=float,
        default=1.0,
        help="twin_api: multiply the operations per round (e.g. 0.2 for a quick look)",
    )
    args = parser.parse_args(argv)
    selected = args.only or list(BENCHMARKS)

    # Wide enough for the twin API table when the output is not a terminal (make bench | tee).
    console = Console(width=None if sys.stdout.isatty() else 180)
    RESULTS.mkdir(exist_ok=True)
    environment = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "ontology_validation": ontology_validation.run,
        "policy_overhead": policy_overhead.run,
        "audit_overhead": lambda: audit_overhead.run(log=lambda m: console.log(m)),
        "federation": lambda: federation.run(log=lambda m: console.log(m)),
        "twin_api": lambda: twin_api.run(
            rounds=args.rounds, ops_scale=args.ops_scale, log=lambda m: console.log(m)
        ),
    }
    results: dict[str, Any] = {}
    for name in selected:
        started = time.perf_counter()
        results[name] = runners[name]()
        console.log(f"{name} took {time.perf_counter() - started:.0f} s")
        (RESULTS / f"{name}.json").write_bytes(
            orjson.dumps(
                {"environment": environment, "results": results[name]}, option=orjson.OPT_INDENT_2
            )
        )

    if "ontology_validation" in results:
        console.print(ontology_table(results["ontology_validation"]))
    if "twin_api" in results:
        for table in twin_api_tables(results["twin_api"]):
            console.print(table)
    if "policy_overhead" in results:
        console.print(policy_table(results["policy_overhead"]))
    if "audit_overhead" in results:
        console.print(audit_table(results["audit_overhead"]))
    if "federation" in results:
        for table in federation.tables(results["federation"]):
            console.print(table)
    console.print(f"results written to {RESULTS}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
