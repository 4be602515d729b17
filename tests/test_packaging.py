"""What ``pip install .`` puts into site-packages: the package, with the repository's demos
inside it as ``tinygrad_rnn.demos``, and nothing named ``demos`` at the top level."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_pyproject_lists_every_package_and_maps_the_demos():
    """The explicit package list (needed for the demos' mapping) misses no subpackage."""
    setuptools = _pyproject()["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "tinygrad_rnn").rglob("__init__.py")}
    assert set(setuptools["packages"]) == on_disk | {"tinygrad_rnn.demos"}
    assert setuptools["package-dir"] == {"tinygrad_rnn.demos": "demos"}


def test_the_demos_import_each_other_relatively():
    """Under both names (``demos`` in a checkout, ``tinygrad_rnn.demos`` installed)."""
    for path in sorted((ROOT / "demos").glob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert not line.lstrip().startswith(("from demos", "import demos")), f"{path.name}: {line}"


@pytest.mark.slow
def test_wheel_puts_the_demos_under_the_package_and_the_command_finds_them(tmp_path):
    if importlib.util.find_spec("pip") is None or importlib.util.find_spec("setuptools") is None:
        pytest.skip("building a wheel here needs pip and setuptools in this environment")
    src = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    for folder in ("tinygrad_rnn", "demos"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-w", str(tmp_path / "wheel"), str(src)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = wheel.name.split("-py")[0] + ".dist-info"
    assert {n.split("/")[0] for n in names} == {"tinygrad_rnn", dist_info}
    for demo in (ROOT / "demos").glob("*.py"):
        assert f"tinygrad_rnn/demos/{demo.name}" in names

    target = tmp_path / "site"
    install = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(target),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert not (target / "demos").exists()
    probe = ("from tinygrad_rnn.cli import demo_module, main\n"
             "main(['demo', '--list'])\n"
             "print(demo_module('linear-rnn').__file__)\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "linear-rnn" in run.stdout and "tour" in run.stdout
    assert run.stdout.strip().splitlines()[-1] == str(target / "tinygrad_rnn" / "demos" / "linear_rnn.py")
