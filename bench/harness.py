"""Timing harness: build, verify, warm up, then time peers interleaved.

A :class:`Case` is one measurement (for example "12-op exp/tanh chain over 1e6
float32") with one :class:`Impl` per peer and variant.  :func:`run_case`

1. builds every implementation; a build error becomes an ``unsupported`` row;
2. runs it once and checks the result against the numpy reference; a mismatch
   becomes a ``WRONG`` row that is never timed;
3. calibrates an inner loop so one sample lasts at least ``min_sample_s``;
4. takes ``repeats`` samples round-robin over the implementations (the start
   of the round rotates every repetition) so machine drift hits all alike;
5. reports median, min and max seconds per call, throughput, and the ratio to
   the hand-written numba kernel (the limit of the approach).
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Peer whose median is the denominator of every ratio.
LIMIT_PEER = "numba"


@dataclass
class Settings:
    """How hard to measure.

    Attributes
    ----------
    repeats : int
        Samples per implementation.
    min_sample_s : float
        Minimum duration of one sample; fast calls are looped to reach it.
    case_budget_s : float
        Soft limit on the timing phase of one case; repeats shrink to fit.
    quick : bool
        Whether this is a ``--quick`` run (workloads shrink sizes and loops).
    """

    repeats: int = 7
    min_sample_s: float = 0.02
    case_budget_s: float = 8.0
    quick: bool = False

    @classmethod
    def for_mode(cls, quick: bool) -> Settings:
        """Return the default settings for a full or a ``--quick`` run."""
        if quick:
            return cls(repeats=3, min_sample_s=0.005, case_budget_s=2.0, quick=True)
        return cls()


@dataclass
class Built:
    """A ready-to-time implementation.

    Attributes
    ----------
    fn : callable
        One call of the measured operation; returns its result.
    probe : callable, optional
        Produces the value that is checked against the reference (defaults to
        ``fn``). Training steps use it to run a few steps and read weights.
    close : callable, optional
        Releases resources (sessions) after the case.
    """

    fn: Callable[[], Any]
    probe: Callable[[], Any] | None = None
    close: Callable[[], None] | None = None


@dataclass
class Impl:
    """One peer's implementation of a case.

    Attributes
    ----------
    peer : str
        Peer name (``graphjit``, ``numpy``, ``numba``, ``tf``, ``jax``, ``pytensor``).
    variant : str
        What exactly is timed (``make_callable``, ``Session.run``, ``jit`` ...).
    build : callable
        Returns a :class:`Built` or a plain callable; may raise.
    verify : bool
        Reference rows (such as a memory copy) produce no comparable output.
    """

    peer: str
    variant: str
    build: Callable[[], Built | Callable[[], Any]]
    verify: bool = True


@dataclass
class Case:
    """One measurement shared by several implementations.

    Attributes
    ----------
    workload : str
        Workload id (``W1`` ...).
    case : str
        Short description of the input/size.
    impls : list of Impl
        Implementations to compare.
    check : callable
        ``check(result) -> str | None``; returns an error message when wrong.
    work : float, optional
        Bytes (unit ``GB/s``) or floating point operations (``GFLOP/s``) per call.
    unit : str, optional
        ``"GB/s"`` or ``"GFLOP/s"``.
    """

    workload: str
    case: str
    impls: list[Impl]
    check: Callable[[Any], str | None]
    work: float | None = None
    unit: str | None = None


@dataclass
class Context:
    """What a workload needs: peers, settings and a logger."""

    peers: Any
    settings: Settings
    log: Callable[[str], None] = print
    root: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent)


def short_reason(exc: BaseException, limit: int = 90) -> str:
    """Return ``"Type: message"`` of an exception, shortened to one line."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if type(exc).__name__ == "PeerUnavailable":
        text = msg
    else:
        text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_row(
    workload: str,
    case: str,
    peer: str,
    variant: str,
    status: str = "ok",
    note: str = "",
    samples: list[float] | None = None,
    number: int = 0,
    work: float | None = None,
    unit: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build one result row (a JSON-friendly dict).

    Parameters
    ----------
    workload, case, peer, variant : str
        Identify the row; ``(workload, case, peer, variant)`` is its key.
    status : str
        ``ok``, ``unsupported``, ``WRONG``, ``skipped`` or ``error``.
    note : str
        Reason for a non-ok status, or a remark.
    samples : list of float, optional
        Seconds per call, one value per repetition.
    number : int
        Calls per sample.
    work : float, optional
        Bytes or FLOPs per call, converted to a rate with ``unit``.
    unit : str, optional
        ``GB/s`` or ``GFLOP/s``.
    **extra
        Additional fields (for example RSS growth).

    Returns
    -------
    dict
    """
    row: dict[str, Any] = {
        "workload": workload,
        "case": case,
        "peer": peer,
        "variant": variant,
        "status": status,
        "note": note,
        "median_s": None,
        "min_s": None,
        "max_s": None,
        "repeats": 0,
        "number": number,
        "ratio": None,
        "rate": None,
        "unit": unit,
    }
    if samples:
        med = statistics.median(samples)
        row.update(median_s=med, min_s=min(samples), max_s=max(samples), repeats=len(samples))
        if work and unit and med > 0:
            row["rate"] = work / med / 1e9
    row.update(extra)
    return row


def fill_ratios(rows: list[dict[str, Any]]) -> None:
    """Set ``ratio`` of every ok row to its median over the numba row of its case."""
    limits: dict[tuple[str, str], float] = {}
    for row in rows:
        key = (row["workload"], row["case"])
        if row["peer"] == LIMIT_PEER and row["status"] == "ok" and row["median_s"]:
            limits.setdefault(key, row["median_s"])
    for row in rows:
        lim = limits.get((row["workload"], row["case"]))
        if lim and row["status"] == "ok" and row["median_s"] is not None:
            row["ratio"] = row["median_s"] / lim


def _time_block(fn: Callable[[], Any], number: int) -> float:
    gc_was = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number
    finally:
        if gc_was:
            gc.enable()


def interleaved_samples(
    fns: list[Callable[[], Any]], settings: Settings
) -> list[tuple[list[float], int]]:
    """Time several callables round-robin.

    Parameters
    ----------
    fns : list of callable
        Already warmed-up callables.
    settings : Settings
        Repeats, minimum sample time and case budget.

    Returns
    -------
    list of (samples, number)
        Per callable: seconds per call for each repetition, and calls per sample.
    """
    numbers: list[int] = []
    per_round = 0.0
    for fn in fns:
        t1 = max(_time_block(fn, 1), 1e-8)
        if t1 < settings.min_sample_s:
            # a second estimate over several calls is more stable for tiny calls
            n_est = max(1, min(1000, int(settings.min_sample_s / t1 / 4)))
            t1 = max(_time_block(fn, n_est), 1e-8)
        number = max(1, min(1_000_000, math.ceil(settings.min_sample_s / t1)))
        numbers.append(number)
        per_round += number * t1
    repeats = settings.repeats
    if per_round * repeats > settings.case_budget_s:
        repeats = max(3, min(repeats, int(settings.case_budget_s / max(per_round, 1e-9))))
    samples: list[list[float]] = [[] for _ in fns]
    k = len(fns)
    for r in range(repeats):
        for j in range(k):
            i = (j + r) % k
            samples[i].append(_time_block(fns[i], numbers[i]))
    return list(zip(samples, numbers))


def prepare(
    case: Case, ctx: Context
) -> tuple[list[dict[str, Any] | None], list[tuple[int, Impl, Built]], list[Callable[[], None]]]:
    """Build, verify and warm up every implementation of ``case``.

    Returns
    -------
    rows : list
        One entry per implementation: a finished row for those that failed
        (``unsupported``/``WRONG``/``error``), ``None`` for those still to time.
    live : list of (index, Impl, Built)
        Implementations ready to time; ``index`` points into ``rows``.
    closers : list of callable
        Cleanup callbacks to run after timing.
    """
    rows: list[dict[str, Any] | None] = []
    live: list[tuple[int, Impl, Built]] = []
    closers: list[Callable[[], None]] = []

    def fail(impl: Impl, status: str, note: str) -> None:
        rows.append(
            make_row(case.workload, case.case, impl.peer, impl.variant, status=status, note=note)
        )

    for impl in case.impls:
        try:
            built = impl.build()
            if not isinstance(built, Built):
                built = Built(fn=built)
            if built.close is not None:
                closers.append(built.close)
            result = (built.probe or built.fn)()
        except Exception as exc:
            fail(impl, "unsupported", short_reason(exc))
            continue
        err = None
        if impl.verify:
            try:
                err = case.check(result)
            except Exception as exc:
                err = f"check failed: {short_reason(exc)}"
        if err:
            fail(impl, "WRONG", err)
            continue
        try:
            built.fn()  # warm-up (the probe already ran once)
        except Exception as exc:
            fail(impl, "error", short_reason(exc))
            continue
        rows.append(None)
        live.append((len(rows) - 1, impl, built))
    return rows, live, closers


def close_all(closers: list[Callable[[], None]]) -> None:
    """Run cleanup callbacks, ignoring their errors."""
    for close in closers:
        try:
            close()
        except Exception:
            pass


def run_case(case: Case, ctx: Context) -> list[dict[str, Any]]:
    """Build, verify and time every implementation of ``case``.

    Parameters
    ----------
    case : Case
        The measurement.
    ctx : Context
        Settings and logger.

    Returns
    -------
    list of dict
        One row per implementation, in the order of ``case.impls``.
    """
    rows, live, closers = prepare(case, ctx)
    if live:
        try:
            timed = interleaved_samples([b.fn for _, _, b in live], ctx.settings)
        except Exception as exc:
            timed = None
            for idx, impl, _ in live:
                rows[idx] = make_row(
                    case.workload,
                    case.case,
                    impl.peer,
                    impl.variant,
                    status="error",
                    note=short_reason(exc),
                )
        if timed is not None:
            for (idx, impl, _), (samples, number) in zip(live, timed):
                rows[idx] = make_row(
                    case.workload,
                    case.case,
                    impl.peer,
                    impl.variant,
                    samples=samples,
                    number=number,
                    work=case.work,
                    unit=case.unit,
                    note="" if impl.verify else "reference",
                )
    close_all(closers)
    out = [r for r in rows if r is not None]
    fill_ratios(out)
    return out
