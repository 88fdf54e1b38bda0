"""Turns a logged LLM API *response* (any provider's shape, whole or streamed) into segments.

Streamed responses are reassembled before detection, because a value split across chunks is
still a disclosure: OpenAI ``chat.completion.chunk`` deltas and Responses ``*.delta`` events,
Anthropic ``content_block_delta``, Bedrock ConverseStream ``contentBlockDelta`` and the
InvokeModelWithResponseStream chunk arrays of each model family, Gemini stream arrays, and
Server-Sent-Events text (``data: {...}`` lines) holding any of those. A reassembled text's pointer
names the event field it was joined from, with ``*`` for "every event" and ``*[i]`` for "every
event of block/output ``i``" (``/output/outputBodyJson/*[0]/delta/text``).

Whole responses: OpenAI Chat and Responses, Anthropic Messages, Bedrock Converse and native
bodies (Titan, Llama, Cohere, Mistral), Gemini ``candidates``. Anything else: every free-text leaf.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from scanner.sources.bodies import ParsedBody, _content, decode_json_string, join

_SKIP_KEYS = {"usage", "metrics", "usageMetadata", "amazon-bedrock-invocationMetrics", "logprobs", "trace"}


def parse_response(body: Any, pointer: str) -> ParsedBody:
    """Segments of one logged response at ``pointer`` (roles ``assistant``, ``tool_call``, ``tool``)."""
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            parsed = ParsedBody(api="binary")
            parsed.unscanned_parts = 1
            return parsed
    if isinstance(body, str):
        events = parse_sse(body)
        if events is not None:
            return reassemble(events, pointer + "#")
        nested = decode_json_string(body)
        if nested is not None:
            return parse_response(nested, pointer + "#")
        parsed = ParsedBody(api="text")
        parsed.text(pointer, "assistant", body)
        return parsed
    if isinstance(body, list):
        if is_stream(body):
            return reassemble(body, pointer)
        parsed = ParsedBody(api="unknown")
        for i, item in enumerate(body):
            sub = parse_response(item, join(pointer, i))
            _merge(parsed, sub)
        return parsed
    parsed = ParsedBody(api="response")
    if isinstance(body, dict):
        _whole(parsed, body, pointer)
    return parsed


def _merge(into: ParsedBody, other: ParsedBody) -> None:
    into.segments.extend(other.segments)
    into.unscanned_parts += other.unscanned_parts


def parse_sse(text: str) -> list[Any] | None:
    """Events of a Server-Sent-Events body (``data:`` lines), or ``None`` if it is not one."""
    stripped = text.lstrip()
    if not (stripped.startswith("data:") or stripped.startswith("event:")):
        return None
    events: list[Any] = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if not payload or payload == "[DONE]":
            continue
        try:
            events.append(orjson.loads(payload))
        except orjson.JSONDecodeError:
            events.append(payload)
    return events


def is_stream(items: list[Any]) -> bool:
    """Is this list a sequence of streaming events (of any provider) rather than content?"""
    for item in items[:5]:
        if item == "[DONE]":
            return True
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if isinstance(kind, str) and (kind.startswith(("message_", "content_block_", "response."))):
            return True
        if item.get("object") == "chat.completion.chunk":
            return True
        if any(
            k in item
            for k in ("contentBlockDelta", "messageStart", "contentBlockStart", "chunk", "outputText")
        ):
            return True
        if "candidates" in item or "generation" in item or "event_type" in item:
            return True
    return False


class _Joiner:
    """Accumulates text pieces per (field, index) in first-seen order."""

    def __init__(self) -> None:
        self.parts: dict[tuple[str, str], list[str]] = {}

    def add(self, suffix: str, role: str, piece: Any) -> None:
        if isinstance(piece, str) and piece:
            self.parts.setdefault((suffix, role), []).append(piece)

    def into(self, parsed: ParsedBody, pointer: str) -> None:
        for (suffix, role), pieces in self.parts.items():
            parsed.text(pointer + suffix, role, "".join(pieces))


def reassemble(events: list[Any], pointer: str) -> ParsedBody:
    """Join the deltas of a streamed response into whole texts, one segment per block."""
    parsed = ParsedBody(api="stream")
    joiner = _Joiner()
    for event in events:
        _event(joiner, parsed, event, "", pointer)
    joiner.into(parsed, pointer)
    parsed.attributes["stream"] = True
    return parsed


def _event(joiner: _Joiner, parsed: ParsedBody, event: Any, prefix: str, pointer: str) -> None:
    if not isinstance(event, dict):
        return
    add = joiner.add
    # Bedrock InvokeModelWithResponseStream wire form: {"chunk": {"bytes": base64(JSON event)}}.
    chunk = event.get("chunk")
    if isinstance(chunk, dict) and isinstance(chunk.get("bytes"), str):
        try:
            inner = orjson.loads(base64.b64decode(chunk["bytes"], validate=True))
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            return
        _event(joiner, parsed, inner, prefix + "/chunk/bytes#", pointer)
        return
    kind = event.get("type")
    # OpenAI Chat Completions chunks.
    for choice in event.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        i = choice.get("index", 0)
        delta = choice.get("delta")
        if isinstance(delta, dict):
            add(f"/*{prefix}/choices/{i}/delta/content", "assistant", delta.get("content"))
            add(f"/*{prefix}/choices/{i}/delta/refusal", "assistant", delta.get("refusal"))
            for call in delta.get("tool_calls") or []:
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    j = call.get("index", 0)
                    add(
                        f"/*{prefix}/choices/{i}/delta/tool_calls/{j}/function/arguments",
                        "tool_call",
                        call["function"].get("arguments"),
                    )
        elif isinstance(choice.get("text"), str):
            add(f"/*{prefix}/choices/{i}/text", "assistant", choice["text"])
    # Anthropic Messages stream (also inside Bedrock invoke-with-response-stream logs).
    if kind == "content_block_start" and isinstance(event.get("content_block"), dict):
        i = event.get("index", 0)
        block = event["content_block"]
        add(f"/*[{i}]{prefix}/delta/text", "assistant", block.get("text"))
    elif kind == "content_block_delta" and isinstance(event.get("delta"), dict):
        i = event.get("index", 0)
        delta = event["delta"]
        add(f"/*[{i}]{prefix}/delta/text", "assistant", delta.get("text"))
        add(f"/*[{i}]{prefix}/delta/partial_json", "tool_call", delta.get("partial_json"))
        add(f"/*[{i}]{prefix}/delta/thinking", "assistant", delta.get("thinking"))
    # OpenAI Responses stream.
    elif isinstance(kind, str) and kind in {"response.output_text.delta", "response.refusal.delta"}:
        add(f"/*[{event.get('output_index', 0)}]{prefix}/delta", "assistant", event.get("delta"))
    elif kind in {"response.function_call_arguments.delta", "response.mcp_call_arguments.delta"}:
        add(f"/*[{event.get('output_index', 0)}]{prefix}/delta", "tool_call", event.get("delta"))
    # Bedrock ConverseStream.
    block_delta = event.get("contentBlockDelta")
    if isinstance(block_delta, dict) and isinstance(block_delta.get("delta"), dict):
        i = block_delta.get("contentBlockIndex", 0)
        delta = block_delta["delta"]
        add(f"/*[{i}]{prefix}/contentBlockDelta/delta/text", "assistant", delta.get("text"))
        if isinstance(delta.get("toolUse"), dict):
            add(
                f"/*[{i}]{prefix}/contentBlockDelta/delta/toolUse/input",
                "tool_call",
                delta["toolUse"].get("input"),
            )
        if isinstance(delta.get("reasoningContent"), dict):
            add(
                f"/*[{i}]{prefix}/contentBlockDelta/delta/reasoningContent/text",
                "assistant",
                delta["reasoningContent"].get("text"),
            )
    # Native model families' stream chunks (Titan, Llama, Cohere, Mistral).
    add(f"/*{prefix}/outputText", "assistant", event.get("outputText"))
    add(f"/*{prefix}/generation", "assistant", event.get("generation"))
    if event.get("event_type") == "text-generation":
        add(f"/*{prefix}/text", "assistant", event.get("text"))
    for j, out in enumerate(event.get("outputs") or []):
        if isinstance(out, dict):
            add(f"/*{prefix}/outputs/{j}/text", "assistant", out.get("text"))
    # Gemini streamGenerateContent.
    for c, cand in enumerate(event.get("candidates") or []):
        content = cand.get("content") if isinstance(cand, dict) else None
        if isinstance(content, dict):
            for p, part in enumerate(content.get("parts") or []):
                if isinstance(part, dict):
                    add(f"/*{prefix}/candidates/{c}/content/parts/{p}/text", "assistant", part.get("text"))
                    if isinstance(part.get("functionCall"), dict):
                        parsed.strings(
                            f"{pointer}/*{prefix}/candidates/{c}/content/parts/{p}/functionCall/args",
                            "tool_call",
                            part["functionCall"].get("args"),
                        )
                    if isinstance(part.get("inlineData"), dict):
                        parsed.unscanned_parts += 1


def _whole(parsed: ParsedBody, body: dict[str, Any], pointer: str) -> None:
    handled = False
    if isinstance(body.get("choices"), list):  # OpenAI Chat / completions
        handled = True
        parsed.api = "openai.chat_completions"
        for i, choice in enumerate(body["choices"]):
            if not isinstance(choice, dict):
                continue
            cp = join(pointer, "choices", i)
            message = choice.get("message")
            if isinstance(message, dict):
                _message(parsed, message, join(cp, "message"))
            parsed.text(join(cp, "text"), "assistant", choice.get("text"))
    if isinstance(body.get("output"), list):  # OpenAI Responses
        handled = True
        parsed.api = "openai.responses"
        for i, item in enumerate(body["output"]):
            if isinstance(item, dict):
                _responses_item(parsed, item, join(pointer, "output", i))
    elif isinstance(body.get("output"), dict) and isinstance(body["output"].get("message"), dict):
        handled = True  # Bedrock Converse
        parsed.api = "bedrock.converse"
        _content(
            parsed,
            body["output"]["message"].get("content"),
            join(pointer, "output", "message", "content"),
            "assistant",
        )
    if isinstance(body.get("content"), list) and body.get("type") == "message":  # Anthropic
        handled = True
        parsed.api = "anthropic.messages"
        _content(parsed, body["content"], join(pointer, "content"), "assistant")
    if isinstance(body.get("candidates"), list):  # Gemini / Vertex
        handled = True
        parsed.api = "gemini.generate_content"
        for i, cand in enumerate(body["candidates"]):
            if isinstance(cand, dict) and isinstance(cand.get("content"), dict):
                _content(
                    parsed,
                    cand["content"].get("parts"),
                    join(pointer, "candidates", i, "content", "parts"),
                    "assistant",
                )
    for key in ("results", "generations", "outputs"):  # Titan, Cohere, Mistral native
        if isinstance(body.get(key), list):
            handled = True
            for i, item in enumerate(body[key]):
                if isinstance(item, dict):
                    parsed.text(join(pointer, key, i, "outputText"), "assistant", item.get("outputText"))
                    parsed.text(join(pointer, key, i, "text"), "assistant", item.get("text"))
    for key in ("generation", "completion", "outputText", "text"):  # Llama, Anthropic legacy, Cohere
        if isinstance(body.get(key), str):
            handled = True
            parsed.text(join(pointer, key), "assistant", body[key])
    if not handled and "role" in body and "content" in body:  # a bare message (Langfuse, LangSmith)
        handled = True
        _message(parsed, body, pointer)
    if not handled:
        for key, value in body.items():
            if key not in _SKIP_KEYS:
                parsed.strings(join(pointer, key), "assistant", value)


def _message(parsed: ParsedBody, message: dict[str, Any], mp: str) -> None:
    _content(parsed, message.get("content"), join(mp, "content"), "assistant")
    parsed.text(join(mp, "refusal"), "assistant", message.get("refusal"))
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


def _responses_item(parsed: ParsedBody, item: dict[str, Any], ip: str) -> None:
    kind = item.get("type")
    if kind == "message":
        _content(parsed, item.get("content"), join(ip, "content"), "assistant")
    elif kind in {"function_call", "mcp_call", "custom_tool_call"}:
        parsed.strings(join(ip, "arguments"), "tool_call", item.get("arguments", item.get("input")))
        parsed.strings(join(ip, "output"), "tool", item.get("output"))
    elif kind == "reasoning":
        for j, s in enumerate(item.get("summary") or []):
            if isinstance(s, dict):
                parsed.text(join(ip, "summary", j, "text"), "assistant", s.get("text"))
