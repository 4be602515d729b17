"""README's coverage table is generated from demos/coverage.py, and every reference resolves."""

import os
import pathlib

import pytest

from demos import coverage

README = pathlib.Path(coverage.ROOT) / "README.md"


def test_readme_table_is_the_generated_one():
    block = coverage.readme_block(README.read_text(encoding="utf-8"))
    assert block is not None, "README.md lacks the coverage markers"
    assert block == coverage.table(), "README's table is stale: run `python -m demos.coverage --write`"


@pytest.mark.parametrize("section", coverage.SECTIONS, ids=lambda s: f"{s.notes}:{s.lines[0]}")
def test_every_reference_resolves(section):
    assert section.status in coverage.STATUSES
    assert [r for r in section.by if not coverage.resolve(r)] == []
    if section.status == "covered":
        assert section.by and not section.missing, "a covered section says what covers it, nothing missing"
    else:
        assert section.missing or section.status == "not covered"


def test_resolve_can_fail():
    for ref in ("demo:no-such-demo", "test:tests/no_such_test.py", "code:tinygrad_rnn.nn.NoSuchLayer",
                "code:no_such_package.x", "nonsense"):
        assert not coverage.resolve(ref)


def test_sections_lie_inside_their_notes_in_order():
    if not os.path.isdir(coverage.NOTES_DIR):
        pytest.skip(f"the notes are not next to this checkout ({coverage.NOTES_DIR})")
    for key, name in coverage.NOTES.items():
        n_lines = len(pathlib.Path(coverage.NOTES_DIR, name).read_text(encoding="utf-8").splitlines())
        ranges = [s.lines for s in coverage.SECTIONS if s.notes == key]
        assert ranges, f"notes {key} has no section"
        assert all(1 <= a <= b <= n_lines for a, b in ranges), (key, n_lines)
        assert all(b1 < a2 for (_, b1), (a2, _) in zip(ranges, ranges[1:])), f"{key}: overlapping or unsorted"


def test_write_rewrites_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{coverage.BEGIN}\nold\n{coverage.END}\noutro\n", encoding="utf-8")
    coverage.write(str(readme))
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("\noutro\n")
    assert coverage.readme_block(text) == coverage.table()
