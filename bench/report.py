"""Tables, JSON results, baseline comparison and the optional ratio plot.

Everything here is pure (no numpy, no timing) so the regression logic can be
unit-tested quickly.  A row is a dict made by :func:`bench.harness.make_row`;
``(workload, case, peer, variant)`` identifies it across runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1
#: The peer whose slowdowns fail ``--compare``.
GUARDED_PEER = "graphjit"

Key = tuple[str, str, str, str]


def row_key(row: dict[str, Any]) -> Key:
    """Return the identity of a row across runs."""
    return (row["workload"], row["case"], row["peer"], row["variant"])


def fmt_time(seconds: float | None) -> str:
    """Format seconds with an adaptive unit (ns, us, ms, s)."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def _fmt_rate(row: dict[str, Any]) -> str:
    if row.get("rate") is None:
        return ""
    return f"{row['rate']:.3g} {row['unit']}"


def _extra(row: dict[str, Any]) -> str:
    bits = []
    if row.get("rss_growth_kib") is not None:
        bits.append(f"RSS +{row['rss_growth_kib']:.0f} KiB")
    if row.get("calls"):
        bits.append(f"{row['calls']} calls")
    return ", ".join(bits)


def format_table(rows: Sequence[dict[str, Any]], title: str) -> str:
    """Render the rows of one workload as a plain-text table.

    Parameters
    ----------
    rows : sequence of dict
        Rows of a single workload, in display order.
    title : str
        Heading line.

    Returns
    -------
    str
    """
    header = ("case", "peer", "variant", "median", "min", "max", "ratio", "rate", "note")
    lines: list[tuple[str, ...]] = []
    last_case = None
    for row in rows:
        case = row["case"] if row["case"] != last_case else ""
        last_case = row["case"]
        if row["status"] == "ok":
            note = ", ".join(b for b in (row.get("note", ""), _extra(row)) if b)
            cells = (
                fmt_time(row["median_s"]),
                fmt_time(row["min_s"]),
                fmt_time(row["max_s"]),
                _fmt_ratio(row.get("ratio")),
                _fmt_rate(row),
                note,
            )
        else:
            note = f"{row['status']}: {row['note']}" if row.get("note") else row["status"]
            cells = ("-", "-", "-", "-", "", note)
        lines.append((case, row["peer"], row["variant"], *cells))
    widths = [
        max(len(h), *(len(r[i]) for r in lines)) if lines else len(h) for i, h in enumerate(header)
    ]
    widths[-1] = 0

    def fmt(cells: Sequence[str]) -> str:
        out = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            right = 3 <= i <= 7
            out.append(c.rjust(w) if right else c.ljust(w))
        return "  ".join(out).rstrip()

    sep = "-" * min(120, sum(widths[:-1]) + 2 * (len(widths) - 1) + 20)
    body = [title, sep, fmt(header), sep, *(fmt(r) for r in lines)]
    return "\n".join(body)


def format_markdown(rows: Sequence[dict[str, Any]], title: str) -> str:
    """Render the rows of one workload as a Markdown table (for docs)."""
    out = [
        f"**{title}**",
        "",
        "| case | peer | variant | median | min | max | ratio | rate | note |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if row["status"] == "ok":
            note = ", ".join(b for b in (row.get("note", ""), _extra(row)) if b)
            cells = [
                fmt_time(row["median_s"]),
                fmt_time(row["min_s"]),
                fmt_time(row["max_s"]),
                _fmt_ratio(row.get("ratio")),
                _fmt_rate(row),
                note,
            ]
        else:
            note = f"{row['status']}: {row['note']}" if row.get("note") else row["status"]
            cells = ["-", "-", "-", "-", "", note]
        cells = [c.replace("|", "\\|") for c in cells]
        out.append("| " + " | ".join([row["case"], row["peer"], row["variant"], *cells]) + " |")
    return "\n".join(out)


def save_json(
    path: str | Path,
    machine: dict[str, Any],
    settings: dict[str, Any],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Write a results file (machine info, settings and every row)."""
    doc = {"schema": SCHEMA, "machine": machine, "settings": settings, "rows": list(rows)}
    Path(path).write_text(json.dumps(doc, indent=1, default=str) + "\n")


def load_json(path: str | Path) -> dict[str, Any]:
    """Read a results file written by :func:`save_json`."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or "rows" not in doc:
        raise ValueError(f"{path}: not a bench results file (no 'rows')")
    return doc


@dataclass
class CompareEntry:
    """One row present in both runs."""

    key: Key
    base_s: float | None
    cur_s: float | None
    change: float | None
    base_status: str
    cur_status: str
    regressed: bool


@dataclass
class CompareResult:
    """Outcome of comparing a run with a baseline.

    Attributes
    ----------
    entries : list of CompareEntry
        Rows found in both runs.
    missing : list of key
        Baseline rows absent now, among the workloads and peers that were run.
    new : list of key
        Rows absent from the baseline.
    threshold : float
        Slowdown factor that fails a graphjit row.
    """

    entries: list[CompareEntry] = field(default_factory=list)
    missing: list[Key] = field(default_factory=list)
    new: list[Key] = field(default_factory=list)
    threshold: float = 1.10

    @property
    def regressions(self) -> list[CompareEntry]:
        """Entries that fail the comparison."""
        return [e for e in self.entries if e.regressed]


def compare_rows(
    baseline: Iterable[dict[str, Any]], current: Iterable[dict[str, Any]], threshold: float = 1.10
) -> CompareResult:
    """Compare rows of a run with the rows of a baseline.

    A graphjit row regresses when its median grew by more than ``threshold``
    (a ratio, 1.10 = 10 % slower) or when it was ``ok`` in the baseline and is
    not now (``WRONG``, ``unsupported``, ``error``).  Rows of other peers are
    reported but never fail.  Missing rows (of a workload and peer that did
    run) are reported, not failed.

    Parameters
    ----------
    baseline, current : iterable of dict
        Result rows.
    threshold : float
        Allowed slowdown factor.

    Returns
    -------
    CompareResult
    """
    base = {row_key(r): r for r in baseline}
    cur_rows = list(current)
    cur = {row_key(r): r for r in cur_rows}
    ran = {(r["workload"], r["peer"]) for r in cur_rows}
    res = CompareResult(threshold=threshold)
    for key, row in cur.items():
        old = base.get(key)
        if old is None:
            res.new.append(key)
            continue
        b, c = old.get("median_s"), row.get("median_s")
        both_ok = old["status"] == "ok" and row["status"] == "ok" and b and c is not None
        change = c / b if both_ok else None
        guarded = key[2] == GUARDED_PEER
        regressed = guarded and (
            (change is not None and change > threshold)
            or (old["status"] == "ok" and row["status"] != "ok")
        )
        res.entries.append(
            CompareEntry(key, b, c, change, old["status"], row["status"], regressed)
        )
    res.missing = [k for k in base if k not in cur and (k[0], k[2]) in ran]
    return res


def compare_exit_code(result: CompareResult) -> int:
    """Return 1 when any graphjit row regressed, else 0."""
    return 1 if result.regressions else 0


def format_compare(result: CompareResult) -> str:
    """Render a comparison: one line per shared row, then missing/new rows."""
    lines = [f"comparison with baseline (graphjit rows fail above {result.threshold:.2f}x)"]
    for e in result.entries:
        name = " / ".join(e.key)
        if e.change is not None:
            what = f"{fmt_time(e.base_s)} -> {fmt_time(e.cur_s)}  {e.change:.2f}x"
        else:
            what = f"{e.base_status} -> {e.cur_status}"
        flag = "  REGRESSION" if e.regressed else ""
        lines.append(f"  {name}: {what}{flag}")
    for k in result.missing:
        lines.append(f"  missing: {' / '.join(k)}")
    for k in result.new:
        lines.append(f"  new: {' / '.join(k)}")
    n = len(result.regressions)
    lines.append(f"{n} graphjit regression(s)" if n else "no graphjit regressions")
    return "\n".join(lines)


def plot_ratios(rows: Sequence[dict[str, Any]], path: str | Path) -> str | None:
    """Save a bar chart of ratio-to-limit per workload case and peer.

    Returns
    -------
    str or None
        An explanatory note when matplotlib is missing or nothing can be
        plotted, else ``None``.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed; no plot written"
    pts = [r for r in rows if r.get("ratio") is not None and r["peer"] != "numba"]
    if not pts:
        return "no rows with a ratio to plot"
    workloads = sorted({r["workload"] for r in pts})
    peers = sorted({r["peer"] for r in pts})
    fig, axes = plt.subplots(len(workloads), 1, figsize=(11, 2.6 * len(workloads)), squeeze=False)
    for ax, w in zip(axes[:, 0], workloads):
        wr = [r for r in pts if r["workload"] == w]
        labels = [f"{r['case']}\n{r['variant']}" for r in wr]
        colors = [f"C{peers.index(r['peer'])}" for r in wr]
        ax.bar(range(len(wr)), [r["ratio"] for r in wr], color=colors)
        ax.set_yscale("log")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks(range(len(wr)))
        ax.set_xticklabels(labels, fontsize=6, rotation=60, ha="right")
        ax.set_ylabel(f"{w}: time / numba")
    handles = [plt.Rectangle((0, 0), 1, 1, color=f"C{i}") for i in range(len(peers))]
    fig.legend(handles, peers, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
