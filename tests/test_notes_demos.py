"""The demos for the rest of the notes (issue 14) run in --quick mode and their claims hold."""

import importlib

import pytest

MODULES = [
    "demos.feedforward_backprop",
    "demos.iterated_map",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_notes_demo_runs_quick_and_its_claims_hold(module_name, tmp_path):
    module = importlib.import_module(module_name)
    name, line = module.DEMO
    assert name and line, "DEMO is (command name, one line)"
    summary = module.main(["--quick", "--out", str(tmp_path)])
    assert summary.claims, "a demo must check at least one claim"
    failed = [f"{c.text}: {c.measured}" for c in summary.claims if not c.held]
    assert not failed, failed
    assert summary.files and all((tmp_path / f.split("/")[-1]).exists() for f in summary.files)
