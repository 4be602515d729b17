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


def text_corpus(max_chars: int | None = None, lowercase: bool = False, plain: bool = False) -> str:
    """The corpus as one string (optionally cut to ``max_chars`` and lower-cased).

    ``plain=True`` keeps the words and drops the layout: every run of spaces becomes one space,
    indentation and blank lines go, so each line of text is one line. (The docstrings indent
    their examples and separate paragraphs by blank lines; a character LM learns that a space
    or a line break is most often followed by another, and sampling at a low temperature —
    which sharpens the most probable continuation — then produces runs of spaces and empty
    lines instead of words.)
    """
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
    if plain:
        lines = (" ".join(line.split()) for line in text.split("\n"))
        text = "\n".join(line for line in lines if line)
    if lowercase:
        text = text.lower()
    return text[:max_chars] if max_chars else text
