"""One module per dialect, each giving `make bench` a large synthetic stream in that dialect.

A module defines:

* ``NAME``: the dialect's name;
* ``wire_events(n) -> list[tuple[str | None, object]]``: about ``n`` wire events (SSE event name or
  None, parsed data) of one realistic response, mostly text deltas, shaped like what the real
  server sends today;
* optionally ``sdk_accumulate(wire) -> object``: the same events through the official SDK's own
  accumulator, as the SDK does it when streaming (events validated into its types), returning
  the final message.

bench/run.py times ``streamkit normalize`` on them against the orjson floor, and
``sdk_accumulate`` against streamkit's normalize + accumulate in-process.
"""
