"""Every exception the library raises on purpose, in one room.

Each one's message says what went wrong and what to do instead. This module imports nothing,
so any module (the backend included) can raise these, and users catch them from
``tinygrad_rnn`` directly (``tg.ShapeError``, ``tg.DeviceError``, …).
"""

from __future__ import annotations


class ShapeError(ValueError, RuntimeError):
    """An op got shapes it cannot combine; the message names the op, the shapes and the scope.

    A ValueError (NumPy's habit) and a RuntimeError (what PyTorch raises for shape mismatches),
    so either ``except`` catches it.
    """


class IndexOutOfRange(ShapeError, IndexError):
    """An index does not fit the tensor (an IndexError too, so iteration protocols work)."""


class DTypeError(TypeError):
    """Tensors of different float precision were mixed in one op."""


class DeviceError(RuntimeError):
    """The requested device is not usable here, or two devices were mixed."""


class CheckpointError(ValueError):
    """A checkpoint file cannot be read: truncated, corrupt, or holding pickled objects."""


class StateDictError(KeyError):
    """A state dict's keys do not match the module's (missing or unexpected names)."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


class GradcheckError(AssertionError):
    """The analytic and the numerical gradient disagree (the message says where and by how much)."""


class GraphvizNotFound(RuntimeError):
    """graphviz's ``dot`` program is missing; the .dot file was still written."""


class LayoutTooBig(RuntimeError):
    """The view is too big for ``dot`` to lay out in reasonable time (refused up front, or
    stopped after ``timeout`` seconds); the .dot file was still written."""


class TreeSyntaxError(ValueError):
    """A malformed bracket string; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position
