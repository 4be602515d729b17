"""ModuleList and ModuleDict: sub-modules held in a list or a dict, registered by name.

As in PyTorch, the list's modules are registered as ``"0"``, ``"1"``, … and the dict's under
their keys, so ``state_dict()`` names are ``layers.0.weight`` / ``heads.tag.weight``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from tinygrad_rnn.nn.module import Module

__all__ = ["ModuleList", "ModuleDict"]


def _check(owner: str, module) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner} holds Modules only, got {type(module).__name__}")
    return module


class ModuleList(Module):
    """A list of modules; it has no forward (iterate over it in yours)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, i: int) -> int:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"ModuleList index {i} is out of range for {n} modules")
        return i % n

    def __getitem__(self, i: int | slice):
        modules = list(self._modules.values())
        if isinstance(i, slice):
            return ModuleList(modules[i])
        return modules[self._index(i)]

    def __setitem__(self, i: int, module: Module) -> None:
        setattr(self, str(self._index(i)), _check("ModuleList", module))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self)), _check("ModuleList", module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, _check("ModuleList", module))
        for k in list(self._modules):
            delattr(self, k)
        self.extend(modules)


class ModuleDict(Module):
    """A dict of modules under string keys, in insertion order; it has no forward."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict keys must be non-empty strings without '.', got {key!r}")
        if key not in self._modules and hasattr(self, key):
            raise KeyError(f"ModuleDict key {key!r} would hide the attribute of that name; "
                           f"choose another key")
        setattr(self, key, _check("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self._modules[key]
        delattr(self, key)
        return module

    def update(self, modules) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module
