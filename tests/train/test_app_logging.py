"""tf.app.flags parsing and tf.logging levels."""

from __future__ import annotations

import logging

import pytest

import graphjit.compat.v1 as tf
from graphjit.train import app


@pytest.fixture
def flags():
    fv = app._FlagValues()
    app.DEFINE_integer("steps", 10, "n", flag_values=fv)
    app.DEFINE_float("lr", 0.1, "l", flag_values=fv)
    app.DEFINE_string("optimizer", "sgd", "o", flag_values=fv)
    app.DEFINE_boolean("quick", False, "q", flag_values=fv)
    return fv


def test_flags_parse_argv_forms(flags):
    rest = flags(["prog", "--steps", "5", "--lr=0.5", "pos", "--optimizer=adam", "--quick"])
    assert rest == ["prog", "pos"]
    assert (flags.steps, flags.lr, flags.optimizer, flags.quick) == (5, 0.5, "adam", True)
    flags(["prog", "--noquick", "-steps=7"])
    assert (flags.quick, flags.steps) == (False, 7)


def test_flags_keep_defaults_and_reject_bad_values(flags):
    flags(["prog"])
    assert flags.flag_values_dict() == {"steps": 10, "lr": 0.1, "optimizer": "sgd", "quick": False}
    with pytest.raises(app.Error, match="steps"):
        flags(["prog", "--steps=abc"])
    with pytest.raises(app.Error, match="Unknown command line flag 'nope'"):
        flags(["prog", "--nope=1"])
    with pytest.raises(app.Error, match="defined twice"):
        app.DEFINE_integer("steps", 1, "again", flag_values=flags)


def test_app_run_parses_flags_and_passes_remaining_argv(monkeypatch):
    name = "test_app_run_only_flag"
    if name not in tf.flags.FLAGS:
        tf.flags.DEFINE_integer(name, 1, "for a test")
    seen = []
    with pytest.raises(SystemExit) as e:
        tf.app.run(lambda argv: seen.append(argv) or 0, argv=["p", f"--{name}=4", "x"])
    assert e.value.code == 0
    assert seen == [["p", "x"]]
    assert getattr(tf.flags.FLAGS, name) == 4


def test_logging_levels_follow_set_verbosity():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    old = tf.logging.get_verbosity()
    handler = Keep()
    tf.logging.get_logger().addHandler(handler)
    try:
        tf.logging.set_verbosity(tf.logging.ERROR)
        tf.logging.info("hidden")
        tf.logging.warning("hidden too")
        tf.logging.error("bad %d", 1)
        tf.logging.set_verbosity(tf.logging.INFO)
        tf.logging.info("now shown")
    finally:
        tf.logging.get_logger().removeHandler(handler)
        tf.logging.set_verbosity(old)
    assert records == ["bad 1", "now shown"]
    levels = (tf.logging.DEBUG, tf.logging.INFO, tf.logging.WARN, tf.logging.ERROR)
    assert levels == (10, 20, 30, 40)
