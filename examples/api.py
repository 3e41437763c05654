"""The stages as Python generators: the same work as the pipeline, in one process."""

from streamkit import accumulate, normalize, replay

with open("examples/haiku.sse", "rb") as recording:
    for event in accumulate(normalize(replay(recording))):
        if event["type"] == "text-delta":
            print(event["delta"], end="", flush=True)
        elif event["type"] == "message":
            print(f"\n[{event['finish_reason']}, {event['usage']['output_tokens']} tokens]")
