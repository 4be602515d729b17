"""Tensor: an array, its gradient, and the graph node that made it.

A Tensor is a thin handle: ``data`` is a backend array (NumPy or CuPy), ``grad`` is a Tensor
or None, and ``_node`` is the :class:`Node` that recorded how it was computed (None for a
tensor that does not require gradients). The graph is made of Nodes, not Tensors, so an
intermediate array that no backward rule needs is freed as soon as the user drops its Tensor.
The operators and math methods (``+``, ``exp``, ``sum``, ``backward`` …) are bound onto the
class in :mod:`tinygrad_rnn.methods`: they are the functions of the op layer, which build on
Tensor, so this module imports nothing above the backend and the switches.
"""

from __future__ import annotations

import copy
import weakref

from tinygrad_rnn import backend
from tinygrad_rnn.modes import state
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


class Watch:
    """The rarely used parts of a node: its leaf tensor, a retained tensor, hooks."""

    __slots__ = ("leaf", "retained", "hooks")

    def __init__(self):
        self.leaf = None       # weakref to the leaf Tensor whose .grad we accumulate into
        self.retained = None   # weakref to a non-leaf Tensor that asked for retain_grad()
        self.hooks = []        # functions grad -> grad | None


_new = object.__new__
FREED = ("freed",)  # marks saved arrays released by a backward pass


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


def leaf_node(tensor: Tensor) -> Node:
    node = record(None, (), (), None, tensor.data)._node
    node.name = tensor._name
    node.watch = Watch()
    node.watch.leaf = weakref.ref(tensor)
    return node


def reachable(roots) -> set:
    """Every node the ``roots`` depend on, themselves included (a stack walk, no recursion)."""
    seen, stack = set(roots), list(roots)
    while stack:
        for p in stack.pop().inputs:
            if type(p) is Node and p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def _unpickle(cls, array, device: str, requires_grad: bool, name) -> Tensor:
    """Unpickling (see ``Tensor.__reduce_ex__``): a new tensor, a new leaf if it required grad."""
    t = _new(cls)
    t.data = backend.to_array(array, device)
    t.grad = None
    t._node = None
    t._name = name
    return t.requires_grad_(True) if requires_grad else t


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
    def wrap(array) -> Tensor:
        """A constant tensor (no gradient) around the backend array ``array``: no copy, no
        conversion, no checks.

        For library code that already holds a NumPy/CuPy array of the right device and dtype
        (a mask, a target, an optimizer's state): the tensor shares the array's memory, as
        ``torch.as_tensor`` does when nothing needs converting. From user data, ``tg.tensor``
        copies and ``tg.from_numpy`` shares memory after checking the array.
        """
        return Tensor._wrap(array)

    @staticmethod
    def _wrap(data, node=None) -> Tensor:
        """The engine's constructor (ops, functions, autograd): ``wrap`` with a node."""
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

    def named(self, name: str | None) -> Tensor:
        """Set the name (shown in graph pictures and error messages); returns self, so a
        step reads ``c = (f * c_prev + i * g).named("c_t")``."""
        self.name = name
        return self

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

    def detach(self) -> Tensor:
        """The same values cut out of the graph (the truncated-BPTT cut)."""
        t = Tensor._wrap(self.data)
        t._name = self._name
        return t

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

    # ---- PyTorch habits (torch's names and return types) ----------------------------------
    def dim(self) -> int:
        """The number of axes (``ndim``)."""
        return self.ndim

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
    return Tensor.wrap(array)


def host_array(value):
    """A Tensor, a NumPy/CuPy array or a (nested) list as a host NumPy array: for the
    indices, lengths, masks and state values that modules check on the host."""
    if isinstance(value, Tensor):
        return backend.to_host(value.data)
    if backend.is_array(value):
        return backend.to_host(value)
    return backend.host_asarray(value)
