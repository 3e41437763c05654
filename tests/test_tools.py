"""Tools files: variables of the environment named in ``headers`` and ``env`` values."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from streamkit.errors import UsageError
from streamkit.executors.base import ToolCall
from streamkit.executors.http import HTTPExecutor
from streamkit.tools import load_tools
from tests.executors.test_http import server as server


def tools_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tools.toml"
    path.write_text(body)
    return path


def test_headers_and_env_values_name_variables_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETS_TOKEN", "tok-123")
    monkeypatch.setenv("REGION", "")
    monkeypatch.delenv("NOT_SET", raising=False)
    (tool,) = load_tools(tools_file(tmp_path, """
[[tools]]
name = "tickets"
executor = "http"
url = "http://127.0.0.1:1/${TICKETS_TOKEN}"
headers = { Authorization = "Bearer ${TICKETS_TOKEN}", X-Region = "${REGION:-eu}", X-Plain = "$TICKETS_TOKEN and ${ not one" }
env = { HOME_REGION = "${NOT_SET:-home}-${TICKETS_TOKEN}", COUNT = 3 }
"""))  # fmt: skip
    assert tool.settings["headers"] == {
        "Authorization": "Bearer tok-123",
        "X-Region": "eu",  # empty: the default, as the shell's :-
        "X-Plain": "$TICKETS_TOKEN and ${ not one",  # only ${NAME} is a variable
    }
    assert tool.settings["env"] == {
        "HOME_REGION": "home-tok-123",
        "COUNT": 3,
    }  # (the executor says 3 is wrong)
    assert tool.settings["url"] == "http://127.0.0.1:1/${TICKETS_TOKEN}"  # other fields as written


def test_a_variable_not_set_is_a_usage_error_naming_it_and_never_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MISSING_TOKEN", raising=False)
    monkeypatch.setenv("PRESENT_TOKEN", "secret-value-1")
    path = tools_file(tmp_path, """
[tools.tickets]
executor = "http"
url = "http://127.0.0.1:1/"
headers = { Authorization = "Bearer ${PRESENT_TOKEN}${MISSING_TOKEN}" }
""")  # fmt: skip
    with pytest.raises(UsageError) as info:
        load_tools(path)
    message = str(info.value)
    assert (
        message
        == f"{path}: tool 1 (tickets): headers.Authorization names ${{MISSING_TOKEN}}, which is not set"
    )
    assert "secret-value-1" not in message


def test_an_expanded_credential_goes_to_the_server_and_is_redacted_from_its_echo(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server: str,
) -> None:
    monkeypatch.setenv("TICKETS_TOKEN", "tok-from-the-environment-0123456789")
    monkeypatch.setenv("TENANT", "tenant-42")
    (tool,) = load_tools(tools_file(tmp_path, f"""
[[tools]]
name = "tickets"
executor = "http"
url = "{server}/echo"
headers = {{ Authorization = "Bearer ${{TICKETS_TOKEN}}", X-Tenant = "${{TENANT}}" }}
"""))  # fmt: skip
    executor = HTTPExecutor()
    executor.check(tool)
    out = executor.run(ToolCall(tool, "c1", {}), threading.Event())
    assert "('X-Tenant', 'tenant-42')" in out.output  # sent expanded
    assert "('Authorization', '[redacted]')" in out.output  # and a credential's echo redacted
    assert "tok-from-the-environment" not in out.output


def test_a_web_search_entry_is_declared_with_its_settings_and_runs_nowhere(tmp_path: Path) -> None:
    from streamkit.stages.run_tools import ToolRunner, declarations
    from streamkit.tools import load_tools

    path = tmp_path / "tools.toml"
    path.write_text(
        '[tools.web_search]\nkind = "web_search"\nmax_uses = 3\nuser_location = { city = "Oslo" }\n'
    )
    (tool,) = load_tools(path)
    declared = {"name": "web_search", "kind": "web_search", "max_uses": 3, "user_location": {"city": "Oslo"}}
    assert declarations([tool]) == [declared]
    runner = ToolRunner([tool])
    assert runner.tools == {} and [t.declaration() for t in runner.hosted] == [declared]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('kind = "image_generation"', "'kind' must be one of function, web_search, code_execution"),
        (
            'kind = "code_execution"\nmax_uses = 3',
            "a code_execution tool runs at the provider: it takes no 'max_uses'",
        ),
        (
            'kind = "web_search"\nexecutor = "shell"',
            "a web_search tool runs at the provider: it takes no 'executor'",
        ),
        ('kind = "web_search"\nmax_uses = "3"', "'max_uses' must be a positive integer"),
        ('kind = "web_search"\ncontext_size = "huge"', "'context_size' must be one of low, medium, high"),
    ],
)
def test_a_web_search_entry_that_is_wrong_says_what_in_one_line(
    tmp_path: Path, entry: str, message: str
) -> None:
    from streamkit.errors import UsageError
    from streamkit.tools import load_tools

    path = tmp_path / "tools.toml"
    path.write_text(f"[tools.web_search]\n{entry}\n")
    with pytest.raises(UsageError) as info:
        load_tools(path)
    assert str(info.value) == f"{path}: tool 1 (web_search): {message}"


def test_a_code_execution_entry_is_declared_and_runs_nowhere(tmp_path: Path) -> None:
    from streamkit.stages.run_tools import ToolRunner, declarations

    path = tmp_path / "tools.toml"
    path.write_text('[tools.code_execution]\nkind = "code_execution"\n')
    (tool,) = load_tools(path)
    assert declarations([tool]) == [{"name": "code_execution", "kind": "code_execution"}]
    assert ToolRunner([tool]).tools == {}
