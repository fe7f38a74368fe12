"""Run the benchmark scripts and collect their JSON lines into RESULTS.md."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_one(script: Path) -> list[dict[str, object]]:
    print(f"== {script.name}", file=sys.stderr, flush=True)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    results = []
    for raw in proc.stdout.splitlines():
        line = raw.strip()
        if line.startswith("{"):
            results.append(json.loads(line))
            print("   ", line, file=sys.stderr)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        results.append(
            {
                "bench": script.stem.removeprefix("bench_"),
                "metric": "error",
                "value": None,
                "unit": "",
                "ref": tail[0],
            }
        )
    return results


def render(rows: list[dict[str, object]], seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `bench/run`"
        f" ({platform.machine()}, {_cores()} cores, Python {platform.python_version()}),"
        f" in {seconds:.0f} s. Broker, database and the code under test share the machine.",
        "",
        "| bench | metric | value | unit | target |",
        "|---|---|---:|---|---|",
    ]
    for r in rows:
        value = r.get("value")
        shown = _number(value) if isinstance(value, float) else str(value)
        lines.append(f"| {r['bench']} | {r['metric']} | {shown} | {r['unit']} | {r['ref']} |")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    """Thousands separators for big figures, three significant digits for small.

    >>> _number(20829.06), _number(0.246), _number(0.0041), _number(817.0)
    ('20,829.1', '0.246', '0.0041', '817.0')
    """
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"


def _cores() -> int:
    return os.cpu_count() or 1


def main(argv: list[str]) -> int:
    wanted = set(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    start = time.monotonic()
    rows: list[dict[str, object]] = []
    for script in scripts:
        rows.extend(run_one(script))
    out = HERE / "RESULTS.md"
    if wanted and out.exists():
        # Keep the other benchmarks' rows when only some were rerun.
        # Data rows start with "| "; so do header rows, which start "| bench |".
        kept = [
            line
            for line in out.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| bench |")
        ]
        old = [
            dict(
                zip(
                    ("bench", "metric", "value", "unit", "ref"),
                    [c.strip() for c in line.strip("|").split("|")],
                    strict=False,
                )
            )
            for line in kept
        ]
        rows = [r for r in old if r["bench"] not in wanted] + rows
    out.write_text(render(rows, time.monotonic() - start))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
