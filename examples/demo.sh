#!/bin/sh
# `make demo`: a live tool loop against a local server, with no network and no API key.
#
# `streamkit serve` plays an OpenAI-compatible model from a script (examples/demo-script.json).
# First one request goes through `fetch | normalize | accumulate | render`; then `streamkit agent`
# asks a question, the model asks for the weather tool twice, the shell tool (examples/weather.py)
# answers, the results go back, and the final answer streams to the terminal.
#
# Every command is printed (after `$ `) exactly as it is then run: `run` prints its argument and
# evaluates that same text, so what you read is what ran and can be pasted into a shell.
set -e
cd "$(dirname "$0")/.."
bold= plain=
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); fi
say() { printf '\n%s== %s%s\n' "$bold" "$1" "$plain"; }
run() { printf '$ %s\n' "$1"; eval "$1"; }

out=$(mktemp)
server=
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -f "$out"; }
trap 'status=$?; cleanup; exit $status' EXIT
trap 'exit 130' INT TERM

say "A local model server, speaking the OpenAI Chat Completions dialect (its first line: its URL)"
run "streamkit serve -d openai-chat --script examples/demo-script.json --realtime --delay 0.03 --port 0 >$out 2>/dev/null &"
server=$!
tries=0
while [ ! -s "$out" ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ]; then echo "demo: the server did not start in 10 s" >&2; exit 1; fi
  sleep 0.05
done
url=$(head -1 "$out")
echo "# -> $url"

say "One request, streamed through four commands joined by pipes"
run "streamkit fetch --base-url $url -m demo 'Hello?' | streamkit normalize | streamkit accumulate | streamkit render"

say "The tool loop: the model calls get_weather twice, examples/weather.py answers, the answer streams"
run "streamkit agent --base-url $url -m demo --tools examples/tools.toml \"What's the weather in Paris and in Oslo?\" | streamkit render --reasoning"

say "The same kind of stream, recorded, re-encoded in another dialect (Anthropic), first lines"
run "streamkit convert --to anthropic examples/haiku.sse | head -8"
