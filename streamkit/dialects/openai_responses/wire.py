"""The openai-responses dialect's shared vocabulary: its name, the item types a client answers and
those the provider runs, and the small helpers that more than one direction uses."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson

NAME = "openai-responses"

#: the prefix of an ``encrypted_content`` that holds another dialect's reasoning metadata (an
#: Anthropic or Gemini signature), sealed there by the encoder: a client that sends its reasoning
#: items back (Codex does, with ``store: false``) gives it back to parse, and the next request to
#: that dialect's upstream carries the signature its API asks for
SEALED = "streamkit:"

# items the client answers, beyond function_call: type -> (tool name, or None for the item's
# "name"; the field holding the input; whether the arguments wrap it as {field: value}). A
# shell_call, tool_search_call or custom_tool_call may also be one the provider ran (see items).
_CLIENT_ITEMS: dict[str, tuple[str | None, str, bool]] = {
    "custom_tool_call": (None, "input", True),
    "apply_patch_call": ("apply_patch", "operation", False),
    "shell_call": ("shell", "action", False),
    "local_shell_call": ("local_shell", "action", False),
    "computer_call": ("computer", "action", False),
    "tool_search_call": ("tool_search", "arguments", False),
}

# items the provider runs itself: type -> tool name (None: the item's "name")
_PROVIDER_ITEMS: dict[str, str | None] = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "mcp_call": None,
    "mcp_list_tools": "mcp_list_tools",
    "image_generation_call": "image_generation",
    "program": "programmatic_tool_calling",
}


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _meta(ev: dict[str, Any] | None) -> dict[str, Any]:
    """This dialect's provider_metadata of an event."""
    if not ev:
        return {}
    meta = (ev.get("provider_metadata") or {}).get(NAME)
    return meta if isinstance(meta, dict) else {}


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _fits(kind: str, value: Any) -> bool:
    """Whether a call's input has the shape its item type needs (else it is written as a function call)."""
    if not isinstance(value, dict):
        return False
    if kind == "custom_tool_call":
        return isinstance(value.get("input"), str)
    if kind == "apply_patch_call":
        op = value.get("type")
        return (
            op in ("create_file", "update_file", "delete_file")
            and isinstance(value.get("path"), str)
            and (op == "delete_file" or isinstance(value.get("diff"), str))
        )
    from .items import fits

    return fits(kind, value)


def seal(meta: dict[str, Any]) -> str:
    """Other dialects' reasoning metadata as an ``encrypted_content`` (see :data:`SEALED`)."""
    return SEALED + base64.urlsafe_b64encode(orjson.dumps(meta)).decode().rstrip("=")


def unseal(text: str) -> dict[str, dict[str, Any]] | None:
    """The metadata :func:`seal` put in an ``encrypted_content``; None for anything else (the
    API's own encrypted content, or a seal that does not open)."""
    if not text.startswith(SEALED):
        return None
    data = text[len(SEALED) :]
    try:
        value = orjson.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (ValueError, orjson.JSONDecodeError):  # binascii.Error is a ValueError
        return None
    if not isinstance(value, dict) or not value:
        return None
    if not all(k != NAME and isinstance(v, dict) for k, v in value.items()):
        return None
    return value
