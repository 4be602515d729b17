"""The switches every recorded op reads, per thread: grad mode, scope, anomaly checks,
message recording and keep_values, with the context managers and decorators that set them.

As PyTorch's grad mode, they belong to the thread that set them: a ``no_grad()`` in one
thread never stops another thread's graph.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from threading import get_ident
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinygrad_rnn.tensor import Node


class _State:
    """The switches read by every recorded op, as one immutable snapshot per thread.

    Grad mode, the scope path, anomaly detection, message recording and keep_values belong
    to the thread that set them (as PyTorch's grad mode does): a ``no_grad()`` in one thread
    never stops another thread's graph. The current snapshot lives in a ContextVar (a thread
    starts with the defaults); a switch replaces the snapshot rather than editing it, so a
    snapshot seen by two threads never changes under either. ``state()`` reads it (two
    cheap calls per recorded op); ``set_state(field=value)`` switches one field.
    """

    __slots__ = ("grad_enabled", "scope", "anomaly", "recorder", "keep_values")

    def __init__(self):
        self.grad_enabled = True   # record graphs (no_grad / enable_grad flip it)
        self.scope = ""            # current scope path, e.g. "encoder/t=3/lstm"
        self.anomaly = False       # check backward for NaN/Inf (detect_anomaly)
        self.recorder = None       # a MessageRecorder while per-edge messages are recorded
        self.keep_values = False   # nodes keep their forward output (for graph pictures)


_new = object.__new__
# the default snapshot is shared by every thread that switched nothing: never mutated
_CURRENT = contextvars.ContextVar("tinygrad_rnn_state", default=_State())  # noqa: B039
state = _CURRENT.get  # the calling thread's switches: state().grad_enabled


def switch(field: str, value):
    """Set one field of the calling thread's state (a new snapshot); returns its old value."""
    old = _CURRENT.get()
    previous = getattr(old, field)
    if value is not previous:
        new = _new(_State)
        new.grad_enabled = old.grad_enabled
        new.scope = old.scope
        new.anomaly = old.anomaly
        new.recorder = old.recorder
        new.keep_values = old.keep_values
        setattr(new, field, value)
        _CURRENT.set(new)
    return previous


def set_state(**changes) -> None:
    """Switch fields of the calling thread's state (e.g. ``set_state(grad_enabled=False)``)."""
    for field, value in changes.items():
        switch(field, value)


class _CurrentState:
    """``STATE.grad_enabled`` etc.: the calling thread's switches, read through state()."""

    __slots__ = ()
    grad_enabled = property(lambda self: _CURRENT.get().grad_enabled)
    scope = property(lambda self: _CURRENT.get().scope)
    anomaly = property(lambda self: _CURRENT.get().anomaly)
    recorder = property(lambda self: _CURRENT.get().recorder)
    keep_values = property(lambda self: _CURRENT.get().keep_values)


STATE = _CurrentState()


class _GradMode:
    """Context manager and decorator that sets whether ops record the graph (in this thread).

    As a decorator it makes a fresh manager per call, so one decorated function can run in
    several threads at once; on a generator function the body runs under the mode at every
    step (the mode is switched back while the caller has control), as in PyTorch.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.previous = {}  # thread id → the modes to restore (one manager may serve threads)

    def __enter__(self):
        previous = switch("grad_enabled", self.enabled)
        self.previous.setdefault(get_ident(), []).append(previous)
        return self

    def __exit__(self, *exc):
        ident = get_ident()
        stack = self.previous[ident]
        switch("grad_enabled", stack.pop())
        if not stack:
            del self.previous[ident]
        return False

    def __call__(self, fn):
        enabled = self.enabled
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, enabled)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(enabled):
                return fn(*args, **kwargs)
        return wrapper


def _wrap_generator(fn, enabled: bool):
    """``fn``'s generator, each of its steps run under grad mode ``enabled``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with _GradMode(enabled):
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with _GradMode(enabled):
                        gen.close()
                    raise
                except BaseException as err:
                    with _GradMode(enabled):
                        response = gen.throw(err)
                else:
                    with _GradMode(enabled):
                        response = gen.send(request)
        except StopIteration as stop:
            return stop.value
    return wrapper


def _mode(enabled: bool, fn):
    mode = _GradMode(enabled)
    return mode if fn is None else mode(fn)


def no_grad(fn=None):
    """Inside this block (or decorated function) no graph is recorded, in this thread.

    ``with tg.no_grad():``, ``@tg.no_grad()`` or ``@tg.no_grad``.
    """
    return _mode(False, fn)


def enable_grad(fn=None):
    """Record the graph again, e.g. inside a ``no_grad`` block (block or decorator)."""
    return _mode(True, fn)


class set_grad_enabled(_GradMode):  # noqa: N801  (PyTorch's name; a class there too)
    """Set grad mode now: ``tg.set_grad_enabled(False)`` switches recording off for this
    thread; ``with tg.set_grad_enabled(False):`` switches it back on exit (as in PyTorch)."""

    def __init__(self, mode: bool):
        self.enabled = bool(mode)
        self.before = state().grad_enabled
        set_state(grad_enabled=self.enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        set_state(grad_enabled=self.before)
        return False

    def __call__(self, fn):  # as a decorator: undo the switch made on construction
        set_state(grad_enabled=self.before)
        return super().__call__(fn)


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return state().grad_enabled


@contextlib.contextmanager
def _switched(**changes):
    """Switch fields of this thread's state inside the block; restore only those on exit."""
    current = state()
    previous = {k: getattr(current, k) for k in changes}
    set_state(**changes)
    try:
        yield
    finally:
        set_state(**previous)


class scope:  # noqa: N801  (used as a function: with scope("t=3"): ...)
    """Tag every node made inside with ``name`` (nested scopes join with '/': ``rnn/t=3``).

    ``with scope(name) as path:`` gives the full path. A class, not a generator: recurrent
    layers open one per time step, so entering and leaving must be cheap.
    """

    __slots__ = ("name", "previous")

    def __init__(self, name: str):
        name = str(name)
        if not name or "/" in name:
            raise ValueError(f"scope names must be non-empty and contain no '/': {name!r}")
        self.name = name
        self.previous = []

    def __enter__(self) -> str:
        outer = _CURRENT.get().scope
        path = f"{outer}/{self.name}" if outer else self.name
        self.previous.append(switch("scope", path))
        return path

    def __exit__(self, *exc) -> bool:
        switch("scope", self.previous.pop())
        return False


@contextlib.contextmanager
def detect_anomaly():
    """Check every gradient computed in backward; NaN or Inf raises, naming the op and scope."""
    with _switched(anomaly=True):
        yield


@contextlib.contextmanager
def keep_values():
    """Nodes made inside keep their forward outputs (for pictures that show values)."""
    with _switched(keep_values=True):
        yield


class MessageRecorder:
    """The gradient each consumer sent to each input during backward.

    ``messages`` is a list of ``(consumer, input_index, producer, gradient_array)`` (a host
    NumPy array, also on the GPU: recording is for looking at them): for a weight used at T
    steps there are T messages to it, and their sum is its gradient.
    """

    def __init__(self):
        self.messages: list[tuple[Node, int, Node, object]] = []

    def to(self, producer: Node) -> list:
        """The messages received by ``producer`` (e.g. a parameter's node), in arrival order."""
        return [m for m in self.messages if m[2] is producer]


@contextlib.contextmanager
def record_messages():
    """Record per-edge gradient messages of the backward passes run inside (off by default)."""
    recorder = MessageRecorder()
    with _switched(recorder=recorder):
        yield recorder
