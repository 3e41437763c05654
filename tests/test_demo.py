"""`make demo` (examples/demo.sh): the live tool loop against a local server, then nothing left running."""

from __future__ import annotations

import json
import os
import subprocess

from .conftest import ROOT, STREAMKIT


def test_the_demo_runs_the_tool_loop_and_stops_its_server() -> None:
    env = {**os.environ, "PATH": f"{STREAMKIT.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(["sh", "examples/demo.sh"], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out, err = result.stdout.decode(), result.stderr.decode()
    script = json.loads((ROOT / "examples" / "demo-script.json").read_text())
    assert script[0]["text"] in out  # the plain fetch | normalize | accumulate | render
    assert script[2]["text"] in out  # the agent's final answer
    assert (
        '[tool result] get_weather: {"city": "Paris", "sky": "windy", "temperature_c": 8}' in err
    )  # examples/weather.py ran
    assert "event: message_start" in out
    # the commands are printed as they run (the server's URL filled in, the real prompt and flags)
    commands = [line[2:] for line in out.splitlines() if line.startswith("$ ")]
    assert [c.split()[1] for c in commands] == ["serve", "fetch", "agent", "convert"]
    assert "--delay 0.03" in commands[0]
    url = next(line[5:] for line in out.splitlines() if line.startswith("# -> "))
    assert f"--base-url {url} " in commands[1] and f"--base-url {url} " in commands[2]
    assert '"What\'s the weather in Paris and in Oslo?"' in commands[2]
    assert "\x1b[" not in out  # no colour when stdout is no terminal
    leftover = subprocess.run(["pgrep", "-f", "demo-script.json"], capture_output=True)
    assert leftover.stdout == b"", "the demo left its server running"
