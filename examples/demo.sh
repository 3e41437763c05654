#!/bin/sh
# `make demo`: streamkit on a recording this repo ships (examples/haiku.sse, an OpenAI-compatible
# chat stream with reasoning). No network, no API key.
set -e
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

step "The answer as it streams: four commands joined by pipes" \
     "streamkit fetch --replay examples/haiku.sse | streamkit normalize | streamkit accumulate | streamkit render --reasoning"
streamkit fetch --replay examples/haiku.sse | streamkit normalize | streamkit accumulate | streamkit render --reasoning

step "The canonical events, as NDJSON (first 6 lines)" \
     "streamkit fetch --replay examples/haiku.sse | streamkit normalize | head -6"
streamkit fetch --replay examples/haiku.sse | streamkit normalize | head -6

step "The final message" "streamkit convert --to json examples/haiku.sse"
streamkit convert --to json examples/haiku.sse

step "Re-encoded as a Chat Completions stream again (last 5 lines)" \
     "streamkit convert --to openai-chat examples/haiku.sse | tail -5"
streamkit convert --to openai-chat examples/haiku.sse | tail -5
