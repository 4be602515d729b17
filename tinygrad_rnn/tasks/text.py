"""A text corpus for character-level language models that needs no download.

It is made from Python's own standard library: the Zen of Python and the docstrings of a
fixed list of modules (plain English prose about programming, a few hundred KB). The exact
text depends on the Python version, which is fine for a language-model demo.
"""

from __future__ import annotations

import codecs
import contextlib
import importlib
import inspect
import io

MODULES = ("textwrap", "string", "collections", "functools", "itertools", "json", "argparse",
           "heapq", "bisect", "random", "statistics", "fractions", "decimal", "difflib",
           "calendar", "datetime", "pathlib", "shutil", "tempfile", "logging", "unittest",
           "email", "http.client", "urllib.parse", "csv", "contextlib", "dataclasses",
           "enum", "inspect", "pickle", "threading", "subprocess", "zipfile")



def _zen() -> str:
    """The Zen of Python (the `this` module keeps it rot13-encoded and prints it on import)."""
    with contextlib.redirect_stdout(io.StringIO()):
        this = importlib.import_module("this")
    return codecs.decode(this.s, "rot13")


def text_corpus(max_chars: int | None = None, lowercase: bool = False) -> str:
    """The corpus as one string (optionally cut to ``max_chars`` and lower-cased)."""
    parts = [_zen()]
    for name in MODULES:
        module = importlib.import_module(name)
        docs = [inspect.getdoc(module) or ""]
        for _, obj in sorted(vars(module).items()):
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "") == name:
                docs.append(inspect.getdoc(obj) or "")
        parts.extend(d for d in docs if len(d) > 40)
    text = "\n\n".join(parts)
    text = "".join(c for c in text if c.isprintable() or c == "\n")
    if lowercase:
        text = text.lower()
    return text[:max_chars] if max_chars else text
