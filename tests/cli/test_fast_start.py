"""``normalize`` and ``accumulate`` start without click: their command lines are read the way click
reads them, anything else is left to click, and the process never imports it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.cli import fast_start, stages
from streamkit.cli import fetch as fetch_module
from streamkit.cli.fast_start import parse

from ..conftest import DATA, run_cli

TOKENS = ["-d", "--dialect", "--dialect=anthropic", "--dialect=", "anthropic", "openai-chat", "", "--keep-raw",
          "--think-tags", "--ignore-errors", "--final", "--on-error", "--on-error=skip", "--on-error=FAIL", "fail",
          "pass", "skip", "-h", "--help", "--", "-danthropic", "--keep", "--final=1", "-x", "extra"]  # fmt: skip


def click_reads(args: list[str]) -> tuple[str, dict] | None:
    """What click makes of the command line (None: it refuses it or prints help). For ``fetch``,
    the parameters it reads without click, once every other one is checked to be its default."""
    command = fetch_module.fetch if args[0] == "fetch" else getattr(stages, args[0])
    try:
        params = command.make_context(args[0], list(args[1:])).params
    except BaseException:  # a usage error, or --help's exit
        return None
    if args[0] == "fetch":
        defaults = command.make_context("fetch", ["--replay", "-"]).params
        ours = fast_start.COMMANDS["fetch"][2]
        assert {k: v for k, v in params.items() if k not in ours} == {
            k: v for k, v in defaults.items() if k not in ours
        }
        params = {k: params[k] for k in ours}
    return args[0], params


FETCH_TOKENS = ["--replay", "-", "rec.sse", "--framing", "sse", "--framing=eventstream", "--framing=SSE",
                "--realtime", "-d", "bedrock", "--dialect=", "--ignore-errors", "-m", "hi", "--replay=-", "-x"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FETCH_TOKENS), max_size=6))
def test_fetch_replay_is_read_without_click_as_click_reads_it(rest: list[str]) -> None:
    args = ["fetch", *rest]
    ours = parse(args)
    if ours is not None:
        assert ours == click_reads(args)
        assert ours[1]["replay_path"] is not None


RENDER_TOKENS = ["-f", "--format", "--format=anthropic", "--format=", "anthropic", "text", "json", "", "--reasoning",
                 "--json", "--ignore-errors", "--on-error", "--on-error=pass", "skip", "-O", "model=x", "--base",
                 "conv.json", "-fjson", "--reasoning=1", "-h", "--", "-x"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(RENDER_TOKENS), max_size=6))
def test_render_is_read_without_click_as_click_reads_it(rest: list[str]) -> None:
    args = ["render", *rest]
    ours = parse(args)
    if ours is not None:
        assert ours == click_reads(args)
        assert ours[1]["options"] == () and ours[1]["base_file"] is None


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["normalize", "accumulate"]), st.lists(st.sampled_from(TOKENS), max_size=5))
def test_what_is_read_without_click_is_what_click_reads(command: str, rest: list[str]) -> None:
    args = [command, *rest]
    ours = parse(args)
    if ours is not None:
        assert ours == click_reads(args)


@pytest.mark.parametrize(
    "args",
    [
        ["normalize"],
        [
            "normalize",
            "-d",
            "anthropic",
            "--keep-raw",
            "--think-tags",
            "--on-error",
            "pass",
            "--ignore-errors",
        ],
        ["normalize", "--dialect=gemini", "-d", "ollama", "--on-error=skip"],
        ["normalize", "-d", ""],
        ["accumulate", "--final", "--final", "--on-error", "skip"],
        ["render"],
        ["render", "-f", "anthropic", "--ignore-errors"],
        ["render", "--format=stats", "--json", "--on-error", "skip"],
        ["render", "--reasoning", "-f", "text"],
    ],
)
def test_the_usual_command_lines_are_read_without_click(args: list[str]) -> None:
    assert parse(args) == click_reads(args)


@pytest.mark.parametrize(
    "args",
    [
        ["normalize", "--help"],
        ["normalize", "-danthropic"],  # click takes it; it is left to click
        ["normalize", "-d"],
        ["normalize", "-d", "--keep-raw"],
        ["normalize", "--on-error", "FAIL"],
        ["normalize", "--final"],
        ["accumulate", "-d", "anthropic"],
        ["accumulate", "--final=yes"],
        ["normalize", "--", "x"],
        ["render", "-O", "model=x"],  # (the -O options are click's)
        ["render", "--base", "conversation.json", "-f", "conversation"],
        ["render", "-fjson"],
        ["--version"],
        [],
    ],
)
def test_anything_else_is_left_to_click(args: list[str]) -> None:
    assert parse(args) is None


def test_the_process_never_imports_click_and_exits_as_the_command_does() -> None:
    code = (
        "import sys\n"
        "from streamkit.cli import main\n"
        "code = 0\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print('exit', code, 'click' in sys.modules, file=sys.stderr)\n"
    )
    raw = run_cli("fetch", "--replay", str(DATA / "anthropic" / "text.sse")).stdout
    events = run_cli("normalize", input=raw).stdout
    wire = (DATA / "anthropic" / "text.sse").read_bytes()
    cases = [(["normalize"], raw, 0), (["accumulate", "--final"], events, 0),
             (["normalize", "--on-error", "fail"], b"not json\n", 65),
             (["fetch", "-d", "anthropic", "--replay", "-"], wire, 0),
             (["fetch", "--replay", str(DATA / "anthropic" / "text.sse"), "--framing", "sse"], b"", 0),
             (["fetch", "--replay", "-", "--framing", "ndjson"], b'{"a":1}\n{nope\n', 65),
             (["fetch", "-d", "nobody", "--replay", "-"], wire, 2),
             (["render", "-f", "gemini"], events, 0), (["render"], events, 0),
             # (a dialect whose encoder writes no clock of its own: chat's stamps `created`)
             (["render", "-f", "anthropic"], events + b'{"type":"error","message":"overloaded"}\n', 1),
             (["render", "-f", "nobody"], events, 2), (["render", "-f", "json"], b"[1]\n", 65)]  # fmt: skip
    by_click = "import sys\nfrom streamkit.cli import cli\ncli.main(sys.argv[1:], prog_name='streamkit')\n"
    for args, stdin, status in cases:
        result = subprocess.run(
            [sys.executable, "-c", code, *args], input=stdin, capture_output=True, timeout=60
        )
        assert result.stderr.decode().splitlines()[-1] == f"exit {status} False", result.stderr
        clicked = subprocess.run(
            [sys.executable, "-c", by_click, *args], input=stdin, capture_output=True, timeout=60
        )
        assert (result.stdout, result.stderr.decode().splitlines()[:-1]) == (
            clicked.stdout,
            clicked.stderr.decode().splitlines(),
        ), args
        assert clicked.returncode == status
        if status == 0:
            assert result.stdout != b"", args
    # and what goes to click still works, from the same main
    result = subprocess.run(
        [sys.executable, "-c", code, "normalize", "--help"], capture_output=True, timeout=60
    )
    assert b"Usage: " in result.stdout and result.stderr.decode().splitlines()[-1] == "exit 0 True"


def test_accumulate_and_import_streamkit_never_import_typing() -> None:
    """``typing`` costs a stage about 4 ms of its start (README "Speed"): ``import streamkit`` and
    the ``accumulate`` command use its names only for the type checker."""
    code = (
        "import sys\n"
        "before = 'typing' in sys.modules\n"
        "import streamkit\n"
        "print('import', before, 'typing' in sys.modules, file=sys.stderr)\n"
        "from streamkit.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code, 'typing' in sys.modules, file=sys.stderr)\n"
    )
    events = run_cli(
        "normalize", input=run_cli("fetch", "--replay", str(DATA / "anthropic" / "text.sse")).stdout
    ).stdout
    result = subprocess.run(
        [sys.executable, "-c", code, "accumulate", "--final"], input=events, capture_output=True, timeout=60
    )
    said = result.stderr.decode().splitlines()
    if said[0] == "import True True":
        pytest.skip("this interpreter imports typing before any code runs (a .pth file of the venv)")
    assert said == ["import False False", "exit 0 False"], result.stderr
    assert b'"type":"message"' in result.stdout


def test_normalize_loads_the_plugins_but_not_their_unused_parts() -> None:
    """Every command loads the installed plugins to know their names; the MCP executor and the
    Cohere normalizer are imported only when a command uses them."""
    pytest.importorskip("streamkit_mcp", reason="the streamkit-mcp plugin is not installed")
    pytest.importorskip("streamkit_cohere", reason="the streamkit-cohere plugin is not installed")
    code = (
        "import sys\n"
        "from streamkit.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('streamkit_mcp', 'streamkit_cohere', 'streamkit_mcp.executor',\n"
        "         'streamkit_cohere.normalize', 'streamkit.executors.base')\n"
        "print(*[name for name in names if name in sys.modules], file=sys.stderr)\n"
    )
    raw = run_cli("fetch", "--replay", str(DATA / "anthropic" / "text.sse")).stdout
    result = subprocess.run(
        [sys.executable, "-c", code, "normalize"], input=raw, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines()[-1] == "streamkit_mcp streamkit_cohere"


@pytest.mark.parametrize("args", [["normalize"], ["convert", "--to", "text"]], ids=["fast", "click"])
def test_ctrl_c_while_the_command_s_modules_load_exits_130_without_a_traceback(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the tens of milliseconds a start spends importing, before any command's guard."""
    import streamkit.cli
    from streamkit.cli import fast_start

    def interrupted(argv: list[str]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fast_start, "parse", interrupted)
    with pytest.raises(SystemExit) as caught:
        streamkit.cli.main(args)
    assert caught.value.code == 130


#: a process whose SIGINT comes while orjson's module initialisation imports a standard module of
#: its own (the first of these it imports): ``kill`` from an import hook, the Python handler's
#: KeyboardInterrupt raised inside that import, as when Ctrl-C lands there
_INTERRUPTED_IN_ORJSON = """
import os, signal, sys
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name in ("uuid", "datetime", "dataclasses") and "orjson.orjson" in sys.modules:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
assert "orjson" not in sys.modules
sys.meta_path.insert(0, Interrupt())
from streamkit.cli import main
main(["normalize"])
"""


def test_ctrl_c_while_orjson_loads_exits_130_not_a_crash() -> None:
    """orjson's initialisation crashes the interpreter when a standard module it imports fails
    to (ijl/orjson#310): main imports orjson with SIGINT held back, and takes it after."""
    result = subprocess.run([sys.executable, "-c", _INTERRUPTED_IN_ORJSON], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=60)  # fmt: skip
    assert result.returncode == 130, result.stderr.decode()[-2000:]
    assert result.stderr == b""
