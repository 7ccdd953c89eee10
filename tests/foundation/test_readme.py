"""The README's quick start stays true: two commands first, the demo users; the roles page equals ROLE_ACTIONS."""

from pathlib import Path

from demo.data import DEMO_PASSWORD, DEMO_USERS
from releases.access import role_table_markdown

ROOT = Path(__file__).resolve().parents[2]


def quickstart() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index("<!-- section:quickstart -->") : text.index("<!-- /section:quickstart -->")]


def test_quickstart_opens_with_the_two_commands():
    first_block = quickstart().split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.split("#")[0].strip()]
    assert commands == ["make run", "make test"]


def test_the_two_commands_come_before_any_other_section():
    text = (ROOT / "README.md").read_text()
    assert text.index("make run") < text.index("\n## ")


def test_roles_table_is_generated_from_role_actions():
    assert role_table_markdown() in (ROOT / "docs" / "roles.md").read_text()


def test_demo_users_and_password_are_documented():
    for text in (quickstart(), (ROOT / "docs" / "getting-started.md").read_text()):
        assert DEMO_PASSWORD in text
        for username in DEMO_USERS:
            assert f"`{username}`" in text
