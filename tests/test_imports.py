"""The package's import structure: no cycles, a core that knows nothing of the layers above it,
and every submodule importable first (no hidden ordering in ``__init__.py``)."""

from __future__ import annotations

import ast
import functools
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tinygrad_rnn"

CORE = ("backend", "errors", "modes", "writes", "tensor", "apply", "factored", "ops", "functions",
        "indexing", "compose", "autograd", "methods")
ABOVE_CORE = ("nn", "graph", "capture", "render", "views", "blocks", "explore", "gallery", "cli",
              "demos")


def modules() -> dict[str, pathlib.Path]:
    """Every module of the package by dotted name (``tinygrad_rnn.nn.cells``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes inside ``if TYPE_CHECKING:`` blocks (annotations, never run)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


@functools.cache
def import_graph() -> dict[str, frozenset[str]]:
    """module → the package modules it imports, function-level imports included and
    ``TYPE_CHECKING`` blocks excluded: the imports that can run."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        skip = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            else:
                continue
            edges[mod].update(t for t in targets if t in mods and t != mod)
    return {m: frozenset(deps) for m, deps in edges.items()}


def find_cycle(edges: dict) -> list[str] | None:
    """One import cycle as a list of modules, or None (an iterative depth-first search)."""
    colour = dict.fromkeys(edges, 0)  # 0 new, 1 on the current path, 2 done
    for start in edges:
        if colour[start]:
            continue
        path, stack = [start], [iter(sorted(edges[start]))]
        colour[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                stack.pop()
            elif colour[nxt] == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges[nxt])))
    return None


def test_find_cycle_finds_a_planted_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    cycle = find_cycle(edges)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_graph_sees_function_level_imports_and_skips_type_checking(tmp_path):
    edges = import_graph()
    assert "tinygrad_rnn.tensor" in edges["tinygrad_rnn.ops"]
    assert "tinygrad_rnn.blocks" in edges["tinygrad_rnn.render"]      # inside a function
    assert "tinygrad_rnn.graph" not in edges["tinygrad_rnn.render"]   # TYPE_CHECKING only


def test_package_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("core", CORE)
def test_core_imports_nothing_above_it(core):
    """backend … autograd never reach nn, the pictures, the CLI or the demos, even indirectly."""
    edges = import_graph()
    seen, stack = set(), [f"tinygrad_rnn.{core}"]
    while stack:
        for dep in edges[stack.pop()]:
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    above = {d for d in seen if d.split(".")[1] in ABOVE_CORE}
    assert not above, f"tinygrad_rnn.{core} imports {sorted(above)}"


def test_tensor_imports_only_the_floor_below_it():
    assert import_graph()["tinygrad_rnn.tensor"] <= {
        "tinygrad_rnn.backend", "tinygrad_rnn.errors", "tinygrad_rnn.modes", "tinygrad_rnn.writes"}


def test_every_operator_binding_is_in_methods_py():
    """``grep __add__`` finds one place: Tensor's operators are bound in methods.py only."""
    binders = [p.name for p in PACKAGE.rglob("*.py")
               if "Tensor.__add__" in p.read_text(encoding="utf-8") or
               "def __add__" in p.read_text(encoding="utf-8")]
    assert binders == ["methods.py"]


_EACH_FIRST = r"""
import importlib, math, pathlib, sys, types
init = pathlib.Path("tinygrad_rnn/__init__.py").resolve()
failures = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "tinygrad_rnn" or m.startswith("tinygrad_rnn.")]:
        del sys.modules[loaded]
    # an empty package first, so that `name` is imported before anything __init__ imports
    # (as if __init__.py imported it on its first line), then the real __init__ runs
    package = types.ModuleType("tinygrad_rnn")
    package.__path__, package.__file__ = [str(init.parent)], str(init)
    sys.modules["tinygrad_rnn"] = package
    try:
        importlib.import_module(name)
        exec(compile(init.read_text(encoding="utf-8"), str(init), "exec"), package.__dict__)
        tg = package
        x = tg.ones(2, requires_grad=True)
        (-(x * 2 + 1) @ x.exp()).backward()
        assert abs(float(x.grad.sum()) + 10 * math.e) < 1e-4, "d/dx of -(2x+1)·eˣ at x = 1"
        assert not bool(x[0] < x[1]) and x.sum(axis=0).item() == 2.0
    except Exception as e:
        failures.append(f"{name} first: {type(e).__name__}: {e}")
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


def test_each_submodule_imported_first_leaves_a_working_tensor():
    """Each submodule imported before anything else in the package (what any reordering of
    ``__init__.py`` could produce), then the package: it loads, and Tensor has its operators
    and backward. One subprocess, the package's modules cleared between runs."""
    names = [m for m in modules() if m != "tinygrad_rnn"]
    assert "tinygrad_rnn.ops" in names and "tinygrad_rnn.nn.cells" in names
    run = subprocess.run([sys.executable, "-c", _EACH_FIRST, *names], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def _readme_modules() -> list[str]:
    """The module paths README's module section lists, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## The modules, in the order to read them")
    end = text.index("\n## ", start + 1)
    return re.findall(r"^\| `(tinygrad_rnn/[\w/]+\.py)` \|", text[start:end], flags=re.M)


def test_readme_lists_every_module_of_the_package_once():
    listed = _readme_modules()
    on_disk = sorted(str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py"))
    assert sorted(set(listed)) == on_disk, (
        f"README's module tables miss {sorted(set(on_disk) - set(listed))} and list "
        f"{sorted(set(listed) - set(on_disk))}, which do not exist")
    assert len(listed) == len(set(listed)), "a module is listed twice"


def test_readme_reading_path_starts_node_table_reference_engine():
    assert _readme_modules()[:4] == ["tinygrad_rnn/tensor.py", "tinygrad_rnn/ops.py",
                                     "tinygrad_rnn/reference.py", "tinygrad_rnn/autograd.py"]
