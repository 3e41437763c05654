#!/bin/sh
# `make demo`: a live tool loop against a local server, with no network and no API key.
#
# `streamkit serve` plays an OpenAI-compatible model from a script (examples/demo-script.json).
# First one request goes through `fetch | normalize | accumulate | render`; then `streamkit agent`
# asks a question, the model asks for the weather tool twice, the shell tool (examples/weather.py)
# answers, the results go back, and the final answer streams to the terminal.
set -e
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

out=$(mktemp)
server=
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -f "$out"; }
trap 'status=$?; cleanup; exit $status' EXIT
trap 'exit 130' INT TERM
streamkit serve -d openai-chat --script examples/demo-script.json --realtime --delay 0.03 --port 0 >"$out" 2>/dev/null &
server=$!
while [ ! -s "$out" ]; do sleep 0.05; done
url=$(head -1 "$out")

step "A local model server, speaking the OpenAI Chat Completions dialect" \
     "streamkit serve -d openai-chat --script examples/demo-script.json --realtime --port 0   # -> $url"

step "One request, streamed through four commands joined by pipes" \
     "streamkit fetch --base-url $url -m demo \"Hello?\" | streamkit normalize | streamkit accumulate | streamkit render"
streamkit fetch --base-url "$url" -m demo "Hello?" | streamkit normalize | streamkit accumulate | streamkit render

step "The tool loop: the model calls get_weather twice, examples/weather.py answers, the answer streams" \
     "streamkit agent --base-url $url -m demo --tools examples/tools.toml \"Weather in Paris and Oslo?\" | streamkit render --reasoning"
streamkit agent --base-url "$url" -m demo --tools examples/tools.toml "What's the weather in Paris and in Oslo?" \
  | streamkit render --reasoning

step "The same kind of stream, recorded, re-encoded in another dialect (Anthropic), first lines" \
     "streamkit convert --to anthropic examples/haiku.sse | head -8"
streamkit convert --to anthropic examples/haiku.sse | head -8
