"""The gateway's model listings when the upstream's own list is hostile: read to a bound, and the
mapped names listed instead."""

from __future__ import annotations

import asyncio
import tracemalloc

import httpx
import pytest

from streamkit.dialects.base import Endpoint
from streamkit.serve.catalog import MAX_LISTING, upstream_models
from streamkit.testing import serving
from tests.hostile import hostile


def test_a_model_list_without_end_is_read_to_its_bound_and_no_further() -> None:
    async def listing(url: str) -> list[str]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await upstream_models(client, "openai-chat", Endpoint(url + "/v1"))

    with hostile("endless-200") as up:  # (it sends 200 MiB, then closes)
        tracemalloc.start()
        try:
            with pytest.raises(ValueError, match="longer than 16 MiB"):
                asyncio.run(listing(up))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 3 * MAX_LISTING, f"peak {peak / 2**20:.0f} MiB"


def test_the_gateway_lists_the_mapped_names_when_the_upstream_s_list_has_no_end() -> None:
    import openai

    with (
        hostile("endless-200") as up,
        serving("--upstream", "openai-chat", "--base-url", up + "/v1", "-m", "only-this") as url,
        openai.OpenAI(api_key="k", base_url=f"{url}/v1", timeout=30) as client,
    ):
        assert [m.id for m in client.models.list()] == ["only-this"]
