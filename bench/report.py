"""Printing, recording and plotting the benchmark's figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def ratio(a: float, b: float) -> float:
    """a / b, NaN where b is missing or zero."""
    return a / b if b and not math.isnan(b) else float("nan")


def fmt(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    """One line per (size, workload, connections): each server's req/s and p99, and the ratios."""
    header = (f"{'size':<10} {'workload':<22} {'conn':>4} | {'cpbkg r/s':>10} {'p50':>7} {'p99':>7} {'err':>4} | "
              f"{'oxigraph r/s':>12} {'rdflib-ep r/s':>13} | {'x oxigraph':>10} {'x rdflib-ep':>11}")
    print(header)
    print("-" * len(header))
    for row in rows:
        c = row["servers"].get("cpbkg", {})
        o = row["servers"].get("oxigraph", {})
        r = row["servers"].get("rdflib-endpoint", {})
        print(f"{row['size']:<10} {row['workload']:<22} {row['connections']:>4} | "
              f"{fmt(c.get('requests_per_s')):>10} {fmt(c.get('p50_ms')):>7} {fmt(c.get('p99_ms')):>7} "
              f"{c.get('errors', '-'):>4} | {fmt(o.get('requests_per_s')):>12} {fmt(r.get('requests_per_s')):>13} | "
              f"{fmt(row.get('ratio_oxigraph'), 2):>10} {fmt(row.get('ratio_rdflib_endpoint'), 0):>11}")


def write_json(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")


def plot_ratios(path: Path, rows: list[dict[str, Any]]) -> bool:
    """A bar chart of CPB-KG / Oxigraph throughput per workload and size (16 connections).

    Returns False (and writes nothing) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    picked = [r for r in rows if r["connections"] == 16 and not math.isnan(r.get("ratio_oxigraph", float("nan")))]
    if not picked:
        return False
    labels = [f"{r['workload']}\n{r['size']}" for r in picked]
    values = [r["ratio_oxigraph"] for r in picked]
    fig, ax = plt.subplots(figsize=(max(6, len(picked) * 0.9), 4))
    ax.bar(range(len(values)), values, color=["#2a7" if v >= 1 else "#c63" for v in values])
    ax.axhline(1.0, color="black", linewidth=0.8)  # the target: at least Oxigraph's throughput
    # ratios run from ~1 to ~1,000 (none where Oxigraph answered nothing): a log scale keeps
    # the ones near the target readable
    ax.set_yscale("log")
    for x, v in enumerate(values):
        ax.annotate(f"{v:,.2f}" if v < 10 else f"{v:,.0f}", (x, v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=45, ha="right")
    ax.set_ylabel("CPB-KG / Oxigraph server (req/s, 16 conn., log)")
    ax.set_title("CPB-KG throughput relative to Oxigraph's server")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
