"""Tests of the benchmark suite's regression comparison (``python -m bench --compare``)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402


def _row(
    workload: str, case: str, peer: str, variant: str, median: float | None, status: str = "ok"
) -> dict:
    return {
        "workload": workload,
        "case": case,
        "peer": peer,
        "variant": variant,
        "status": status,
        "note": "",
        "median_s": median,
        "min_s": median,
        "max_s": median,
        "repeats": 3,
        "number": 1,
        "ratio": None,
        "rate": None,
        "unit": None,
    }


@pytest.fixture
def baseline() -> list[dict]:
    return [
        _row("W1", "scalar", "graphjit", "make_callable", 10e-6),
        _row("W1", "scalar", "graphjit", "Session.run", 20e-6),
        _row("W1", "scalar", "numpy", "eager", 1e-7),
        _row("W1", "scalar", "numba", "njit", 3e-7),
        _row("W2", "11-op arith n=1e6", "graphjit", "make_callable", 1e-3),
        _row("W2", "11-op arith n=1e6", "tf", "make_callable", 2e-3),
    ]


def test_same_speed_passes(baseline: list[dict]) -> None:
    res = report.compare_rows(baseline, copy.deepcopy(baseline), threshold=1.10)
    assert res.regressions == []
    assert report.compare_exit_code(res) == 0
    assert len(res.entries) == len(baseline)
    assert all(e.change == pytest.approx(1.0) for e in res.entries)
    assert "no graphjit regressions" in report.format_compare(res)


def test_planted_graphjit_slowdown_fails(baseline: list[dict]) -> None:
    current = copy.deepcopy(baseline)
    current[0]["median_s"] *= 1.25
    res = report.compare_rows(baseline, current, threshold=1.10)
    assert [e.key for e in res.regressions] == [("W1", "scalar", "graphjit", "make_callable")]
    assert report.compare_exit_code(res) == 1
    assert "REGRESSION" in report.format_compare(res)


def test_slowdown_within_threshold_passes(baseline: list[dict]) -> None:
    current = copy.deepcopy(baseline)
    current[0]["median_s"] *= 1.05
    assert report.compare_exit_code(report.compare_rows(baseline, current, 1.10)) == 0
    assert report.compare_exit_code(report.compare_rows(baseline, current, 1.02)) == 1


def test_other_peers_never_fail(baseline: list[dict]) -> None:
    current = copy.deepcopy(baseline)
    for row in current:
        if row["peer"] != "graphjit":
            row["median_s"] *= 10
    current[2]["status"] = "WRONG"
    res = report.compare_rows(baseline, current, threshold=1.10)
    assert res.regressions == []
    assert report.compare_exit_code(res) == 0


def test_graphjit_status_regression_fails(baseline: list[dict]) -> None:
    current = copy.deepcopy(baseline)
    current[1].update(status="unsupported", median_s=None, note="NotImplementedError: x")
    res = report.compare_rows(baseline, current, threshold=1.10)
    assert [e.key[3] for e in res.regressions] == ["Session.run"]
    assert report.compare_exit_code(res) == 1


def test_graphjit_becoming_supported_is_not_a_regression(baseline: list[dict]) -> None:
    base = copy.deepcopy(baseline)
    base[0].update(status="unsupported", median_s=None)
    res = report.compare_rows(base, baseline, threshold=1.10)
    assert report.compare_exit_code(res) == 0


def test_missing_and_new_rows_are_reported(baseline: list[dict]) -> None:
    current = [r for r in copy.deepcopy(baseline) if r["variant"] != "Session.run"]
    current.append(_row("W1", "float32[8]", "graphjit", "make_callable", 1e-5))
    res = report.compare_rows(baseline, current, threshold=1.10)
    assert res.missing == [("W1", "scalar", "graphjit", "Session.run")]
    assert res.new == [("W1", "float32[8]", "graphjit", "make_callable")]
    assert report.compare_exit_code(res) == 0
    text = report.format_compare(res)
    assert "missing: W1 / scalar / graphjit / Session.run" in text
    assert "new: W1 / float32[8] / graphjit / make_callable" in text


def test_rows_of_workloads_or_peers_not_run_are_not_missing(baseline: list[dict]) -> None:
    current = [r for r in copy.deepcopy(baseline) if r["workload"] == "W1"]
    assert report.compare_rows(baseline, current, threshold=1.10).missing == []
    current = [r for r in current if r["peer"] in ("numpy", "numba")]  # --peers numpy,numba
    assert report.compare_rows(baseline, current, threshold=1.10).missing == []


def test_json_round_trip_and_table(tmp_path: Path, baseline: list[dict]) -> None:
    path = tmp_path / "base.json"
    report.save_json(path, {"cpu": "test"}, {"quick": True}, baseline)
    doc = report.load_json(path)
    assert doc["rows"] == baseline
    assert doc["schema"] == report.SCHEMA
    table = report.format_table(baseline[:4], "W1")
    assert "graphjit" in table and "10 us" in table


def test_only_parsing_and_file_compare(tmp_path: Path, baseline: list[dict]) -> None:
    """--only accepts repeated and comma-separated ids; a saved slower file fails."""
    from bench import cli

    slower = copy.deepcopy(baseline)
    slower[0]["median_s"] /= 2  # baseline twice as fast as the run below
    path = tmp_path / "base.json"
    report.save_json(path, {}, {"quick": True}, slower)
    res = report.compare_rows(report.load_json(path)["rows"], baseline, 1.10)
    assert report.compare_exit_code(res) == 1
    assert cli.parse_args(["--only", "w1,W3", "--only", "W2"]).only == ["W1", "W2", "W3"]


def test_smoke_quick_run_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            "W1",
            "--peers",
            "numpy,numba",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    assert doc["machine"]["cpu"]
    rows = doc["rows"]
    assert {r["peer"] for r in rows} == {"numpy", "numba"}
    assert all(r["status"] == "ok" and r["median_s"] > 0 for r in rows)
    assert {r["case"] for r in rows} == {"scalar", "float32[8]"}
    # the same file passes a comparison with itself
    assert report.compare_exit_code(report.compare_rows(rows, rows)) == 0
