"""Two HTTP clients that read no answer while they still send a request: Python's own ``urllib``
and Node's ``fetch``. An answer the server sends and then closes on with the request unread is
lost to them as a reset (httpx and curl read it anyway), which is what the lingering close of
:mod:`streamkit.serve.connections` is tested with."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

import orjson
import pytest

_FETCH = """
const body = require('fs').readFileSync(process.argv[2]);
(async () => {
  const seen = [];
  for (let i = 0; i < Number(process.argv[3]); i++) {
    try {
      const r = await fetch(process.argv[1], {method: 'POST', body, headers: {'content-type': 'application/json'}});
      seen.push(r.status + ' ' + r.headers.get('retry-after'));
      await r.text();
    } catch (e) {
      seen.push((e.cause && e.cause.code) || e.name);
    }
  }
  console.log(JSON.stringify(seen));
})();
"""


def urllib_answer(url: str, body: bytes, context: ssl.SSLContext | None = None) -> tuple[int, str | None]:
    """What ``urllib`` is answered for a POST of ``body`` to ``url`` (``context``: the TLS one):
    the status and its ``Retry-After`` (an exception if the connection failed)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20, context=context) as response:
            return response.status, response.headers.get("retry-after")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("retry-after")


def node_fetch_answers(url: str, body: Path, times: int, ca: Path | None = None) -> list[str]:
    """What Node's ``fetch`` is answered for ``times`` POSTs of the file ``body`` to ``url``, one
    after the other: ``"STATUS RETRY-AFTER"`` each, or the error's code (``ECONNRESET``, ``EPIPE``);
    ``ca``: a CA certificate to trust too. Skips the test where Node is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed (the coding agents' tests need it too)")
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(ca)} if ca is not None else None
    done = subprocess.run([node, "-e", _FETCH, url, str(body), str(times)], capture_output=True, timeout=120,
                          check=True, env=env)  # fmt: skip
    return list(orjson.loads(done.stdout))
