#!/bin/sh
# A gateway in one go, offline: a scripted "Chat Completions" model (standing in for vLLM, Ollama's
# /v1, OpenRouter...), `streamkit serve --upstream openai-chat` in front of it, and an Anthropic
# request (what Claude Code sends) answered through it. Usage: sh examples/gateway.sh
set -e
cd "$(dirname "$0")/.."
up=$(mktemp) gw=$(mktemp)
pids=
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -f "$up" "$gw"' EXIT
streamkit serve -d openai-chat --script examples/demo-script.json --port 0 >"$up" 2>/dev/null &
pids="$!"
while [ ! -s "$up" ]; do sleep 0.05; done
streamkit serve --upstream openai-chat --base-url "$(head -1 "$up")/v1" --port 0 >"$gw" 2>/dev/null &
pids="$pids $!"
while [ ! -s "$gw" ]; do sleep 0.05; done
streamkit fetch -d anthropic --base-url "$(head -1 "$gw")" -m claude-sonnet-4-5 "Hello?" | streamkit normalize | streamkit render
