"""Every demo runs in --quick mode and its claims hold."""

import importlib

import pytest

from demos import DEMOS


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_demo_runs_quick_and_its_claims_hold(name, tmp_path):
    module = importlib.import_module(DEMOS[name][0])
    summary = module.main(["--quick", "--out", str(tmp_path)])
    assert summary.claims, "a demo must check at least one claim"
    failed = [f"{c.text}: {c.measured}" for c in summary.claims if not c.held]
    assert not failed, failed


def test_cli_lists_demos(capsys):
    from tinygrad_rnn.cli import main
    assert main(["demo", "--list"]) == 0
    out = capsys.readouterr().out
    for name in DEMOS:
        assert name in out


def test_cli_unknown_demo_is_an_error(capsys):
    from tinygrad_rnn.cli import main
    assert main(["demo", "no-such-demo"]) == 2
