"""The tinygrad-rnn command: a user's mistake is one line on stderr and exit status 2, found
before any computation starts; never a traceback."""

import importlib
import os
import sys
from pathlib import Path

import pytest

import tinygrad_rnn as tg
from demos import DEMOS
from tinygrad_rnn import backend
from tinygrad_rnn.cli import main


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _no_training(monkeypatch, name):
    """Make the demo's main fail the test if it is reached (the checks come first)."""
    module = importlib.import_module(DEMOS[name].module)

    def reached(argv):
        raise AssertionError(f"demo {name} started although a check should have stopped it")
    monkeypatch.setattr(module, "main", reached)


def test_version_prints_the_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tinygrad-rnn {tg.__version__}"


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_steps_below_one_is_an_argparse_error(capsys, monkeypatch, steps):
    _no_training(monkeypatch, "linear-rnn")
    assert main(["demo", "linear-rnn", "--steps", steps]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"argument --steps: must be at least 1, got {steps}" in err


def test_steps_below_one_is_refused_by_the_demo_itself_too(capsys):
    module = importlib.import_module(DEMOS["linear-rnn"].module)
    with pytest.raises(SystemExit) as exit_:
        module.main(["--steps", "0"])
    assert exit_.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


@pytest.mark.skipif(backend.cuda_available(), reason="a GPU is usable here, so nothing is missing")
def test_missing_gpu_is_one_line_that_says_what_to_do(capsys, monkeypatch):
    _no_training(monkeypatch, "linear-rnn")   # the environment here has no CuPy and no GPU
    assert main(["demo", "linear-rnn", "--device", "cuda"]) == 2
    line = _one_line(capsys)
    assert line.startswith("tinygrad-rnn: device 'cuda'")
    assert "pip install" in line or "GPU" in line
    assert "--device cpu" in line


def test_unknown_device_is_one_line(capsys, monkeypatch):
    _no_training(monkeypatch, "linear-rnn")
    assert main(["demo", "linear-rnn", "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in _one_line(capsys)


@pytest.mark.parametrize("package", ["matplotlib", "tqdm"])
def test_missing_optional_package_is_one_line_before_any_computation(capsys, monkeypatch, package):
    _no_training(monkeypatch, "exploding-gradients")  # plots and progress bars
    monkeypatch.setitem(sys.modules, package, None)   # `import package` now raises ImportError
    assert main(["demo", "exploding-gradients", "--quick"]) == 2
    line = _one_line(capsys)
    assert f"demo exploding-gradients needs {package}" in line
    assert "pip install 'tinygrad_rnn[demo]'" in line


def test_a_demo_without_plots_does_not_need_matplotlib(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["demo", "linear-rnn", "--out", str(tmp_path)]) == 0


def test_every_plotting_demo_is_known_to_need_matplotlib():
    from tinygrad_rnn.cli import needs
    for name, demo in DEMOS.items():
        module_name = demo.module
        module = importlib.import_module(module_name)
        source = Path(module.__file__).read_text(encoding="utf-8")
        if "plt." in source or "matplotlib" in source:
            assert "matplotlib" in dict(needs(module)), name


def test_unwritable_out_is_one_line(capsys, monkeypatch, tmp_path):
    _no_training(monkeypatch, "linear-rnn")
    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    assert main(["demo", "linear-rnn", "--out", str(a_file)]) == 2
    line = _one_line(capsys)
    assert f"cannot write into --out {str(a_file)!r}" in line and "give a folder" in line
    if os.geteuid() != 0:   # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(["demo", "linear-rnn", "--out", str(locked / "sub")]) == 2
        assert "Permission denied" in _one_line(capsys)


def test_unknown_demo_is_one_line_with_the_list_hint(capsys):
    assert main(["demo", "linear-rnm"]) == 2
    line = _one_line(capsys)
    assert line == ("tinygrad-rnn: unknown demo 'linear-rnm' (did you mean 'linear-rnn'?); run "
                    "'tinygrad-rnn demo --list' to see the demos")


def test_help_still_works_without_the_checks(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["demo", "exploding-gradients", "--help"]) == 0
    assert "--steps" in capsys.readouterr().out
