"""The provider's own web search in each dialect's requests: the canonical tool of ``"kind":
"web_search"`` (see :mod:`streamkit.conversation`), which a client declares in its dialect and
the gateway sends on in the upstream's, so that Codex's ``web_search`` searches through an
Anthropic upstream and Claude Code's ``WebSearch`` through a Responses or Gemini one.

=================== ============================ ======================== ======================= ==============
canonical           Anthropic                    Responses                Chat Completions        Gemini
=================== ============================ ======================== ======================= ==============
the tool            ``web_search_20250305``      ``web_search`` tool      ``web_search_options``  ``googleSearch``
``max_uses``        ``max_uses``                 --                       --                      --
``allowed_domains`` ``allowed_domains``          ``filters``'s            --                      --
``blocked_domains`` ``blocked_domains``          --                       --                      --
``user_location``   ``user_location``            ``user_location``        ``user_location``'s     --
                    (approximate)                (approximate)            ``approximate``
``context_size``    --                           ``search_context_size``  ``search_context_size`` --
=================== ============================ ======================== ======================= ==============

A setting the upstream's dialect has no place for is left out with a warning, as is the tool
where the dialect has none (Ollama, the Assistants API, Bedrock, Cohere). (A Gemini client's
``excludeDomains`` is read as the blocked domains, but not built: only Vertex AI takes it.) Each dialect's parser
reads its own form back into the canonical tool and keeps the rest of what the client sent (a
versioned ``type``, ``cache_control``, Gemini's ``timeRangeFilter``) in the tool's
``provider_metadata``, which the builder of the same dialect restores.

A ``tool_choice`` naming the search (Claude Code's ``WebSearch`` forces it) stays one for
Anthropic, becomes ``required`` for a Responses upstream when the search is its only tool, and is
left to the model elsewhere (a warning says so): Gemini cannot force a search, and the others
have none to force. One naming code execution stays one for Anthropic, becomes
``{"type": "code_interpreter"}`` for a Responses upstream, and is left to the model elsewhere
(:func:`names_hosted`): never a function choice naming a function the request does not declare,
which every API refuses.

The search a provider ran comes back in the client's own dialect: each encoder writes a
provider-executed call named in :data:`.base.SEARCH_CALL_NAMES` (and its result) as its dialect's search
(a Responses ``web_search_call``; Anthropic's ``server_tool_use`` and ``web_search_tool_result``;
a Gemini ``toolCall`` of ``GOOGLE_SEARCH_WEB``).

Two upstreams refuse the search beside the request's other tools for some models, and the builders
say so rather than fail the request:

* Chat Completions takes ``web_search_options`` only for OpenAI's search models, which take no
  function tools: it is sent when the model's name holds ``search`` (``gpt-4o-search-preview``)
  or a Chat client sent it itself, and left out with a warning otherwise.
* Gemini 2 models refuse ``googleSearch`` beside function declarations; Gemini 3 takes both with
  ``toolConfig.includeServerSideToolInvocations``, which the builder then sets. The search is left
  out with a warning beside functions for a model named ``gemini-1…`` or ``gemini-2…``.
"""

from __future__ import annotations

from typing import Any

from ..conversation import CODE_EXECUTION, IMAGE_GENERATION, LOCATION_FIELDS, WEB_SEARCH, web_search_problem
from .base import SEARCH_CALL_NAMES as SEARCH_CALL_NAMES  # (re-exported)
from .checks import Checks

#: the canonical tool kinds every dialect declares as its own tools (functions)
FUNCTION_KINDS = frozenset({"function", "custom"})
#: the settings of a canonical web search tool
SETTINGS = ("max_uses", "allowed_domains", "blocked_domains", "user_location", "context_size")


def split_tools(
    tools: Any, drops: Any, hosted: frozenset[str] = frozenset()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The conversation's tools a dialect declares as functions, and those of the ``hosted`` kinds
    it sends as its own hosted tools; any other kind is counted in ``drops`` (left out)."""
    functions: list[dict[str, Any]] = []
    found: list[dict[str, Any]] = []
    for tool in tools or ():
        kind = tool.get("kind", "function")
        if kind in FUNCTION_KINDS:
            functions.append(tool)
        elif kind in hosted:
            found.append(tool)
        else:
            drops.add(f"the {kind} tool")
    return functions, found


def names_hosted(choice: Any, tools: Any) -> str | None:
    """The kind (:data:`WEB_SEARCH`, :data:`CODE_EXECUTION`) of the provider-run tool a canonical
    ``tool_choice`` names, among the conversation's ``tools`` (Claude Code's ``WebSearch`` asks for
    ``{"type": "tool", "name": "web_search"}``); None when it names none."""
    if not isinstance(choice, dict):
        return None
    for tool in tools or ():
        if tool.get("kind") in (WEB_SEARCH, CODE_EXECUTION) and tool.get("name") == choice.get("name"):
            return str(tool["kind"])
    return None


def own(tool: dict[str, Any], dialect: str) -> dict[str, Any] | None:
    """What a client of ``dialect`` sent of the tool beyond its canonical settings, when one did."""
    meta = tool.get("provider_metadata")
    found = meta.get(dialect) if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else None


def unsent(tool: dict[str, Any], sent: tuple[str, ...], drops: Any) -> None:
    """Count each setting of the tool that the dialect has no place for (not in ``sent``)."""
    for key in SETTINGS:
        if key not in sent and tool.get(key) is not None:
            drops.add(f"the web search's {key}")


def approximate(tool: dict[str, Any]) -> dict[str, Any] | None:
    """The tool's ``user_location`` as the places it names (Anthropic's and Responses' approximate
    location without its ``type``), or None."""
    place = tool.get("user_location")
    if not isinstance(place, dict):
        return None
    found = {k: place[k] for k in LOCATION_FIELDS if isinstance(place.get(k), str)}
    return found or None


def canonical(settings: dict[str, Any], meta: dict[str, Any], check: Checks, at: str) -> dict[str, Any]:
    """The canonical tool with ``settings`` (those that are set) and ``meta`` as the client's own;
    settings a canonical search refuses (a ``max_uses`` of 0) are the client's 400, naming ``at``."""
    tool: dict[str, Any] = {"name": WEB_SEARCH, "kind": WEB_SEARCH}
    tool.update((k, v) for k, v in settings.items() if v is not None)
    problem = web_search_problem(tool)
    if problem:
        raise check.fail(at, f"(a web search): {problem}")
    if meta:
        tool["provider_metadata"] = {check.dialect: meta}
    return tool


def code_execution(meta: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The canonical code execution tool, with what a ``dialect`` client sent of it as its own."""
    return {"name": CODE_EXECUTION, "kind": CODE_EXECUTION, "provider_metadata": {dialect: meta}}


def image_generation(meta: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The canonical image generation tool, with what a ``dialect`` client sent of it as its own."""
    return {"name": IMAGE_GENERATION, "kind": IMAGE_GENERATION, "provider_metadata": {dialect: meta}}


def read_location(check: Checks, value: Any, at: str, nested: str | None = None) -> dict[str, Any] | None:
    """A client's approximate ``user_location`` (its places at the top, or under ``nested``: Chat's
    ``approximate``) as the canonical one; a place that is not a string is the client's 400."""
    if value is None:
        return None
    check.object(value, at)
    places = value
    if nested is not None:
        places = value.get(nested) or {}
        check.object(places, f"{at}.{nested}")
        at = f"{at}.{nested}"
    found = {}
    for key in LOCATION_FIELDS:
        if places.get(key) is not None:
            found[key] = check.string(places[key], f"{at}.{key}")
    return found or None


def read_domains(check: Checks, value: Any, at: str) -> list[str] | None:
    if value is None:
        return None
    return [check.string(d, f"{at}[{i}]") for i, d in enumerate(check.list(value, at))]
