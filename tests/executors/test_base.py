"""What a tool's process inherits: streamkit's environment without its credentials."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.errors import UsageError
from streamkit.executors.base import check_environment, tool_environment, tool_secrets

CREDENTIALS = {
    "OPENAI_API_KEY": "sk-one",
    "AWS_SECRET_ACCESS_KEY": "aws-two",
    "AWS_SESSION_TOKEN": "aws-three",
    "GITHUB_TOKEN": "ghp-four",
    "PGPASSWORD": "pg-five",
    "smtp_passwd": "six",
    "Anthropic_Api_Key": "seven",  # any case
    "STREAMKIT_KEY_FILE": "/run/secrets/key",
}
ORDINARY = {
    "HOME": "/home/u",
    "PATH": "/usr/bin",
    "SSH_AUTH_SOCK": "/tmp/agent",
    "XAUTHORITY": "/x",
    "LANG": "C",
}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly these variables in streamkit's environment."""
    monkeypatch.setattr("os.environ", {**CREDENTIALS, **ORDINARY})


def own(env: dict[str, str]) -> dict[str, str]:
    """``env`` without what pytest puts into the environment as a test runs."""
    return {name: value for name, value in env.items() if name != "PYTEST_CURRENT_TEST"}


@pytest.mark.usefixtures("environ")
@pytest.mark.parametrize(
    ("settings", "passed"),
    [
        ({}, set()),
        ({"pass_env": ["GITHUB_TOKEN"]}, {"GITHUB_TOKEN"}),
        (
            {"pass_env": ["AWS_*", "pgpassword"]},
            {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"},
        ),  # names: exact case
        ({"pass_env": ["*"]}, set(CREDENTIALS)),
        ({"pass_env": ["*_API_KEY"]}, {"OPENAI_API_KEY"}),
    ],
)
def test_credentials_are_kept_from_a_tool_unless_its_file_passes_them(
    settings: dict[str, Any], passed: set[str]
) -> None:
    assert own(tool_environment(settings)) == {**ORDINARY, **{name: CREDENTIALS[name] for name in passed}}


@pytest.mark.usefixtures("environ")
def test_env_and_the_executors_own_variables_are_set_over_what_is_inherited() -> None:
    settings = {"env": {"HOME": "/srv", "SERVICE_TOKEN": "given"}, "pass_env": ["GITHUB_TOKEN"]}
    env = tool_environment(settings, {"STREAMKIT_TOOL_NAME": "t", "HOME": "/last"})
    assert own(env) == {**ORDINARY, "GITHUB_TOKEN": "ghp-four", "SERVICE_TOKEN": "given", "HOME": "/last",
                   "STREAMKIT_TOOL_NAME": "t"}  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"env": ["A=b"]}, "'env' must be a table of strings"),
        ({"env": {"A": 1}}, "'env' must be a table of strings"),
        ({"pass_env": "GITHUB_TOKEN"}, "'pass_env' must be a list of variable names or patterns"),
        ({"pass_env": ["GITHUB_TOKEN", 3]}, "'pass_env' must be a list"),
        ({"pass_env": [""]}, "'pass_env' must be a list"),
    ],
)
def test_wrong_settings_are_a_usage_error_naming_the_tool(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=f"^tool 't': {message}"):
        check_environment(settings, "tool 't'")


def test_right_settings_pass() -> None:
    check_environment({"env": {"A": "b"}, "pass_env": ["A_*", "B"]}, "tool 't'")
    check_environment({}, "tool 't'")


def test_the_credentials_a_tool_is_given_are_the_secrets_redacted_from_its_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.environ", {"GITHUB_TOKEN": "g" * 40, "GITHUB_USER": "u" * 40, "OPENAI_API_KEY": "k" * 50,
                                       "NPM_TOKEN": "short"})  # fmt: skip
    settings = {
        "pass_env": ["GITHUB_*", "NPM_TOKEN"],
        "env": {"SERVICE_TOKEN": "s" * 30, "GREETING": "h" * 30},
    }
    # longest first; not a passed variable whose name is no credential's, nor one not passed, nor
    # one too short to be told from words
    assert tool_secrets(settings) == ["g" * 40, "s" * 30]
    assert tool_secrets({"pass_env": ["*"]}) == ["k" * 50, "g" * 40]
    assert tool_secrets({}) == []
