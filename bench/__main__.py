"""Run every benchmark, write bench/results/<name>.json and print a short table."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from bench import ontology_validation

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    console = Console()
    RESULTS.mkdir(exist_ok=True)
    environment = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": __import__("os").cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    results: dict[str, Any] = {"ontology_validation": ontology_validation.run()}
    for name, data in results.items():
        (RESULTS / f"{name}.json").write_bytes(
            orjson.dumps({"environment": environment, "results": data}, option=orjson.OPT_INDENT_2)
        )

    table = Table(title="DTDL validation (median of runs)")
    for column in ("model set", "interfaces", "median", "min-max", "goal", "met"):
        table.add_column(column)
    for name, row in results["ontology_validation"].items():
        table.add_row(
            name,
            str(row["interfaces"]),
            f"{row['median_s'] * 1000:.0f} ms",
            f"{row['min_s'] * 1000:.0f}-{row['max_s'] * 1000:.0f} ms",
            f"{row['goal_s']:.0f} s",
            "yes" if row["median_s"] <= row["goal_s"] else "NO",
        )
    console.print(table)
    console.print(f"results written to {RESULTS}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
