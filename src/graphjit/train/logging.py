"""``tf.logging`` (TF1): thin wrappers over the standard :mod:`logging` module.

Messages go to the ``"tensorflow"`` logger, as in TF, so existing log configuration applies.
"""

from __future__ import annotations

import logging as _logging

DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = _logging.WARN
ERROR = _logging.ERROR
FATAL = _logging.FATAL

_logger = _logging.getLogger("tensorflow")
if not _logger.handlers:
    _handler = _logging.StreamHandler()
    _handler.setFormatter(_logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    _logger.addHandler(_handler)
    _logger.propagate = False
_logger.setLevel(WARN)


def get_logger() -> _logging.Logger:
    """The ``"tensorflow"`` logger."""
    return _logger


def set_verbosity(v) -> None:
    """Log messages at level ``v`` and above (``tf.logging.set_verbosity(tf.logging.INFO)``)."""
    _logger.setLevel(v)


def get_verbosity() -> int:
    return _logger.getEffectiveLevel()


def log(level, msg, *args, **kwargs) -> None:
    _logger.log(level, msg, *args, **kwargs)


def debug(msg, *args, **kwargs) -> None:
    _logger.debug(msg, *args, **kwargs)


def info(msg, *args, **kwargs) -> None:
    _logger.info(msg, *args, **kwargs)


def warning(msg, *args, **kwargs) -> None:
    _logger.warning(msg, *args, **kwargs)


warn = warning


def error(msg, *args, **kwargs) -> None:
    _logger.error(msg, *args, **kwargs)


def fatal(msg, *args, **kwargs) -> None:
    _logger.fatal(msg, *args, **kwargs)


_counts: dict = {}


def log_every_n(level, msg, n, *args) -> None:
    """Log on the 1st, (n+1)th, (2n+1)th ... call from the same place."""
    import sys

    key = sys._getframe(1).f_code, sys._getframe(1).f_lineno
    count = _counts.get(key, 0)
    _counts[key] = count + 1
    if count % n == 0:
        log(level, msg, *args)


def log_first_n(level, msg, n, *args) -> None:
    """Log only the first ``n`` calls from the same place."""
    import sys

    key = sys._getframe(1).f_code, sys._getframe(1).f_lineno
    count = _counts.get(key, 0)
    _counts[key] = count + 1
    if count < n:
        log(level, msg, *args)
