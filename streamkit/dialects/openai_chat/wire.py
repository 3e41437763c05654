"""The dialect's name, shared by the normalizer and the encoder (the key of its ``provider_metadata``)."""

from __future__ import annotations

NAME = "openai-chat"
