"""``tf.app`` and ``tf.flags`` (TF1): a minimal absl-style flag parser and ``run``.

>>> from graphjit.train import app
>>> app.flags.DEFINE_integer("doc_steps", 10, "number of steps")
>>> app.flags.FLAGS(["prog", "--doc_steps=3"])
['prog']
>>> app.flags.FLAGS.doc_steps
3
"""

from __future__ import annotations

import sys
import types


class Error(Exception):
    """Bad flag definitions or command-line values."""


class _Flag:
    __slots__ = ("default", "help", "name", "parser", "value")

    def __init__(self, name, default, help, parser):
        self.name, self.default, self.help, self.parser = name, default, help, parser
        self.value = default


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "t", "1", "yes", "y"):
        return True
    if low in ("false", "f", "0", "no", "n"):
        return False
    raise ValueError(f"Non-boolean argument to boolean flag: {text!r}")


class _FlagValues:
    """The ``FLAGS`` object: attribute access to parsed values; call it with ``argv``."""

    def __init__(self):
        object.__setattr__(self, "_flags", {})
        object.__setattr__(self, "_parsed", False)

    def _define(self, name, default, help, parser):
        if name in self._flags:
            raise Error(f"The flag '{name}' is defined twice.")
        value = parser(default) if isinstance(default, str) and parser is not str else default
        self._flags[name] = _Flag(name, value, help, parser)

    def __getattr__(self, name):
        flags = object.__getattribute__(self, "_flags")
        if name in flags:
            return flags[name].value
        raise AttributeError(name)

    def __setattr__(self, name, value):
        if name not in self._flags:
            raise AttributeError(f"Unknown flag {name!r}")
        self._flags[name].value = value

    def __contains__(self, name):
        return name in self._flags

    def __call__(self, argv, known_only=False):
        """Parse ``argv`` (``argv[0]`` is the program); returns the leftover arguments."""
        rest = []
        args = list(argv[1:])
        i = 0
        while i < len(args):
            a = args[i]
            i += 1
            if a == "--":
                rest.extend(args[i:])
                break
            if not a.startswith("-") or a == "-":
                rest.append(a)
                continue
            body = a.lstrip("-")
            name, eq, text = body.partition("=")
            flag = self._flags.get(name)
            if flag is None and not eq and name.startswith("no"):
                f = self._flags.get(name[2:])
                if f is not None and f.parser is _parse_bool:
                    f.value = False
                    continue
            if flag is None:
                if known_only:
                    rest.append(a)
                    continue
                raise Error(f"Unknown command line flag '{name}'")
            if not eq:
                if flag.parser is _parse_bool:
                    flag.value = True
                    continue
                if i >= len(args):
                    raise Error(f"Flag --{name} must have a value other than None.")
                text = args[i]
                i += 1
            try:
                flag.value = flag.parser(text)
            except ValueError as e:
                raise Error(f"flag --{name}={text}: {e}") from None
        object.__setattr__(self, "_parsed", True)
        return [argv[0], *rest] if argv else rest

    def is_parsed(self) -> bool:
        return self._parsed

    def flag_values_dict(self) -> dict:
        return {k: f.value for k, f in self._flags.items()}

    def _reset(self):
        self._flags.clear()


FLAGS = _FlagValues()


def DEFINE_string(name, default, help, flag_values=FLAGS, **kw):
    flag_values._define(name, default, help, str)


def DEFINE_integer(
    name, default, help, flag_values=FLAGS, lower_bound=None, upper_bound=None, **kw
):
    flag_values._define(name, default, help, int)


def DEFINE_float(name, default, help, flag_values=FLAGS, lower_bound=None, upper_bound=None, **kw):
    flag_values._define(name, default, help, float)


def DEFINE_boolean(name, default, help, flag_values=FLAGS, **kw):
    flag_values._define(name, default, help, _parse_bool)


DEFINE_bool = DEFINE_boolean

flags = types.SimpleNamespace(
    FLAGS=FLAGS,
    Error=Error,
    DEFINE_string=DEFINE_string,
    DEFINE_integer=DEFINE_integer,
    DEFINE_float=DEFINE_float,
    DEFINE_boolean=DEFINE_boolean,
    DEFINE_bool=DEFINE_bool,
)


def run(main=None, argv=None):
    """Parse flags from ``argv`` (default ``sys.argv``), then ``sys.exit(main(remaining))``."""
    args = sys.argv if argv is None else argv
    remaining = FLAGS(args, known_only=True)
    main = main or sys.modules["__main__"].main
    sys.exit(main(remaining))
