"""The dialect's name, shared by the normalizer and the encoder (the key of its ``provider_metadata``),
and the ``images`` entry both the encoder and the whole completion write."""

from __future__ import annotations

from typing import Any

from ..base import generated_image

NAME = "openai-chat"


def image_entry(ev: dict[str, Any]) -> dict[str, Any] | None:
    """An image the model made (:func:`~..base.generated_image`) as an entry of ``images``, as
    OpenRouter and Vercel's AI Gateway give an image model's: an ``image_url`` holding a ``data:``
    URL; None for any other file."""
    image = generated_image(ev)
    if image is None:
        return None
    return {"type": "image_url", "image_url": {"url": f"data:{image[0]};base64,{image[1]}"}}
