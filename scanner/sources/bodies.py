"""Turns an LLM API request body (any provider's shape) into segments, attributes and media counts.

Shapes recognised by their fields: OpenAI Chat Completions, OpenAI Responses, Anthropic Messages,
Gemini/Vertex ``generateContent``, Bedrock Converse and the native InvokeModel bodies (Titan
``inputText``, Llama ``prompt``, Cohere ``message``). A body of no known shape is not dropped: every
string leaf becomes a segment with role ``unknown``.

Pointers are full pointers from the file root; ``#`` marks descent into JSON held in a string
(tool-call ``arguments``, a HAR ``postData.text``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from scanner.models import Segment

_ROLE_MAP = {
    "developer": "system",
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "model": "assistant",
    "ai": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}
_MEDIA_TYPES = {
    "image_url",
    "input_image",
    "image",
    "input_audio",
    "audio",
    "file",
    "input_file",
    "document",
    "video",
    "blob",
    "uri",
}
_MEDIA_KEYS = {"inlineData", "inline_data", "fileData", "file_data", "image", "document", "video"}
# Keys whose string values are identifiers or settings, never free text.
_NON_TEXT_KEYS = {
    "model",
    "role",
    "type",
    "id",
    "tool_call_id",
    "tool_use_id",
    "call_id",
    "object",
    "mime_type",
    "mimeType",
    "media_type",
    "format",
    "detail",
    "encoding",
    "anthropic_version",
    "service_tier",
    "reasoning_effort",
    "finish_reason",
    "stop_reason",
    "response_format",
    "tool_choice",
    "status",
}


def ptr_escape(token: str | int) -> str:
    """One JSON-pointer reference token (RFC 6901: ``~`` → ``~0``, ``/`` → ``~1``)."""
    if isinstance(token, int):
        return str(token)
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


def join(pointer: str, *tokens: str | int) -> str:
    if len(tokens) == 1:
        return f"{pointer}/{ptr_escape(tokens[0])}"
    return pointer + "".join("/" + ptr_escape(t) for t in tokens)


def decode_json_string(value: str) -> Any | None:
    """Parse a string that holds JSON (object or array); ``None`` if it does not."""
    stripped = value.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


@dataclass(slots=True)
class ParsedBody:
    api: str
    model: str | None = None
    segments: list[Segment] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    unscanned_parts: int = 0

    def text(self, pointer: str, role: str, value: Any) -> None:
        if isinstance(value, str) and value and not value.isspace():
            self.segments.append(Segment(pointer, role, value))

    def strings(self, pointer: str, role: str, value: Any, depth: int = 0) -> None:
        """Every free-text string leaf under ``value`` (JSON-in-strings decoded)."""
        if depth > 64:
            return
        if isinstance(value, str):
            nested = decode_json_string(value) if len(value) > 1 else None
            if nested is not None and isinstance(nested, dict | list):
                self.strings(pointer + "#", role, nested, depth + 1)
            else:
                self.text(pointer, role, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in _NON_TEXT_KEYS and isinstance(item, str):
                    continue
                if key in _MEDIA_KEYS and isinstance(item, dict):
                    self.unscanned_parts += 1
                    continue
                self.strings(join(pointer, key), role, item, depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.strings(join(pointer, i), role, item, depth + 1)


def detect_api(body: dict[str, Any]) -> str:
    if "contents" in body or "systemInstruction" in body or "system_instruction" in body:
        return "gemini.generate_content"
    if "messages" in body:
        if "anthropic_version" in body:
            return "anthropic.messages"
        if "inferenceConfig" in body or "toolConfig" in body or _converse_blocks(body["messages"]):
            return "bedrock.converse"
        if isinstance(body.get("system"), str | list) or _anthropic_blocks(body["messages"]):
            return "anthropic.messages"
        return "openai.chat_completions"
    if isinstance(body.get("input"), str | list) or "instructions" in body:
        return "openai.responses"
    if "inputText" in body:
        return "bedrock.titan"
    if "prompt" in body:
        return "completions"
    if "message" in body and ("chat_history" in body or "preamble" in body):
        return "cohere.chat"
    return "unknown"


def _blocks(messages: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(messages, list):
        for m in messages:
            if isinstance(m, dict) and isinstance(m.get("content"), list):
                out.extend(b for b in m["content"] if isinstance(b, dict))
    return out


def _anthropic_blocks(messages: Any) -> bool:
    return any(
        b.get("type") in {"tool_use", "tool_result", "thinking", "redacted_thinking"}
        or (b.get("type") in {"image", "document"} and "source" in b)
        for b in _blocks(messages)
    )


def _converse_blocks(messages: Any) -> bool:
    blocks = _blocks(messages)
    return bool(blocks) and all("type" not in b for b in blocks)


def parse_body(body: Any, pointer: str) -> ParsedBody:
    """Segments and attributes of one request body found at ``pointer``."""
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            parsed = ParsedBody(api="binary")
            parsed.unscanned_parts = 1
            return parsed
    if isinstance(body, str):
        nested = decode_json_string(body)
        if isinstance(nested, dict):
            return parse_body(nested, pointer + "#")
        parsed = ParsedBody(api="text")
        if nested is not None:
            parsed.strings(pointer + "#", "unknown", nested)
        else:
            parsed.text(pointer, "user", body)
        return parsed
    if not isinstance(body, dict):
        parsed = ParsedBody(api="unknown")
        parsed.strings(pointer, "unknown", body)
        return parsed

    api = detect_api(body)
    parsed = ParsedBody(api=api, model=body.get("model") if isinstance(body.get("model"), str) else None)
    handler = _HANDLERS.get(api)
    if handler is None:
        parsed.strings(pointer, "unknown", body)
    else:
        handler(parsed, body, pointer)
    _common_attributes(parsed, body, pointer)
    return parsed


def _common_attributes(parsed: ParsedBody, body: dict[str, Any], pointer: str) -> None:
    attrs = parsed.attributes
    attrs["api"] = parsed.api
    if "stream" in body:
        attrs["stream"] = bool(body["stream"])
    for key in ("user", "safety_identifier", "prompt_cache_key"):
        if isinstance(body.get(key), str):
            parsed.text(join(pointer, key), "metadata", body[key])
            attrs[key] = "present"
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        parsed.strings(join(pointer, "metadata"), "metadata", metadata)
    if isinstance(body.get("inference_geo"), str):
        attrs["inference_geo"] = body["inference_geo"]
    hops = []
    for i, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, dict) and tool.get("type") == "mcp" and isinstance(tool.get("server_url"), str):
            hops.append(tool["server_url"])
            parsed.attributes.setdefault("mcp_tools", []).append(join(pointer, "tools", i))
    for server in body.get("mcp_servers") or []:
        if isinstance(server, dict) and isinstance(server.get("url"), str):
            hops.append(server["url"])
    if hops:
        attrs["third_party_hosts"] = hops


def _role(value: Any, default: str = "user") -> str:
    return _ROLE_MAP.get(str(value).lower(), default) if value is not None else default


def _content(parsed: ParsedBody, content: Any, pointer: str, role: str) -> None:
    """A message ``content``: a string, or a list of typed parts/blocks of any provider."""
    if isinstance(content, str):
        parsed.text(pointer, role, content)
        return
    if isinstance(content, dict):
        content = [content]
        single = True
    else:
        single = False
    if not isinstance(content, list):
        return
    for i, part in enumerate(content):
        p = pointer if single else join(pointer, i)
        if isinstance(part, str):
            parsed.text(p, role, part)
        elif isinstance(part, dict):
            _part(parsed, part, p, role)


def _part(parsed: ParsedBody, part: dict[str, Any], p: str, role: str) -> None:
    kind = part.get("type")
    if kind in {"text", "input_text", "output_text"} or (kind is None and isinstance(part.get("text"), str)):
        parsed.text(join(p, "text"), role, part.get("text"))
    elif kind == "refusal":
        parsed.text(join(p, "refusal"), role, part.get("refusal"))
    elif kind in {"thinking"}:
        parsed.text(join(p, "thinking"), "assistant", part.get("thinking"))
    elif kind == "tool_use":
        parsed.strings(join(p, "input"), "tool_call", part.get("input"))
    elif kind == "tool_result":
        _content(parsed, part.get("content"), join(p, "content"), "tool")
    elif kind in {"function_call", "custom_tool_call"}:
        parsed.strings(join(p, "arguments"), "tool_call", part.get("arguments", part.get("input")))
    elif kind in {"function_call_output", "custom_tool_call_output"}:
        parsed.strings(join(p, "output"), "tool", part.get("output"))
    elif kind == "message":
        _content(parsed, part.get("content"), join(p, "content"), _role(part.get("role"), role))
    elif kind == "document" and isinstance(part.get("source"), dict) and part["source"].get("type") == "text":
        parsed.text(join(p, "source", "data"), role, part["source"].get("data"))
    elif kind in _MEDIA_TYPES:
        parsed.unscanned_parts += 1
        if isinstance(part.get("file"), dict):
            parsed.text(join(p, "file", "filename"), role, part["file"].get("filename"))
        if isinstance(part.get("filename"), str):
            parsed.text(join(p, "filename"), role, part["filename"])
    elif kind is None and "toolUse" in part:
        parsed.strings(join(p, "toolUse", "input"), "tool_call", part["toolUse"].get("input"))
    elif kind is None and "toolResult" in part:
        _content(parsed, part["toolResult"].get("content"), join(p, "toolResult", "content"), "tool")
    elif kind is None and "json" in part:
        parsed.strings(join(p, "json"), role, part["json"])
    elif kind is None and "guardContent" in part:
        parsed.strings(join(p, "guardContent"), role, part["guardContent"])
    elif kind is None and "functionCall" in part:
        parsed.strings(join(p, "functionCall", "args"), "tool_call", part["functionCall"].get("args"))
    elif kind is None and "functionResponse" in part:
        parsed.strings(
            join(p, "functionResponse", "response"), "tool", part["functionResponse"].get("response")
        )
    elif kind is None and any(k in part for k in _MEDIA_KEYS):
        parsed.unscanned_parts += 1
        doc = part.get("document")
        if isinstance(doc, dict):
            parsed.text(join(p, "document", "name"), role, doc.get("name"))
    else:
        parsed.strings(p, role, part)


def _messages(parsed: ParsedBody, messages: Any, pointer: str) -> None:
    if not isinstance(messages, list):
        parsed.strings(pointer, "unknown", messages)
        return
    for i, message in enumerate(messages):
        mp = join(pointer, i)
        if not isinstance(message, dict):
            parsed.strings(mp, "unknown", message)
            continue
        role = _role(message.get("role"))
        _content(parsed, message.get("content"), join(mp, "content"), role)
        for j, call in enumerate(message.get("tool_calls") or []):
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                parsed.strings(
                    join(mp, "tool_calls", j, "function", "arguments"),
                    "tool_call",
                    call["function"].get("arguments"),
                )
        if isinstance(message.get("function_call"), dict):
            parsed.strings(
                join(mp, "function_call", "arguments"), "tool_call", message["function_call"].get("arguments")
            )
        if isinstance(message.get("refusal"), str):
            parsed.text(join(mp, "refusal"), role, message["refusal"])


def _openai_chat(parsed: ParsedBody, body: dict[str, Any], pointer: str) -> None:
    _messages(parsed, body.get("messages"), join(pointer, "messages"))
    store = body.get("store")
    parsed.attributes["store"] = bool(store) if store is not None else False
    parsed.attributes["store_explicit"] = store is not None
    options = body.get("web_search_options")
    if isinstance(options, dict) and isinstance(options.get("user_location"), dict):
        parsed.strings(
            join(pointer, "web_search_options", "user_location"), "metadata", options["user_location"]
        )
    prediction = body.get("prediction")
    if isinstance(prediction, dict):
        _content(parsed, prediction.get("content"), join(pointer, "prediction", "content"), "user")


def _openai_responses(parsed: ParsedBody, body: dict[str, Any], pointer: str) -> None:
    parsed.text(join(pointer, "instructions"), "system", body.get("instructions"))
    value = body.get("input")
    if isinstance(value, str):
        parsed.text(join(pointer, "input"), "user", value)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            ip = join(pointer, "input", i)
            if isinstance(item, dict) and "role" in item and "type" not in item:
                _content(parsed, item.get("content"), join(ip, "content"), _role(item.get("role")))
            elif isinstance(item, dict):
                _part(parsed, item, ip, _role(item.get("role")))
    # Responses stores by default; ``store`` must be set to false explicitly.
    store = body.get("store")
    parsed.attributes["store"] = True if store is None else bool(store)
    parsed.attributes["store_explicit"] = store is not None
    for key in ("previous_response_id", "conversation", "background"):
        if body.get(key):
            parsed.attributes[key] = True


def _anthropic(parsed: ParsedBody, body: dict[str, Any], pointer: str) -> None:
    system = body.get("system")
    if isinstance(system, str):
        parsed.text(join(pointer, "system"), "system", system)
    elif isinstance(system, list):
        _content(parsed, system, join(pointer, "system"), "system")
    _messages(parsed, body.get("messages"), join(pointer, "messages"))


def _converse(parsed: ParsedBody, body: dict[str, Any], pointer: str) -> None:
    system = body.get("system")
    if isinstance(system, list):
        _content(parsed, system, join(pointer, "system"), "system")
    _messages(parsed, body.get("messages"), join(pointer, "messages"))
    if isinstance(body.get("requestMetadata"), dict):
        parsed.strings(join(pointer, "requestMetadata"), "metadata", body["requestMetadata"])


def _gemini(parsed: ParsedBody, body: dict[str, Any], pointer: str) -> None:
    for key in ("systemInstruction", "system_instruction"):
        si = body.get(key)
        if isinstance(si, dict):
            _content(parsed, si.get("parts"), join(pointer, key, "parts"), "system")
        elif isinstance(si, str):
            parsed.text(join(pointer, key), "system", si)
    contents = body.get("contents")
    if isinstance(contents, dict):
        contents = [contents]
    for i, item in enumerate(contents or []):
        if isinstance(item, dict):
            _content(
                parsed, item.get("parts"), join(pointer, "contents", i, "parts"), _role(item.get("role"))
            )
        elif isinstance(item, str):
            parsed.text(join(pointer, "contents", i), "user", item)


def _prompt_style(parsed: ParsedBody, body: dict[str, Any], pointer: str) -> None:
    for key in ("inputText", "prompt", "message", "preamble", "system"):
        if key in body:
            parsed.strings(
                join(pointer, key), "system" if key in {"preamble", "system"} else "user", body[key]
            )
    if isinstance(body.get("chat_history"), list):
        _messages(parsed, body["chat_history"], join(pointer, "chat_history"))


_HANDLERS = {
    "openai.chat_completions": _openai_chat,
    "openai.responses": _openai_responses,
    "anthropic.messages": _anthropic,
    "bedrock.converse": _converse,
    "gemini.generate_content": _gemini,
    "bedrock.titan": _prompt_style,
    "completions": _prompt_style,
    "cohere.chat": _prompt_style,
}
