"""What every demo shares: options with defaults in --help, plots through matplotlib's object
API (the process-wide backend is never switched), the output folder made only when written."""

import os

import pytest

from demos import common

pytest.importorskip("matplotlib")


def test_help_shows_every_option_with_its_default(capsys):
    ap = common.parser("x", "a demo", steps=123)
    ap.add_argument("--hidden", type=int, default=32)  # no help text: the default still shows
    with pytest.raises(SystemExit):
        ap.parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "(default: 123)" in out and "(default: 32)" in out
    assert f"(default: {os.path.join('out', 'x')})" in out
    assert "(default: None)" not in out  # --device says its default in words


def test_plots_do_not_switch_the_backend(tmp_path):
    import matplotlib
    before = matplotlib.get_backend()
    plt = common.pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(4, 2))
    a.plot([1, 2, 3])
    s = common.Summary("x")
    path = common.save(fig, str(tmp_path / "new" / "folder"), "p.png", s)
    plt.close(fig)
    assert os.path.getsize(path) > 0 and s.files == [path]
    assert matplotlib.get_backend() == before
    assert type(fig).__module__ == "matplotlib.figure"


def test_setup_makes_no_folder(tmp_path):
    args = common.parser("x", "a demo").parse_args(["--out", str(tmp_path / "unused")])
    assert common.setup(args) == str(tmp_path / "unused")
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize("name", ["linear-rnn", "tied-weights", "bptt-by-hand"])
def test_a_demo_that_writes_nothing_leaves_no_folder(name, tmp_path, monkeypatch):
    import importlib

    from demos import DEMOS
    monkeypatch.chdir(tmp_path)
    importlib.import_module(DEMOS[name].module).main([])
    assert not (tmp_path / "out").exists()


def test_tour_writes_only_under_out(tmp_path, monkeypatch):
    from demos import tour
    monkeypatch.chdir(tmp_path)
    summary = tour.main(["--quick", "--out", "elsewhere"])
    assert summary.files and all(f.startswith("elsewhere") for f in summary.files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere"]


def test_list_shows_typical_times(capsys):
    from demos import DEMOS
    from tinygrad_rnn.cli import _seconds, main
    assert main(["demo", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(d.quick_s is not None for d in DEMOS.values()), "every demo's --quick time is measured"
    line = next(x for x in out.splitlines() if x.strip().startswith("char-rnn"))
    demo = DEMOS["char-rnn"]
    assert " ".join(line.split()[1:6]) == f"{_seconds(demo.full_s)} | {_seconds(demo.quick_s)}"
    assert [_seconds(t) for t in (None, 0.3, 38, 120)] == ["?", "<1 s", "38 s", "2 min"]
