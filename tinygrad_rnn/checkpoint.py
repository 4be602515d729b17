"""Checkpoints: ``save(obj, path)`` / ``load(path)`` in a NumPy ``.npz`` that never runs code.

The file is a plain ``.npz`` archive. Every array leaf is one entry, named by its path in the
nested structure (``"model/weight_hh_l0"``, ``"optim/state/0/exp_avg"``), so ``numpy.load``
alone can inspect it. One more entry, ``__tinygrad_rnn__``, is a 0-d unicode array holding
JSON: the structure (dicts with their key order and key types, lists, tuples) and the
non-array leaves (int, float, bool, str, None). Loading uses ``allow_pickle=False``: a file
holding Python objects is refused, so opening a checkpoint can never execute code.

Saving writes a temporary file in the target's directory and renames it over the target
(``os.replace``), so a crash mid-save leaves the previous checkpoint intact. Arrays are copied
to host memory first, so a checkpoint written on the GPU loads on a CPU-only machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any

from tinygrad_rnn import backend
from tinygrad_rnn.ops import ShapeError
from tinygrad_rnn.tensor import Tensor

__all__ = ["save", "load", "check_state", "CheckpointError", "StateDictError"]

META_KEY = "__tinygrad_rnn__"
FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file cannot be read: truncated, corrupt, or holding pickled objects."""


class StateDictError(KeyError):
    """A state dict's keys do not match the module's (missing or unexpected names)."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` to ``path`` atomically.

    ``obj`` is a Module or an Optimizer (anything with ``state_dict()``), or a nested dict
    (str or int keys) / list / tuple whose leaves are Tensors, arrays, int, float, bool, str
    or None — e.g. ``{"model": model, "optim": opt, "epoch": 3}``. Objects with
    ``state_dict()`` inside the structure are saved as their state dicts.
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if os.path.isdir(os.fspath(path)):
        raise CheckpointError(f"save: {os.fspath(path)!r} is a directory; give a file name")
    if not os.path.isdir(folder):
        raise CheckpointError(f"save: the folder {folder!r} for {os.fspath(path)!r} does not exist")
    arrays: dict = {}
    tree = _flatten(obj, "", arrays)
    arrays[META_KEY] = backend.host_asarray(json.dumps({"format": FORMAT, "tree": tree}))
    _write_atomically(os.fspath(path), arrays)


def load(path: str | os.PathLike, device: str = "cpu") -> dict:
    """Read a checkpoint written by :func:`save`; array leaves come back as Tensors.

    So ``model.load_state_dict(load(path))`` and ``opt.load_state_dict(load(path))`` work
    for files saved from a module or an optimizer. The Tensors live on ``device`` (the CPU
    by default) and do not require grad. A plain ``.npz`` without our metadata (e.g. a
    PyTorch state dict exported with ``numpy.savez``) loads as a flat dict name → Tensor.
    Raises :class:`CheckpointError` naming the path for unreadable files.
    """
    path = os.fspath(path)
    try:
        arrays = backend.load_npz(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except ValueError as err:
        if "pickle" in str(err):
            raise CheckpointError(f"{path}: the file holds pickled Python objects; refusing to "
                                  f"load them, since unpickling can execute code") from None
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt?): "
                              f"{err}") from err
    except Exception as err:  # zipfile, zlib and EOF errors from a damaged archive
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt?): "
                              f"{type(err).__name__}: {err}") from err
    meta = arrays.pop(META_KEY, None)
    if meta is None:
        return {key: Tensor(a, device=device) for key, a in arrays.items()}
    try:
        info = json.loads(str(meta[()]))
        if info.get("format") != FORMAT:
            raise CheckpointError(f"{path}: checkpoint format {info.get('format')!r} is not "
                                  f"supported (this version reads format {FORMAT})")
        return _unflatten(info["tree"], arrays, device)
    except CheckpointError:
        raise
    except Exception as err:
        raise CheckpointError(f"{path}: the checkpoint's structure entry is damaged: "
                              f"{type(err).__name__}: {err}") from err


def _flatten(obj, key: str, arrays: dict):
    """The JSON description of ``obj``; its arrays go into ``arrays`` under their path."""
    if hasattr(obj, "state_dict") and not isinstance(obj, Tensor):
        obj = obj.state_dict()
    if isinstance(obj, Tensor):
        obj = obj.data
    if backend.is_array(obj):
        host = backend.to_host(obj)
        if host.dtype.kind not in "biuf":
            raise TypeError(f"save: the array at {key or '(top)'!r} has dtype {host.dtype}; "
                            f"only bool, integer and float arrays can be saved")
        name = key or "value"
        if name in arrays or name == META_KEY:
            raise ValueError(f"save: two entries would both be stored as {name!r}; rename "
                             f"the keys (a '/' inside a key collides with nesting)")
        arrays[name] = host
        return {"array": name}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if backend.is_scalar(obj):  # a NumPy scalar
        return {"value": obj.item()}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be str or int, got {k!r} at {key or '(top)'!r}")
            items.append([k, _flatten(v, f"{key}/{k}" if key else str(k), arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [_flatten(v, f"{key}/{i}" if key else str(i), arrays)
                       for i, v in enumerate(obj)]}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {key or '(top)'!r}; use "
                    f"Tensors, arrays, numbers, strings, None, dicts, lists and tuples")


def _unflatten(node: dict, arrays: dict, device: str):
    if "array" in node:
        return Tensor(arrays[node["array"]], device=device)
    if "value" in node:
        return node["value"]
    if "dict" in node:
        return {k: _unflatten(v, arrays, device) for k, v in node["dict"]}
    if "tuple" in node:
        return tuple(_unflatten(v, arrays, device) for v in node["tuple"])
    return [_unflatten(v, arrays, device) for v in node["list"]]


def _write_atomically(path: str, arrays: dict) -> None:
    """Write to a temporary file next to ``path``, sync it, then rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            backend.savez(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_state(expected: dict, given: dict, strict: bool = True, owner: str = "module"
                ) -> tuple[list[str], list[str]]:
    """Compare the names and shapes of a state dict with what its owner expects.

    ``expected`` and ``given`` map names to shapes. Returns ``(missing, unexpected)`` names.
    With ``strict``, missing or unexpected names raise :class:`StateDictError` (a KeyError);
    a shape mismatch always raises (a :class:`ShapeError`, i.e. a ValueError, when it is the
    only problem). The message lists every problem, naming ``owner``.
    """
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    problems = []
    if strict and missing:
        problems.append(f"missing key(s): {', '.join(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected key(s): {', '.join(unexpected)}")
    for k in expected:
        if k in given and tuple(expected[k]) != tuple(given[k]):
            problems.append(f"shape mismatch for {k}: the state has {tuple(given[k])}, "
                            f"{owner} expects {tuple(expected[k])}")
    if problems:
        message = f"error(s) loading a state dict into {owner}:\n  " + "\n  ".join(problems)
        raise StateDictError(message) if strict and (missing or unexpected) else ShapeError(message)
    return missing, unexpected
