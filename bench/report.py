"""Printing, recording and plotting the benchmark's figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

SERVERS = (("cpbkg", "CPB-KG"), ("oxigraph", "Oxigraph"), ("rdflib-endpoint", "rdflib-endpoint"))

#: what each mode's figures are (printed above its table: a repeated figure is never an engine's speed)
MODES = {
    "repeated": ("REPEATED: one query text sent again and again. After the first request CPB-KG answers it "
                 "from its response memo or answer cache\n(as a popular query); Oxigraph and rdflib-endpoint "
                 "evaluate every request. The speed of CPB-KG's cache, NOT of its query engine."),
    "distinct": ("DISTINCT: every request a query text no server has seen (a new LIMIT; for the lookup a "
                 "notation drawn from the data): no cache\ncan answer. The speed of each server's query "
                 "engine and HTTP path, which is what a new query meets."),
}


def ratio(a: float, b: float) -> float:
    """a / b, NaN where b is missing or zero."""
    return a / b if b and not math.isnan(b) else float("nan")


def fmt(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def _cells(figures: dict[str, Any]) -> str:
    return (f"{fmt(figures.get('requests_per_s')):>9} {fmt(figures.get('p50_ms'), 2):>7} "
            f"{fmt(figures.get('p99_ms'), 2):>7} {figures.get('errors', '-'):>4}")


def print_table(rows: list[dict[str, Any]], mode: str) -> None:
    """The table of one mode: per (size, workload, connections) each server's req/s, p50 and p99
    (ms) and errors, and the ratios of CPB-KG's req/s to Oxigraph's and to rdflib-endpoint's."""
    picked = [r for r in rows if r.get("mode", "repeated") == mode]
    if not picked:
        return
    width = 9 + 1 + 7 + 1 + 7 + 1 + 4
    top = f"{'':<10} {'':<20} {'':>4} | " + " | ".join(f"{label:^{width}}" for _, label in SERVERS) + " |"
    header = (f"{'size':<10} {'workload':<20} {'conn':>4} | "
              + " | ".join(f"{'req/s':>9} {'p50':>7} {'p99':>7} {'err':>4}" for _ in SERVERS)
              + f" | {'x oxigraph':>10} {'x rdflib-ep':>11}")
    print()
    print(MODES[mode])
    print(top)
    print(header)
    print("-" * len(header))
    for row in picked:
        cells = " | ".join(_cells(row["servers"].get(name, {})) for name, _ in SERVERS)
        print(f"{row['size']:<10} {row['workload']:<20} {row['connections']:>4} | {cells} | "
              f"{fmt(row.get('ratio_oxigraph'), 2):>10} {fmt(row.get('ratio_rdflib_endpoint'), 0):>11}")
    print("(latency in ms; x oxigraph, x rdflib-ep: CPB-KG's req/s over theirs)")


def print_tables(rows: list[dict[str, Any]]) -> None:
    """Both tables, the repeated one first."""
    for mode in MODES:
        print_table(rows, mode)


def progress_line(row: dict[str, Any]) -> str:
    """One measured row, as it comes in."""
    parts = [f"{name} {fmt(f.get('requests_per_s'))} r/s p50 {fmt(f.get('p50_ms'), 2)} ms "
             f"p99 {fmt(f.get('p99_ms'), 2)} ms err {f.get('errors')}" for name, f in row["servers"].items()]
    return f"   {row['workload']}, {row['mode']}, {row['connections']} conn: " + "; ".join(parts)


def targets(rows: list[dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """Issue 14's targets against this run's figures: (target, figure, met; None: not measured)."""
    def find(size: str, workload: str, mode: str, connections: int) -> dict[str, Any] | None:
        for r in rows:
            if (r["size"], r["workload"], r["mode"], r["connections"]) == (size, workload, mode, connections):
                return r
        return None

    found: list[tuple[str, str, bool | None]] = []
    for size in dict.fromkeys(r["size"] for r in rows):
        for workload in ("lookup", "linkage", "scan"):
            at16 = find(size, workload, "distinct", 16)
            if at16 is not None:
                ox, rd = at16.get("ratio_oxigraph", math.nan), at16.get("ratio_rdflib_endpoint", math.nan)
                found.append((f"{size} {workload}, distinct, 16 conn: >= 1.0x Oxigraph", _times(ox, 2),
                              None if math.isnan(ox) else ox >= 1.0))
                found.append((f"{size} {workload}, distinct, 16 conn: >= 300x rdflib-endpoint", _times(rd, 0),
                              None if math.isnan(rd) else rd >= 300))
            at1 = find(size, workload, "distinct", 1)
            if at1 is not None:
                mine = at1["servers"].get("cpbkg", {}).get("p50_ms", math.nan)
                theirs = at1["servers"].get("oxigraph", {}).get("p50_ms", math.nan)
                times = ratio(mine, theirs)
                found.append((f"{size} {workload}, distinct, 1 conn: p50 <= 2x Oxigraph's",
                              f"{fmt(mine, 2)} ms vs {fmt(theirs, 2)} ms ({fmt(times, 1)}x)",
                              None if math.isnan(times) else times <= 2.0))
            repeated = find(size, workload, "repeated", 16)
            if repeated is not None:
                ox = repeated.get("ratio_oxigraph", math.nan)
                found.append((f"{size} {workload}, repeated, 16 conn: stays >= 1.0x Oxigraph", _times(ox, 2),
                              None if math.isnan(ox) else ox >= 1.0))
        lookup = find(size, "lookup", "distinct", 16)
        if lookup is not None:
            p99 = lookup["servers"].get("cpbkg", {}).get("p99_ms", math.nan)
            found.append((f"{size} lookup, distinct, 16 conn: CPB-KG p99 <= 10 ms", f"{fmt(p99, 2)} ms",
                          None if math.isnan(p99) else p99 <= 10))
    return found


def _times(x: float, digits: int) -> str:
    return "-" if math.isnan(x) else f"{fmt(x, digits)}x"


def print_targets(rows: list[dict[str, Any]]) -> None:
    found = targets(rows)
    if not found:
        return
    print("\nissue 14's targets (distinct queries are the engine's speed; figures of this run):")
    for target, figure, met in found:
        verdict = "not measured" if met is None else ("met" if met else "MISSED")
        print(f"   {target:<62} {figure:>28}  {verdict}")


def write_json(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")


def plot_ratios(path: Path, rows: list[dict[str, Any]]) -> bool:
    """Bar charts of CPB-KG / Oxigraph throughput per workload and size, one panel per mode
    (at 16 connections, or the most connections measured if not 16).

    Returns False (and writes nothing) when matplotlib is not installed or no ratio was measured.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    measured = [r for r in rows if not math.isnan(r.get("ratio_oxigraph", float("nan")))]
    if not measured:
        return False
    counts = {r["connections"] for r in measured}
    connections = 16 if 16 in counts else max(counts)
    panels = [(mode, [r for r in measured if r["connections"] == connections and r["mode"] == mode])
              for mode in MODES]
    panels = [(mode, picked) for mode, picked in panels if picked]
    widest = max(len(picked) for _, picked in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6, widest * 0.9) * len(panels), 4.5), squeeze=False)
    for ax, (mode, picked) in zip(axes[0], panels, strict=True):
        labels = [f"{r['workload']}\n{r['size']}" for r in picked]
        values = [r["ratio_oxigraph"] for r in picked]
        ax.bar(range(len(values)), values, color=["#2a7" if v >= 1 else "#c63" for v in values])
        ax.axhline(1.0, color="black", linewidth=0.8)  # the target: at least Oxigraph's throughput
        # ratios run from ~0.05 to ~1,000: a log scale keeps the ones near the target readable
        ax.set_yscale("log")
        for x, v in enumerate(values):
            ax.annotate(f"{v:,.2f}" if v < 10 else f"{v:,.0f}", (x, v), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=45, ha="right")
        ax.set_ylabel(f"CPB-KG / Oxigraph server (req/s, {connections} conn., log)")
        ax.set_title("repeated query (CPB-KG's cache answers)" if mode == "repeated"
                     else "distinct queries (no cache: the engine)", fontsize=10)
    fig.suptitle("CPB-KG throughput relative to Oxigraph's server")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
