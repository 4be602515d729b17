"""What every demo shares: the command-line options, the output folder, the closing summary."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

import tinygrad_rnn as tg


def parser(name: str, description: str, steps: int = 0) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=f"tinygrad-rnn demo {name}", description=description)
    ap.add_argument("--device", default=None, help="cpu or cuda (default: $TINYGRAD_RNN_DEVICE or cpu)")
    ap.add_argument("--steps", type=positive_int, default=steps, help="training steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join("out", name), help="folder for plots and graphs")
    ap.add_argument("--quick", action="store_true", help="a small, fast run (used by the tests)")
    return ap


def positive_int(text: str) -> int:
    """argparse type for --steps: an integer ≥ 1 (argparse turns the error into exit status 2)."""
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def setup(args) -> str:
    """Seed, make the output folder, and return it."""
    tg.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    return args.out


@dataclass
class Claim:
    text: str
    measured: str
    held: bool


@dataclass
class Summary:
    name: str
    claims: list = field(default_factory=list)
    files: list = field(default_factory=list)

    def claim(self, text: str, measured: str, held: bool) -> bool:
        self.claims.append(Claim(text, measured, bool(held)))
        return bool(held)

    @property
    def held(self) -> bool:
        return all(c.held for c in self.claims)

    def print(self) -> None:
        print(f"\n== {self.name}: summary ==")
        for c in self.claims:
            print(f"  {'✓' if c.held else '✗'} {c.text}: {c.measured}")
        for f in self.files:
            print(f"  wrote {f}")


def pyplot():
    """matplotlib's pyplot with a file-only backend (demos write PNGs, they open no windows)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, out: str, name: str, summary: Summary | None = None) -> str:
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    if summary is not None:
        summary.files.append(path)
    return path


def progress(iterable, **kw):
    """A tqdm progress bar (on stderr) when tqdm is installed, else the plain iterable."""
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, **kw)
