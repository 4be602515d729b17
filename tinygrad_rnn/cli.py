"""The ``tinygrad-rnn`` command: run the demos and regenerate the graph gallery.

A user's mistake (a bad option, a missing GPU or optional package, an unwritable ``--out``)
gets one line on stderr that says what to do, and exit status 2, as argparse's own errors do;
those are all checked before a demo starts computing. A traceback means a bug.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

# the optional packages (the `demo` extra) behind demos.common's helpers: a demo that imports
# the helper needs the package
_OPTIONAL = {"pyplot": ("matplotlib", "for its plots"), "save": ("matplotlib", "for its plots"),
             "subplots": ("matplotlib", "for its plots"),
             "progress": ("tqdm", "for its progress bars")}


class UserError(Exception):
    """A mistake in the command line or the environment: one line, exit status 2."""


PACKAGE = "tinygrad_rnn.demos"  # the demos' name once installed (pyproject's package-dir)


def demos_package():
    """The demos package, or None: the repository's ``demos/`` folder, installed as
    ``tinygrad_rnn.demos`` (the demos import each other relatively, so either name works).

    In a checkout (``pyproject.toml`` beside this package) it is the checkout's own folder, so
    a worktree runs its demos and not an installed copy: the top-level ``demos`` if that is
    already imported from there (the tests, ``python -m demos.coverage``), else the folder
    loaded as ``tinygrad_rnn.demos``. Installed from a wheel, ``tinygrad_rnn.demos``.
    """
    root = Path(__file__).resolve().parent.parent
    folder = root / "demos"
    if not ((root / "pyproject.toml").is_file() and (folder / "__init__.py").is_file()):
        try:
            return importlib.import_module(PACKAGE)
        except ImportError:  # a build without the demos
            return None
    for name in ("demos", PACKAGE):
        module = sys.modules.get(name)
        if module is not None and Path(module.__file__).resolve().parent == folder:
            return module
    spec = importlib.util.spec_from_file_location(PACKAGE, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


def _demos() -> dict:
    package = demos_package()
    return {} if package is None else package.DEMOS


def demo_module(name: str):
    """The module of the demo ``name`` (``DEMOS`` names it ``demos.<module>``)."""
    package = demos_package()
    return importlib.import_module(package.__name__ + _demos()[name].module.removeprefix("demos"))


def _seconds(s: float | None) -> str:
    if s is None:
        return "?"
    if s < 1:
        return "<1 s"
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min"


def _list_demos() -> None:
    """One line per demo: name, typical wall time on 2 CPU cores (full | --quick), what it shows."""
    demos = _demos()
    width = max((len(n) for n in demos), default=0)
    print(f"  {'':<{width}}  {'full':>6} | {'quick':<5}  (typical time on 2 CPU cores)")
    for name, demo in demos.items():
        full, quick = getattr(demo, "full_s", None), getattr(demo, "quick_s", None)
        print(f"  {name:<{width}}  {_seconds(full):>6} | {_seconds(quick):<5}  {demo[1]}")


def main(argv: list[str] | None = None) -> int:
    """``tinygrad-rnn demo NAME [options]``, ``demo --list``, ``render --gallery DIR``.

    Returns the exit status (0 success, 1 a demo's claim did not hold, 2 a usage error).
    """
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    except UserError as e:
        print(f"tinygrad-rnn: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # argparse has printed its message (or --help, --version)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except BrokenPipeError:  # `tinygrad-rnn demo --list | head`: the reader left, that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0


def _main(argv: list[str]) -> int:
    from tinygrad_rnn import __version__
    ap = argparse.ArgumentParser(
        prog="tinygrad-rnn",
        description="Learn, see and run backpropagation through time.",
        epilog="Run 'tinygrad-rnn demo --list' to see the demos.")
    ap.add_argument("--version", action="version", version=f"tinygrad-rnn {__version__}")
    sub = ap.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="run a demo (tinygrad-rnn demo NAME [options])",
                          add_help=False)
    demo.add_argument("name", nargs="?")
    demo.add_argument("--list", action="store_true")
    render = sub.add_parser("render", help="regenerate the graph gallery")
    render.add_argument("--gallery", metavar="DIR", required=True)
    explore = sub.add_parser("explore", help="write the interactive explorer (one HTML file) "
                             "of an nn.LSTM/GRU/RNN")
    explore.add_argument("--model", choices=("lstm", "gru", "rnn"), default="lstm")
    for flag, default in (("--input-size", 3), ("--hidden-size", 4), ("--steps", 10),
                          ("--batch", 1), ("--layers", 1), ("--seed", 0)):
        explore.add_argument(flag, type=int, default=default)
    explore.add_argument("--bidirectional", action="store_true")
    explore.add_argument("--out", default="explorer.html", help="the HTML file to write")
    if not argv:
        ap.print_help()
        return 0
    args, rest = ap.parse_known_args(argv)
    if args.command == "demo":
        if args.list or not args.name:
            print("demos (tinygrad-rnn demo NAME [--device cpu|cuda] [--steps N] [--seed S] "
                  "[--out DIR] [--quick]):")
            _list_demos()
            return 0
        demos = _demos()
        if args.name not in demos:
            close = difflib.get_close_matches(args.name, demos, n=1)
            maybe = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"unknown demo {args.name!r}{maybe}; run 'tinygrad-rnn demo --list' to "
                            f"see the demos")
        module = demo_module(args.name)
        if not {"-h", "--help"} & set(rest):
            _check_demo(args.name, module, rest)
        summary = _run(module.main, rest)
        return 0 if summary is None or summary.held else 1
    if args.command == "render":
        from tinygrad_rnn.errors import GraphvizNotFound
        from tinygrad_rnn.gallery import render_gallery
        _check_writable(args.gallery, "--gallery")
        try:
            render_gallery(args.gallery)
        except GraphvizNotFound as e:
            raise UserError(str(e)) from None
        return 0
    if args.command == "explore":
        return _explore(args, rest)
    if rest:  # parse_known_args let them through; no command takes them
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    ap.print_help()
    return 2


def _explore(args, rest: list[str]) -> int:
    from tinygrad_rnn.gallery import model_explorer
    if rest:
        raise UserError(f"explore: unrecognized arguments: {' '.join(rest)}")
    _check_writable(os.path.dirname(os.path.abspath(args.out)), "--out")
    try:
        page = model_explorer(args.model, args.input_size, args.hidden_size, args.steps, args.batch,
                              args.layers, args.bidirectional, args.seed)
    except ValueError as e:
        raise UserError(f"explore: {e}") from None
    path = page.save(args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): open it in a browser")
    return 0


def _run(demo_main, rest: list[str]):
    """The demo's main; a device it cannot use is a user error (one line), not a traceback."""
    from tinygrad_rnn.errors import DeviceError
    try:
        return demo_main(rest)
    except DeviceError as e:
        raise UserError(str(e)) from None


def _check_demo(name: str, module, rest: list[str]) -> None:
    """Before the demo computes anything: its options, device, optional packages, --out."""
    positive_int = importlib.import_module(demos_package().__name__ + ".common").positive_int
    pre = argparse.ArgumentParser(prog=f"tinygrad-rnn demo {name}", add_help=False,
                                  allow_abbrev=False,
                                  usage=f"tinygrad-rnn demo {name} [options] (--help lists them)")
    pre.add_argument("--device", default=None)
    pre.add_argument("--steps", type=positive_int)
    pre.add_argument("--out", default=os.path.join("out", name))
    opts, _ = pre.parse_known_args(rest)   # exits with status 2 on a bad --steps
    _check_device(opts.device)
    for package, why in needs(module):
        try:
            importlib.import_module(package)
        except ImportError:
            raise UserError(f"demo {name} needs {package} {why}, which is not installed: "
                            f"pip install 'tinygrad_rnn[demo]' (or pip install {package})") from None
    _check_writable(opts.out, "--out")


def needs(module) -> list[tuple[str, str]]:
    """(package, what for) of the optional packages a demo module needs."""
    found = {_OPTIONAL[h] for h in vars(module) if h in _OPTIONAL}
    return sorted(found)


def _check_device(device: str | None) -> None:
    import tinygrad_rnn as tg
    from tinygrad_rnn.errors import DeviceError
    try:
        tg.zeros(1, device=device)  # loads CuPy and finds the GPU for 'cuda', or says why not
    except DeviceError as e:
        raise UserError(f"{e}; or run the demo with --device cpu") from None


def _check_writable(folder: str, option: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise UserError(f"cannot write into {option} {folder!r} ({reason}); give a folder you "
                        f"can write to, e.g. {option} /tmp/tinygrad-rnn") from None


if __name__ == "__main__":
    sys.exit(main())
