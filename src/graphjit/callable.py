"""``Session.make_callable``: a reusable function for one fetch/feed signature.

The fetch structure is resolved once; feed keys once (at the first call, as TF validates
them); every call then only converts its arguments and runs the cached Program.
"""

from __future__ import annotations

from .errors import CancelledError
from .fetch import FetchMapper
from .session_feed import _flatten_key_value, _resolve_key, convert_value


class SessionCallable:
    """What ``make_callable`` returns; see :meth:`Session.make_callable`."""

    __slots__ = (
        "__weakref__",
        "_accept_options",
        "_feed_keys",
        "_feed_list",
        "_fetches",
        "_mapper",
        "_session",
    )

    def __init__(self, session, fetches, feed_list, accept_options):
        self._session = session
        self._fetches = fetches
        self._feed_list = feed_list
        self._accept_options = accept_options
        self._mapper = None
        self._feed_keys = None
        if feed_list is None:
            self._mapper = FetchMapper(session.graph, fetches)  # validated now (TF)

    def _prepare(self):
        sess = self._session
        if self._mapper is None:
            self._mapper = FetchMapper(sess.graph, self._fetches)
        if self._feed_keys is None:
            self._feed_keys = list(self._feed_list or ())

    def __call__(self, *args, **kwargs):
        sess = self._session
        if self._feed_list is None:
            if args:
                raise TypeError(
                    f"This callable takes no positional arguments (feed_list is "
                    f"None) but {len(args)} were given"
                )
            if kwargs and not self._accept_options:
                raise TypeError(
                    f"This callable takes no keyword arguments unless created with "
                    f"accept_options=True, got {sorted(kwargs)}"
                )
            unknown = set(kwargs) - {"options", "run_metadata"}
            if unknown:
                raise TypeError(f"Unexpected keyword arguments {sorted(unknown)}")
            if sess._closed:
                raise CancelledError(None, None, "Session has been closed.")
            sess._check_graph_not_empty()
            values = sess._run_elements(
                self._mapper.elements,
                {},
                kwargs.get("options"),
                kwargs.get("run_metadata"),
                wrap=False,
            )
            return self._mapper.build(values)
        n = len(self._feed_list)
        if len(args) != n:
            raise TypeError(
                f"This callable takes {n} positional argument{'s' if n != 1 else ''} (one per "
                f"feed_list entry), got {len(args)}"
            )
        unknown = set(kwargs) - {"options", "run_metadata"}
        if unknown:
            raise TypeError(f"run() got unexpected keyword arguments {sorted(unknown)}")
        sess._check_open()
        sess._check_graph_not_empty()
        self._prepare()
        graph = sess.graph
        feeds = {}
        for key, value in zip(self._feed_keys, args):
            for k, v in _flatten_key_value(key, value):
                t = _resolve_key(graph, k)
                run, back = convert_value(t, v)
                feeds[id(t)] = (t, run, back)
        values = sess._run_elements(
            self._mapper.elements, feeds, kwargs.get("options"), kwargs.get("run_metadata")
        )
        return self._mapper.build(values)


def make_session_callable(session, fetches, feed_list, accept_options):
    """Validate ``feed_list`` and build a :class:`SessionCallable`."""
    if feed_list is not None and not isinstance(feed_list, (list, tuple)):
        raise TypeError(
            f"Argument `feed_list` must be a list or tuple. Received: feed_list={feed_list}"
        )
    from .fastcall import wrap  # L0 cache: an arity-specific compiled fast path

    return wrap(SessionCallable(session, fetches, feed_list, accept_options))
