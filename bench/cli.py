"""Command line of the benchmark suite (``python -m bench --help``)."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import machine
from bench.workloads import TITLES, WORKLOADS

ROOT = Path(__file__).resolve().parent.parent


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the graphjit benchmark suite against numpy, a hand-written numba "
        "kernel (the limit) and, when installed, TensorFlow, JAX and PyTensor.",
    )
    p.add_argument("--quick", action="store_true", help="short run (fewer repeats and calls)")
    p.add_argument(
        "--only",
        action="append",
        metavar="W",
        help="workloads to run, e.g. W2 or W1,W3 (repeatable)",
    )
    p.add_argument(
        "--peers",
        default="graphjit,numpy,numba,tf,jax,pytensor",
        help="comma-separated peers (default: all)",
    )
    p.add_argument("--json", metavar="OUT", help="write all rows and machine info to OUT")
    p.add_argument(
        "--compare",
        metavar="BASELINE",
        help="compare with a saved --json file; exit 1 if a graphjit row slowed",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=1.10,
        help="allowed graphjit slowdown factor for --compare (default 1.10)",
    )
    p.add_argument("--plot", metavar="PNG", help="save a ratio-to-limit chart (matplotlib)")
    p.add_argument("--threads", type=int, default=1, help="threads per library (default 1)")
    args = p.parse_args(argv)
    only = [w.upper() for w in _split(args.only)] or list(WORKLOADS)
    bad = [w for w in only if w not in WORKLOADS]
    if bad:
        p.error(f"unknown workload(s) {bad}; choose from {', '.join(WORKLOADS)}")
    args.only = [w for w in WORKLOADS if w in only]
    args.peers = _split([args.peers])
    return args


def _header(info: dict[str, Any], peers: Any, settings: Any) -> str:
    lines = ["graphjit benchmark suite", f"machine: {machine.machine_line(info)}"]
    thr = info["threads"]
    lines.append("threads: " + ", ".join(f"{k}={v}" for k, v in thr.items() if v))
    blas = info.get("blas") or []
    if blas:
        lines.append(
            "blas: "
            + "; ".join(
                f"{b.get('internal_api')} {b.get('version')} ({b.get('num_threads')} thr)"
                for b in blas
            )
        )
    tuning = info.get("openblas_tuning") or {}
    if tuning:
        lines.append(
            "WARNING: "
            + ", ".join(f"{k}={v}" for k, v in tuning.items())
            + " is set and may slow numpy; rerun with "
            "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench`"
        )
    lines.append(
        f"peers: {', '.join(peers.requested)}"
        + (f" (missing: {', '.join(sorted(peers.errors))})" if peers.errors else "")
    )
    lines.append(
        f"mode: {'quick' if settings.quick else 'full'}, repeats={settings.repeats}, "
        f"min sample {settings.min_sample_s * 1e3:g} ms; ratio = median / numba "
        "kernel median (1.00x = the limit)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the suite; return the process exit code."""
    args = parse_args(argv)
    machine.configure_threads(args.threads)

    from bench import report
    from bench.harness import Context, Settings
    from bench.peers import load_peers

    t_start = time.perf_counter()
    settings = Settings.for_mode(args.quick)
    try:
        peers = load_peers(args.peers, threads=args.threads)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if "numpy" not in peers.requested or "numba" not in peers.requested:
        print("note: without the numpy/numba peers there is no reference or limit row")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    info = machine.machine_info(ROOT)
    print(_header(info, peers, settings), flush=True)
    ctx = Context(peers=peers, settings=settings, log=lambda m: print(m, flush=True), root=ROOT)

    all_rows: list[dict[str, Any]] = []
    for wid in args.only:
        title = f"{wid}: {TITLES[wid]}"
        print(f"\n... running {title}", flush=True)
        t0 = time.perf_counter()
        try:
            rows = _load_and_run(wid, ctx)
        except Exception as exc:
            traceback.print_exc()
            from bench.harness import make_row, short_reason

            rows = [make_row(wid, "-", "-", "-", status="error", note=short_reason(exc))]
        all_rows += rows
        print(
            report.format_table(rows, f"{title}  ({time.perf_counter() - t0:.1f} s)"), flush=True
        )

    settings_doc = {
        "quick": settings.quick,
        "repeats": settings.repeats,
        "min_sample_s": settings.min_sample_s,
        "threads": args.threads,
        "peers": peers.requested,
        "peer_errors": peers.errors,
        "workloads": args.only,
        "argv": sys.argv[1:],
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    print(f"\ntotal wall time {settings_doc['wall_s']} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        report.save_json(args.json, info, settings_doc, all_rows)
        print(f"wrote {args.json}")
    if args.plot:
        note = report.plot_ratios(all_rows, args.plot)
        print(note or f"wrote {args.plot}")
    if args.compare:
        base = report.load_json(args.compare)
        if bool(base.get("settings", {}).get("quick")) != settings.quick:
            print("note: baseline and this run differ in --quick; sizes or loops may differ")
        res = report.compare_rows(base["rows"], all_rows, args.threshold)
        print("\n" + report.format_compare(res))
        return report.compare_exit_code(res)
    return 0


def _load_and_run(wid: str, ctx: Any) -> list[dict[str, Any]]:
    from bench.workloads import load

    return load(wid).run(ctx)
