"""README.md stays true: its two commands exist and its settings table is current."""

from pathlib import Path

import pytest

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


# -- the development commands, run as written ------------------------------------------

#: Subcommands of the README's `.venv/bin/commentgate` lines that the tour runs (the
#: others need the dataset, an export file or a version number the reader picks).
TOUR = ("sites", "moderators", "model list", "config")


def readme_dev_commands() -> list[list[str]]:
    """Every `.venv/bin/commentgate` line of the README's sh blocks that the tour runs."""
    import re
    import shlex

    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL):
        for line in block.splitlines():
            if not line.removeprefix(".venv/bin/commentgate ").startswith(TOUR):
                continue
            argv = shlex.split(line, comments=True)
            if " ".join(argv[1:]).startswith(TOUR):
                commands.append(argv)
    return commands


def test_the_readme_shows_commands_that_work_without_an_activated_venv() -> None:
    import re

    bare = re.findall(
        r"^commentgate (?:sites|moderators|model|config|dev|import|train|evaluate|score|web"
        r"|worker)\b",
        README,
        flags=re.MULTILINE,
    )
    assert not bare, f"`commentgate` is not on PATH without `source .venv/bin/activate`: {bare}"
    assert "source .venv/bin/activate" in README
    assert "$(BIN)/commentgate dev" in (ROOT / "Makefile").read_text(encoding="utf-8")
    names = {" ".join(argv[1:3]) for argv in readme_dev_commands()}
    assert {"sites add", "moderators add", "moderators list", "model list", "config"} <= names


def test_the_production_section_says_how_to_start() -> None:
    production = README[README.index("## Running in production") :]
    assert "COMMENTGATE_SECRET_KEY=$(openssl rand -base64 32)" in production
    assert "docker compose run --rm web moderators add" in production
    from tests.ops.conftest import load_compose

    compose = load_compose()
    assert "web" in compose["services"]
    assert "${COMMENTGATE_SECRET_KEY:?" in (ROOT / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["commentgate"]' in dockerfile  # so `run --rm web moderators ...` works


@pytest.mark.slow
def test_the_readme_dev_commands_work_in_a_fresh_folder(tmp_path: Path) -> None:
    """`make run`'s command, then the README's admin commands beside it, as written."""
    import re
    import subprocess

    from tests.ops.conftest import Processes, clean_env, free_port, tail
    from tests.ops.test_dev import BANNER_END, wait_banner

    (tmp_path / ".venv").symlink_to(ROOT / ".venv")  # a fresh clone after `make run`
    env = clean_env()
    processes = Processes(tmp_path)
    try:
        proc = processes.start(
            "dev",
            [".venv/bin/commentgate", "dev", "--bind", f"127.0.0.1:{free_port()}"],
            env,
            cwd=tmp_path,
        )
        assert BANNER_END in wait_banner(proc, processes.log_of(proc))
        for argv in readme_dev_commands():
            result = subprocess.run(
                argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stderr}"
            assert "Traceback" not in result.stderr
            if argv[1:3] == ["moderators", "add"]:
                assert re.search(r"cgm_\S+", result.stdout), result.stdout
        listed = subprocess.run(
            [".venv/bin/commentgate", "moderators", "list"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert "alice" in listed
        assert "carol" not in listed  # revoked, as the README's last line says
    finally:
        processes.stop_all()
    assert "Traceback" not in tail(processes.log_of(proc), 50_000)
