"""Tensor: an array, its gradient, and the graph node that made it.

A Tensor is a thin handle: ``data`` is a backend array (NumPy or CuPy), ``grad`` is a Tensor
or None, and ``_node`` is the :class:`Node` that recorded how it was computed (None for a
tensor that does not require gradients). The graph is made of Nodes, not Tensors, so an
intermediate array that no backward rule needs is freed as soon as the user drops its Tensor.
The operators only forward to :mod:`tinygrad_rnn.ops`, where every primitive lives.
"""

from __future__ import annotations

import copy
import weakref

from tinygrad_rnn import backend
from tinygrad_rnn.modes import STATE, set_state, state  # noqa: F401  (re-exported: ops reads them here)
from tinygrad_rnn.writes import WRITES, mark_written, written_after  # noqa: F401  (re-exported)
from tinygrad_rnn.writes import ranks as _ranks


class Node:
    """One recorded operation: what ran, on which inputs, and what backward needs.

    ``inputs`` is the ordered tuple of the op's inputs (duplicates kept, so ``x * x`` has two
    edges to x): a Node where the input requires grad, else the constant itself (a Tensor or
    a Python number). ``rank`` grows with creation, so every node's inputs have lower ranks
    than the node: walking ranks downwards is a reverse topological order.
    """

    __slots__ = (
        "op",      # an ops.Op (None for a leaf)
        "inputs",  # the ordered inputs: Nodes, or constants that need no gradient
        "saved",   # arrays the VJPs need; FREED once backward has used them
        "attrs",   # non-tensor arguments (axis, shape, index, ...)
        "scope",   # the scope path it was made in, e.g. "lstm/l0/fwd/t=3"
        "rank",    # creation order
        "shape", "dtype", "name",
        "watch",   # a Watch when hooks, retain_grad or a leaf tensor need it
        "value",   # the forward output, kept only inside autograd.keep_values (for pictures)
    )

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    def __repr__(self) -> str:
        op = "leaf" if self.op is None else self.op.name
        where = f" in {self.scope}" if self.scope else ""
        return f"<Node {op}{where} shape={self.shape}>"


def record(op, inputs, saved, attrs, out) -> Tensor:
    """A Tensor of the array ``out`` with the Node that records how it was made.

    The one place Nodes are made, written out flat: it runs once per recorded op (the last
    five lines are Tensor._wrap inlined; the call would cost 1 % of a small LSTM's step).
    """
    st = state()
    node = _new(Node)
    node.op = op
    node.inputs = inputs
    node.saved = saved
    node.attrs = attrs
    node.scope = st.scope
    node.rank = next(_ranks)
    node.shape = out.shape
    node.dtype = out.dtype
    node.name = None
    node.watch = None
    node.value = out if st.keep_values else None
    t = _new(Tensor)
    t.data = out
    t.grad = None
    t._node = node
    t._name = None
    return t


class Watch:
    """The rarely used parts of a node: its leaf tensor, a retained tensor, hooks."""

    __slots__ = ("leaf", "retained", "hooks")

    def __init__(self):
        self.leaf = None       # weakref to the leaf Tensor whose .grad we accumulate into
        self.retained = None   # weakref to a non-leaf Tensor that asked for retain_grad()
        self.hooks = []        # functions grad -> grad | None


_new = object.__new__
FREED = ("freed",)  # marks saved arrays released by a backward pass


def host_array(value):
    """A Tensor, a NumPy/CuPy array or a (nested) list as a host NumPy array: for the
    indices, lengths, masks and state values that modules check on the host."""
    if isinstance(value, Tensor):
        return backend.to_host(value.data)
    if backend.is_array(value):
        return backend.to_host(value)
    return backend.host_asarray(value)


def from_numpy(array) -> Tensor:
    """A tensor that shares memory with the NumPy array ``array`` (PyTorch's ``from_numpy``).

    No copy is made: writing into the array changes the tensor and the other way round (and
    an in-place write into it after an op saved it for backward is caught by backward).
    ``Tensor(array)`` and ``tg.tensor(array)`` copy instead.
    """
    if not backend.is_array(array) or backend.device_of(array) != "cpu":
        raise TypeError(f"from_numpy expects a NumPy array, got {type(array).__name__}; use "
                        f"tg.tensor(data) to copy other data into a tensor")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"from_numpy: arrays of dtype {array.dtype} cannot be tensors (use a "
                        f"float, integer or bool array)")
    return Tensor._wrap(array)


def reachable(roots) -> set:
    """Every node the ``roots`` depend on, themselves included (a stack walk, no recursion)."""
    seen, stack = set(roots), list(roots)
    while stack:
        for p in stack.pop().inputs:
            if type(p) is Node and p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def leaf_node(tensor: Tensor) -> Node:
    node = record(None, (), (), None, tensor.data)._node
    node.name = tensor._name
    node.watch = Watch()
    node.watch.leaf = weakref.ref(tensor)
    return node


class Tensor:
    """An n-dimensional array that records the operations made on it.

    ``Tensor(data, requires_grad=False, device=None, dtype=None, name=None)``: `data` may be a
    list, a scalar, a NumPy/CuPy array or a Tensor, and is always copied (as ``torch.tensor``
    does), so refilling the source array never changes the tensor or a graph that saved it;
    ``tg.from_numpy(array)`` shares memory instead. Python floats become float32; arrays keep
    their dtype unless `dtype` is given.
    """

    __slots__ = ("data", "grad", "_node", "_name", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor calls Tensor.__rmul__

    def __init__(self, data, requires_grad: bool = False, device: str | None = None,
                 dtype=None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        device = backend.check_device(device) if device is not None else \
            backend.device_for_data(data)
        self.data = backend.to_array(data, device, backend.as_dtype(dtype))
        if self.data is data or self.data.base is not None:  # a copy, as torch.tensor makes
            self.data = self.data.copy()  # (tg.from_numpy shares memory)
        self.grad = None
        self._node = None
        self._name = name
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(data, node=None) -> Tensor:
        """Internal fast constructor: no conversion, no checks."""
        t = _new(Tensor)
        t.data = data
        t.grad = None
        t._node = node
        t._name = None
        return t

    # ---- properties -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def requires_grad(self) -> bool:
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    @property
    def is_leaf(self) -> bool:
        return self._node is None or self._node.op is None

    @property
    def name(self) -> str | None:
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value
        if self._node is not None:
            self._node.name = value

    @property
    def node(self) -> Node | None:
        """The graph node that produced this tensor (None if it does not require grad)."""
        return self._node

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Make this leaf tensor track gradients (in place); returns self."""
        if not flag:
            if self._node is not None and self._node.op is not None:
                raise RuntimeError("requires_grad_(False) is only for leaf tensors; use .detach() "
                                   "to cut a computed tensor out of the graph")
            self._node = None
            return self
        if self._node is None:
            if not backend.is_float(self.data.dtype):
                raise TypeError(f"only floating-point tensors can require gradients; this tensor "
                                f"is {self.data.dtype}. Convert it first, e.g. "
                                f"Tensor(x, dtype='float32')")
            self._node = leaf_node(self)
        return self

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def numpy(self):
        """The values as a NumPy array in host memory (shares memory on the CPU)."""
        return backend.to_host(self.data)

    def tolist(self):
        return self.numpy().tolist()

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return backend.item(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.item())

    __hash__ = object.__hash__  # == is elementwise, identity is the hash (as in PyTorch)

    def __repr__(self) -> str:
        host = backend.to_host(self.data)  # NumPy's array2string, as torch prints: no dtype= inside
        body = backend.xp_of(host).array2string(host, separator=", ", prefix="Tensor(")
        extra = []
        if self.dtype not in (backend.DEFAULT_FLOAT, backend.int64, bool):
            extra.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extra.append(f"device='{self.device}'")
        node = self._node
        if node is not None:
            extra.append("requires_grad=True" if node.op is None else f"op={node.op.name}")
            if node.scope:
                extra.append(f"scope='{node.scope}'")
        if self._name:
            extra.append(f"name='{self._name}'")
        return f"Tensor({body}{', ' if extra else ''}{', '.join(extra)})"

    # ---- autograd ---------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool | None = None, create_graph: bool = False):
        """Reverse mode from this tensor: accumulate d(self)/d(leaf) into every leaf's .grad."""
        from tinygrad_rnn.autograd import backward
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self) -> Tensor:
        """The same values cut out of the graph (the truncated-BPTT cut)."""
        t = Tensor._wrap(self.data)
        t._name = self._name
        return t

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        from tinygrad_rnn.autograd import watch_of
        if self._node is None:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._node.op is not None:
            watch_of(self._node).retained = weakref.ref(self)

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this tensor's gradient is computed; a returned tensor replaces it.

        Returns a handle whose ``remove()`` takes the hook off.
        """
        from tinygrad_rnn.autograd import register_hook
        return register_hook(self, fn)

    def zero_grad(self) -> None:
        self.grad = None

    # ---- copies and pickles: independent leaves, never a node of the original -----------
    def __deepcopy__(self, memo) -> Tensor:
        """An independent leaf with copied data (and .grad); a leaf that requires grad gets a
        new node, so backward through the copy fills the copy's .grad, never the original's."""
        node = self._node
        if node is not None and node.op is not None:
            raise RuntimeError(f"deepcopy of a computed tensor ({node.op.name}): only leaf tensors "
                               f"(made by the user, not by an op) can be deep-copied, as in "
                               f"PyTorch; deep-copy the leaves, or detach() it first")
        new = _new(type(self))
        memo[id(self)] = new
        new.data = self.data.copy()
        new.grad = None if self.grad is None else Tensor._wrap(self.grad.data.copy())
        new._node = None
        new._name = self._name
        if node is not None:
            new._node = leaf_node(new)
        if hasattr(self, "__dict__"):  # a subclass's own attributes
            new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    def __reduce_ex__(self, protocol):
        """Pickle the values, device, requires_grad and name (as PyTorch: no graph, no .grad);
        unpickling makes a new leaf."""
        return (_unpickle, (type(self), backend.to_host(self.data), self.device,
                            self._node is not None, self._name), getattr(self, "__dict__", None))

    # ---- devices and dtypes -----------------------------------------------------------
    def to(self, device: str | None = None, dtype=None) -> Tensor:
        """A copy on another device and/or with another dtype (differentiable)."""
        out = self
        if dtype is not None and backend.as_dtype(dtype) != self.dtype:
            out = functions.cast(out, backend.as_dtype(dtype))
        if device is not None and backend.check_device(device) != self.device:
            out = functions.to_device(out, backend.check_device(device))
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(dtype=backend.float32)

    def double(self) -> Tensor:
        return self.to(dtype=backend.float64)

    # ---- operator sugar: each is a function of functions.py, applying an op of ops.py ------
    # (+, -, *, /, @, unary -, [] and exp/log/tanh/sigmoid/relu/abs/sqrt are the ops
    # themselves, assigned at the end of functions.py: one Python call less per op)
    def __radd__(self, other): return functions.add(other, self)
    def __rsub__(self, other): return functions.sub(other, self)
    def __rmul__(self, other): return functions.mul(other, self)
    def __rtruediv__(self, other): return functions.div(other, self)
    def __rmatmul__(self, other): return functions.matmul(other, self)
    def __pow__(self, exponent): return functions.pow(self, exponent)
    def __rpow__(self, base): return compose.rpow(base, self)
    def __pos__(self): return self
    def __abs__(self): return functions.abs(self)

    def __setitem__(self, index, value):  # in place; recorded when a gradient flows
        if not ops.is_basic(index):  # Tensors and lists in the index, as getitem takes them
            index = functions._normalize_index(index, self.device, self.data.shape)  # checked on CUDA
            steps = functions._torch_order(index)
            if steps is not None:  # x[0, :, idx]: PyTorch's x[0][:, idx], not NumPy's order
                if state().grad_enabled and (self._node is not None or getattr(value, "_node", None)):
                    raise IndexError(
                        "x[...] = value with gradients, for an index where an integer and an "
                        "index array are apart (x[0, :, idx]): PyTorch writes x[0][:, idx], NumPy "
                        "reorders the dimensions. Write the integer as a length-1 slice and give "
                        "the value that dimension: x[0:1, :, idx] = value.unsqueeze(0)")
                self[steps[0]][steps[1]] = value  # no graph: write through the view
                return
        ops.setitem(self, index, value)

    # comparisons give boolean tensors with no gradient
    def __lt__(self, other): return functions.compare("lt", self, other)
    def __le__(self, other): return functions.compare("le", self, other)
    def __gt__(self, other): return functions.compare("gt", self, other)
    def __ge__(self, other): return functions.compare("ge", self, other)
    def __eq__(self, other): return functions.compare("eq", self, other)
    def __ne__(self, other): return functions.compare("ne", self, other)

    def clip(self, min=None, max=None): return functions.clip(self, min, max)
    clamp = clip

    def sum(self, axis=None, keepdims=False, **kw): return functions.sum(self, axis, keepdims, **kw)
    def mean(self, axis=None, keepdims=False, **kw): return compose.mean(self, axis, keepdims, **kw)
    def max(self, dim=None, keepdim=False, **kw): return functions.max(self, dim, keepdim, **kw)
    def min(self, dim=None, keepdim=False, **kw): return compose.min(self, dim, keepdim, **kw)
    def softmax(self, axis=-1, **kw): return functions.softmax(self, axis, **kw)
    def log_softmax(self, axis=-1, **kw): return functions.log_softmax(self, axis, **kw)

    def reshape(self, *shape): return functions.reshape(self, shape[0] if len(shape) == 1 else shape)
    view = reshape
    def flatten(self): return functions.reshape(self, (-1,))
    def permute(self, *dims): return functions.permute(self, dims[0] if len(dims) == 1 else dims)
    def transpose(self, dim0=0, dim1=1): return compose.transpose(self, dim0, dim1)
    def expand(self, *shape): return functions.expand(self, shape[0] if len(shape) == 1 else shape)
    def broadcast_to(self, shape): return functions.expand(self, shape)
    def unsqueeze(self, dim): return compose.unsqueeze(self, dim)
    def squeeze(self, dim=None): return compose.squeeze(self, dim)
    def split(self, split_size, axis=0, **kw): return compose.split(self, split_size, axis, **kw)
    def chunk(self, chunks, axis=0, **kw): return compose.chunk(self, chunks, axis, **kw)

    @property
    def T(self):
        return functions.permute(self, tuple(range(self.ndim))[::-1])

    # ---- PyTorch habits (torch's names and return types) ----------------------------------
    def size(self, dim: int | None = None):
        """The shape (a tuple), or the length of axis ``dim``, as ``torch.Tensor.size``."""
        if dim is None:
            return self.shape
        return self.shape[functions.normalize_axes(dim, self.ndim, "size")[0]]

    def dim(self) -> int:
        """The number of axes (``ndim``)."""
        return self.ndim

    def t(self) -> Tensor:
        """The transpose of a tensor with at most 2 axes (torch.Tensor.t)."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with at most 2 dimensions, got shape "
                             f"{self.shape}; use transpose(dim0, dim1) or .mT")
        return self.T

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise ValueError(f"mT needs at least 2 dimensions, got shape {self.shape}")
        return compose.transpose(self, -2, -1)

    def clone(self) -> Tensor:
        """A copy of the values that stays in the graph (the gradient passes through)."""
        return functions.clone(self)

    def amax(self, axis=None, keepdims=False, **kw): return functions.amax(self, axis, keepdims, **kw)
    def amin(self, axis=None, keepdims=False, **kw): return compose.amin(self, axis, keepdims, **kw)
    def argmax(self, dim=None, keepdim=False, **kw): return functions.argmax(self, dim, keepdim, **kw)
    def argmin(self, dim=None, keepdim=False, **kw): return functions.argmin(self, dim, keepdim, **kw)

    def long(self) -> Tensor:
        """An int64 copy, cut out of the graph (integers carry no gradient)."""
        return Tensor._wrap(self.data.astype(backend.int64))

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)`` for a CPU tensor (shares memory unless a copy is needed)."""
        if self.device != "cpu":
            raise TypeError(f"can't convert a {self.device} tensor to a NumPy array; copy it to "
                            f"host memory first with .cpu() (or use .numpy())")
        data = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return data.copy() if copy else data

    def __dlpack__(self, **kwargs):
        """DLPack export of the array (zero copy), so ``torch.from_dlpack(t)`` works."""
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()


def _unpickle(cls, array, device: str, requires_grad: bool, name) -> Tensor:
    t = _new(cls)
    t.data = backend.to_array(array, device)
    t.grad = None
    t._node = None
    t._name = name
    return t.requires_grad_(True) if requires_grad else t


from tinygrad_rnn import compose, functions, ops  # noqa: E402  (they need Tensor; its operators them)
