"""The ``tinygrad-rnn`` command: run the demos and regenerate the graph gallery."""

from __future__ import annotations

import argparse
import importlib
import os
import sys


def _demos() -> dict:
    try:
        from demos import DEMOS
    except ImportError:  # installed without the repository's demos/ folder
        return {}
    return DEMOS


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
    """``tinygrad-rnn demo NAME [options]``, ``demo --list``, ``render --gallery DIR``."""
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    except BrokenPipeError:  # `tinygrad-rnn demo --list | head`: the reader left, that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0


def _main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="tinygrad-rnn",
        description="Learn, see and run backpropagation through time.",
        epilog="Run 'tinygrad-rnn demo --list' to see the demos.")
    sub = ap.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="run a demo (tinygrad-rnn demo NAME [options])",
                          add_help=False)
    demo.add_argument("name", nargs="?")
    demo.add_argument("--list", action="store_true")
    render = sub.add_parser("render", help="regenerate the graph gallery")
    render.add_argument("--gallery", metavar="DIR", required=True)
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
            print(f"unknown demo {args.name!r}; these exist:", file=sys.stderr)
            _list_demos()
            return 2
        summary = importlib.import_module(demos[args.name][0]).main(rest)
        return 0 if summary is None or summary.held else 1
    if args.command == "render":
        from tinygrad_rnn.gallery import render_gallery
        render_gallery(args.gallery)
        return 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
