"""Checkpoints: ``save(obj, path)`` / ``load(path)`` in a NumPy ``.npz`` that never runs code.

The file is a plain ``.npz`` archive. Every array leaf is one entry, named by its path in the
nested structure (``"model/weight_hh_l0"``, ``"optim/state/0/exp_avg"``), so ``numpy.load``
alone can inspect it. One more entry, ``__tinygrad_rnn__``, is a 0-d unicode array holding
JSON: the structure (dicts with their key order and key types, lists, tuples) and the
non-array leaves (int, float, bool, str, None); a flat dict of arrays (a module's
``state_dict``) is stored without it, so the file holds exactly the weights (and loads in file
order). Loading uses ``allow_pickle=False``: a file holding Python objects is refused, so
opening a checkpoint can never execute code.

A path ending in ``.safetensors`` is written and read through the optional ``safetensors``
package instead: one entry per array under the same names (a module's are exactly PyTorch's,
so ``safetensors.torch.load_file`` + ``load_state_dict`` works in PyTorch), the structure in
the file's metadata. A file from ``safetensors.torch.save_file(module.state_dict())`` loads
here as a flat dict name → Tensor.

Saving writes a temporary file in the target's directory and renames it over the target
(``os.replace``), so a crash mid-save leaves the previous checkpoint intact; the temporary
files of earlier saves of that target killed mid-write are removed by the next save.
Arrays are copied to host memory first, so a checkpoint written on the GPU loads on a
CPU-only machine.

Files that are not checkpoints are named for what they are: a ``torch.save`` file (with the
two lines that convert it), a single ``.npy`` array, another pickle, or unknown bytes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import tempfile
import zipfile
from typing import Any

from tinygrad_rnn import backend
from tinygrad_rnn.errors import CheckpointError, ShapeError, StateDictError
from tinygrad_rnn.tensor import Tensor

__all__ = ["save", "load", "check_state", "CheckpointError", "StateDictError"]

META_KEY = "__tinygrad_rnn__"
FORMAT = 1




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
    meta = json.dumps({"format": FORMAT, "tree": tree})
    if _is_safetensors(path):  # the structure goes in the header's metadata, apart from the arrays
        numpy_api = _safetensors()
        blob = numpy_api.save({k: _contiguous(a) for k, a in arrays.items()}, metadata={META_KEY: meta})
        _write_atomically(os.fspath(path), lambda f: f.write(blob))
        return
    # a flat dict of named arrays (a module's state) needs no structure entry: the file is
    # then exactly the weights, so dict(numpy.load(path)) goes straight into PyTorch
    if not ("dict" in tree and all(isinstance(k, str) and v == {"array": k} for k, v in tree["dict"])):
        arrays[META_KEY] = backend.host_asarray(meta)
    _write_atomically(os.fspath(path), lambda f: backend.savez(f, arrays))


def load(path: str | os.PathLike, device: str = "cpu") -> dict:
    """Read a checkpoint written by :func:`save`; array leaves come back as Tensors.

    So ``model.load_state_dict(load(path))`` and ``opt.load_state_dict(load(path))`` work
    for files saved from a module or an optimizer. The Tensors live on ``device`` (the CPU
    by default) and do not require grad. A plain ``.npz`` without our metadata (e.g. a
    PyTorch state dict exported with ``numpy.savez``) loads as a flat dict name → Tensor.
    Raises :class:`CheckpointError` naming the path for unreadable files, and saying what a
    foreign file is (a ``torch.save`` file, a single ``.npy`` array, ...) and how to convert it.
    """
    path = os.fspath(path)
    if _is_safetensors(path):
        return _load_safetensors(path, device)
    _refuse_foreign(path)
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
    return _from_meta(path, str(meta[()]), arrays, device)


def _from_meta(path: str, meta: str, arrays: dict, device: str):
    """The saved structure rebuilt from its JSON description and the arrays."""
    try:
        info = json.loads(meta)
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


def _write_atomically(path: str, write) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, sync it, then rename it over
    ``path``. The temporary name holds our process id, so temporaries left by earlier saves of
    this target whose process has died (killed mid-write) are removed afterwards."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
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
    _remove_stale_temporaries(directory, prefix)


def _remove_stale_temporaries(directory: str, prefix: str) -> None:
    """Delete ``prefix<pid>.*.tmp`` files whose writer process no longer runs."""
    for name in os.listdir(directory):
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but is not ours (or we cannot tell): leave its file alone
    return True


# ---- foreign files and safetensors ---------------------------------------------------------------

_PICKLE_TORCH_MAGIC = bytes.fromhex("8a0a6cfc9c46f9206aa85019")  # torch's legacy magic, pickled
_CONVERT = ("convert it with PyTorch:\n    import torch, safetensors.torch\n"
            "    safetensors.torch.save_file(torch.load({p!r}, weights_only=True), 'model.safetensors')\n"
            "then tinygrad_rnn.load('model.safetensors') (for a whole pickled model, save its "
            ".state_dict() instead)")


def _refuse_foreign(path: str) -> None:
    """Raise a CheckpointError saying what ``path`` is, unless it looks like an .npz archive."""
    with open(path, "rb") as f:
        head = f.read(64)
    if head.startswith(b"\x93NUMPY"):
        raise CheckpointError(f"{path} is a single .npy array, not a tinygrad_rnn checkpoint; read it "
                              f"with numpy.load({path!r}) and wrap it: tinygrad_rnn.Tensor(array)")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        if _PICKLE_TORCH_MAGIC in head:
            raise CheckpointError(f"{path} is a torch.save file (legacy format): a Python pickle, "
                                  f"which tinygrad_rnn never loads; " + _CONVERT.format(p=path))
        raise CheckpointError(f"{path} is a Python pickle, not a tinygrad_rnn checkpoint; "
                              f"unpickling can execute code, so it is refused")
    if not head.startswith(b"PK"):
        raise CheckpointError(f"{path} is not a tinygrad_rnn checkpoint (not a NumPy .npz archive; "
                              f"it starts with {head[:8]!r})")
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return  # a damaged archive: numpy.load reports it as truncated or corrupt
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        raise CheckpointError(f"{path} is a torch.save file (a zip with data.pkl), which "
                              f"tinygrad_rnn never unpickles; " + _CONVERT.format(p=path))
    others = [n for n in names if not n.endswith(".npy")]
    if others:
        raise CheckpointError(f"{path} is a zip archive but not a tinygrad_rnn checkpoint: it holds "
                              f"{', '.join(others[:3])}{' ...' if len(others) > 3 else ''}, not only "
                              f".npy arrays")


def _is_safetensors(path) -> bool:
    return os.fspath(path).endswith(".safetensors")


def _safetensors():
    """The safetensors package's NumPy API, or an ImportError saying how to install it."""
    try:
        return importlib.import_module("safetensors.numpy")
    except ImportError:
        raise ImportError("reading and writing .safetensors files needs the optional package "
                          "safetensors: pip install 'tinygrad_rnn[safetensors]' (or pip install "
                          "safetensors), or save to a .npz path instead") from None


def _contiguous(array):
    return array if array.flags.c_contiguous else array.copy()


def _load_safetensors(path: str, device: str):
    numpy_api = _safetensors()
    with open(path, "rb") as f:
        blob = f.read()
    try:
        arrays = numpy_api.load(blob)
        size = int.from_bytes(blob[:8], "little")  # the header: its length, then JSON
        meta = json.loads(blob[8:8 + size]).get("__metadata__") or {}
    except Exception as err:  # SafetensorError, or a dtype NumPy lacks (bfloat16)
        raise CheckpointError(f"{path} is not a readable .safetensors file: "
                              f"{type(err).__name__}: {err}") from err
    del blob
    # the arrays are read-only views of the file's bytes; parameters must be writable
    arrays = {k: a if a.flags.writeable else a.copy() for k, a in arrays.items()}
    if META_KEY in meta:
        return _from_meta(path, meta[META_KEY], arrays, device)
    return {key: Tensor(a, device=device) for key, a in arrays.items()}


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
