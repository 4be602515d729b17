"""Module and Parameter: the bookkeeping around the weights; the math lives in Tensor ops.

A ``Module`` registers every ``Parameter`` and sub-module assigned to it as an attribute, in
assignment order, so ``named_parameters()`` and ``state_dict()`` list them exactly as
PyTorch does (``weight_ih_l0``, ``lstm.weight_hh_l0``, …). Parameters carry those names, so
the recorded graph (and its pictures) show ``weight_hh_l0`` once, feeding every time step.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from tinygrad_rnn import backend
from tinygrad_rnn.tensor import Tensor, host_array
from tinygrad_rnn.writes import mark_written


class Parameter(Tensor):
    """A leaf Tensor that a Module owns and an optimizer updates (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, name: str | None = None):
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: ``forward`` holds the math, ``__call__`` runs it.

    Sub-classes assign Parameters and Modules as attributes in ``__init__``; everything else
    (parameters, state_dict, device/dtype moves, train/eval) is handled here.
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                               "before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
            if value.name is None:
                value.name = name
        elif isinstance(value, Module):
            self._modules[name] = value
            for child_name, p in value.named_parameters():
                p.name = f"{name}.{child_name}"
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter under ``name`` (None declares it absent, e.g. ``bias=False``)."""
        if param is None:
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def forward(self, *args, **kwargs):
        """The module's computation; sub-classes define it."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    _forward_hooks: dict | None = None      # set on the instance by the first register_* call
    _forward_pre_hooks: dict | None = None
    _hooked = False                         # one flag read per call keeps unhooked calls fast

    def __call__(self, *args, **kwargs):
        if self._hooked:
            return self._call_hooked(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_hooked(self, args: tuple, kwargs: dict):
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                changed = hook(self, args)
                if changed is not None:
                    args = changed if isinstance(changed, tuple) else (changed,)
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                changed = hook(self, args, out)
                if changed is not None:
                    out = changed
        return out

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every forward; a returned value replaces
        the output. Returns a handle whose ``remove()`` takes the hook off."""
        if self._forward_hooks is None:
            object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "_hooked", True)
        return RemovableHandle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; a returned value (a tuple, or one
        value) replaces the positional arguments."""
        if self._forward_pre_hooks is None:
            object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "_hooked", True)
        return RemovableHandle(self._forward_pre_hooks, hook)

    def apply(self, fn) -> Module:
        """Call ``fn(m)`` on every sub-module, then on this module (e.g. custom init); returns self."""
        order, stack, seen = [], [self], set()
        while stack:  # children pushed in order, so reversing the visits gives torch's post-order
            m = stack.pop()
            if id(m) not in seen:
                seen.add(id(m))
                order.append(m)
                stack.extend(m._modules.values())
        for m in reversed(order):
            fn(m)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient tracking of every parameter (freeze with False); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ---- walking the module tree (iteratively) ------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, depth first in registration order."""
        stack = [(prefix, self)]
        seen = set()
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{k}" if name else k, m) for k, m in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module."""
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in registration order."""
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) pairs in registration order; a shared parameter appears once."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter once, in registration order (what an optimizer takes)."""
        for _, p in self.named_parameters():
            yield p

    # ---- state ------------------------------------------------------------------------
    def _all_parameter_names(self) -> list[tuple[str, Parameter]]:
        """Like named_parameters, but a parameter shared by two modules (tied weights)
        appears under each of its names, as in PyTorch's state_dict."""
        return [(f"{module_name}.{name}" if module_name else name, p)
                for module_name, module in self.named_modules()
                for name, p in module._parameters.items()]

    def state_dict(self) -> OrderedDict:
        """name → Tensor holding the parameter's values (shares memory; not recorded)."""
        return OrderedDict((name, Tensor.wrap(p.data)) for name, p in self._all_parameter_names())

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy values into the parameters, keeping their device and dtype.

        ``state`` maps names to Tensors or arrays (e.g. a PyTorch ``state_dict`` converted with
        ``.numpy()``). With ``strict``, missing and unexpected keys are errors; a shape
        mismatch always is, naming the key and both shapes; so is a value that is not a
        number array (strings, objects, complex). All or nothing (stricter than PyTorch):
        every value is checked and converted before the first parameter is written, so a
        failed load leaves the module exactly as it was.
        """
        from tinygrad_rnn.checkpoint import check_state
        owner = type(self).__name__
        if not hasattr(state, "items"):
            raise TypeError(f"{owner}.load_state_dict needs a mapping of names to "
                            f"arrays or Tensors, got {type(state).__name__}")
        own = dict(self._all_parameter_names())
        given = {}
        for k, v in state.items():
            try:
                given[k] = _host(v)
            except Exception as err:
                raise TypeError(f"{owner}.load_state_dict: the value for {k!r} is not an array "
                                f"({type(v).__name__}: {err})") from err
        bad = [f"{k} ({v.dtype})" for k, v in given.items() if k in own and v.dtype.kind not in "biuf"]
        if bad:
            raise TypeError(f"{owner}.load_state_dict: these values are not real-number arrays, "
                            f"so they cannot become parameters: {', '.join(bad)}")
        check_state({k: tuple(p.shape) for k, p in own.items()},
                    {k: tuple(v.shape) for k, v in given.items()}, strict, owner)
        new = {name: backend.to_array(value, own[name].device, own[name].dtype).copy()
               for name, value in given.items() if name in own}  # may fail: nothing written yet
        for name, data in new.items():
            mark_written(own[name].data)  # the old values: a graph that saved them now raises
            own[name].data = data

    # ---- devices, dtypes, modes -------------------------------------------------------
    def to(self, device: str | None = None, dtype=None) -> Module:
        """Move every parameter (in place, so optimizers keep their references)."""
        dtype = backend.as_dtype(dtype)
        device = backend.check_device(device) if device is not None else None
        for p in self.parameters():
            target_device = device or p.device
            p.data = backend.to_array(p.data, target_device, dtype)
            if p.grad is not None:
                p.grad = Tensor.wrap(backend.to_array(p.grad.data, target_device, dtype))
        return self

    def cuda(self) -> Module:
        """Move every parameter to the GPU."""
        return self.to("cuda")

    def cpu(self) -> Module:
        """Move every parameter to host memory."""
        return self.to("cpu")

    def double(self) -> Module:
        """Make every parameter float64 (gradient checks and parity tests run so)."""
        return self.to(dtype=backend.float64)

    def float(self) -> Module:
        """Make every parameter float32."""
        return self.to(dtype=backend.float32)

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and its sub-modules."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout off."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients (leaf gradients add up across backward calls)."""
        from tinygrad_rnn.optim import _zeroed
        for p in self.parameters():
            if p.grad is not None:
                p.grad = None if set_to_none else _zeroed(p.grad)

    # ---- printing ---------------------------------------------------------------------
    def short_repr(self) -> str:
        """The module in one line for error messages, e.g. ``Encoder(6, 3, 2, cell='gru')``."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``handle.remove()`` takes the hook off."""

    _ids = iter(range(1 << 62))

    def __init__(self, hooks: dict, hook):
        self._hooks, self.id = hooks, next(RemovableHandle._ids)
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def _host(value):
    """A state value (Tensor, NumPy/CuPy array, torch tensor, nested list) as a host array."""
    if not isinstance(value, Tensor) and hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()  # a torch tensor
    return host_array(value)
