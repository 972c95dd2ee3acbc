"""README.md stays true: its two commands exist and its settings table is current."""

from pathlib import Path

from service.core.settings_doc import END, START, markdown_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_table_matches_the_code() -> None:
    assert START in README, "README lacks the generated settings table"
    documented = README[README.index(START) : README.index(END) + len(END)]
    assert documented == markdown_table(), (
        "README's settings table is stale: replace it with `python -m service.core.settings_doc`"
    )


def test_the_two_commands_are_at_the_top_and_in_the_makefile() -> None:
    top = README[:800]
    assert "make run" in top
    assert "make test" in top
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\nrun:" in makefile
    assert "\ntest:" in makefile


def test_linked_documents_and_images_exist() -> None:
    import re

    for target in re.findall(r"\]\(((?:docs|classifier)/[^)#]+)\)", README):
        assert (ROOT / target).exists(), target
