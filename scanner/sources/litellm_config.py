"""LiteLLM proxy ``config.yaml``: where each model route sends prompts and what else sees them.

* ``model_list[].litellm_params``: the ``model`` provider prefix (``azure/``, ``bedrock/``…) with
  ``api_base``, ``aws_region_name``, ``vertex_location``; no ``api_base`` means the provider's
  default endpoint (rules/config_settings.yaml ``litellm_providers``). ``api_key`` literals are
  credentials; ``os.environ/NAME`` is resolved from the ``.env`` beside the file.
* ``litellm_settings`` (and team settings) ``success_callback`` / ``failure_callback`` /
  ``callbacks``: loggers that receive prompts (Langfuse, LangSmith, Helicone…), with their host
  from ``langfuse_host`` or the logger's environment variable, else the logger's default.
* ``general_settings.store_prompts_in_spend_logs`` (prompt retention) and
  ``pass_through_endpoints[].target``; ``guardrails`` are listed as attributes of the routes.
* ``environment_variables`` and any other known key: the generic walk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from scanner.models import Record, Skipped
from scanner.sources._settings import Context, Found, build_all, catalog, make_context, resolve
from scanner.sources._tree import Mapping, Scalar, Sequence, read_yaml, walk

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "litellm-config"
KIND = "config"
PATTERNS = ("*.yaml", "*.yml")
_TOP = re.compile(rb"(?m)^(model_list|litellm_settings|general_settings|router_settings):")
_CALLBACK_KEYS = ("success_callback", "failure_callback", "callbacks", "service_callback")


def sniff(head: bytes, name: str) -> bool:
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    return base.endswith((".yml", ".yaml")) and bool(_TOP.search(head))


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    loaded = read_yaml(stream, path)
    if isinstance(loaded, Skipped):
        yield loaded
        return
    text, docs = loaded
    if not docs or not isinstance(docs[0], Mapping):
        return
    yield from records_for(docs[0], make_context(path, text, NAME))


def records_for(doc: Mapping, ctx: Context, prefix: str = "") -> list[Record]:
    found: list[Found] = []
    guardrails = _guardrails(doc)
    models = doc.get("model_list")
    if isinstance(models, Sequence):
        for i, entry in enumerate(models.items):
            if isinstance(entry, Mapping):
                found.extend(_route(entry, ctx, f"{prefix}/model_list/{i}", guardrails))
    found.extend(_callbacks(doc, ctx, prefix))
    general = doc.get("general_settings")
    if isinstance(general, Mapping):
        node = general.get("store_prompts_in_spend_logs")
        if isinstance(node, Scalar) and node.value is not None:
            found.append(
                Found(
                    "store_prompts_in_spend_logs",
                    node.value.lower(),
                    node.line,
                    f"{prefix}/general_settings/store_prompts_in_spend_logs",
                    "store",
                    "litellm",
                    secret=False,
                )
            )
        passes = general.get("pass_through_endpoints")
        if isinstance(passes, Sequence):
            for i, item in enumerate(passes.items):
                target = item.get("target") if isinstance(item, Mapping) else None
                if isinstance(target, Scalar) and target.value:
                    p = f"{prefix}/general_settings/pass_through_endpoints/{i}/target"
                    found.append(
                        Found("target", target.value, target.line, p, "base_url", None, secret=False)
                    )
    skip = frozenset({f"{prefix}/model_list", f"{prefix}/guardrails"})
    host_keys = {lg.host_key for lg in catalog().prompt_loggers.values() if lg.host_key}
    for f in walk(doc, ctx, prefix, skip):
        # Logger hosts are already part of their callback's record.
        if f.key in host_keys and f.pointer.startswith(f"{prefix}/litellm_settings/"):
            continue
        found.append(f)
    return build_all(_dedupe(found), ctx)


def _dedupe(found: list[Found]) -> list[Found]:
    seen: set[str] = set()
    out = []
    for f in found:
        if f.pointer in seen:
            continue
        seen.add(f.pointer)
        out.append(f)
    return out


def _guardrails(doc: Mapping) -> list[str]:
    out = []
    node = doc.get("guardrails")
    if isinstance(node, Sequence):
        for item in node.items:
            if isinstance(item, Mapping):
                params = item.get("litellm_params")
                name = item.scalar("guardrail_name") or "?"
                mode = params.scalar("mode") if isinstance(params, Mapping) else None
                kind = params.scalar("guardrail") if isinstance(params, Mapping) else None
                out.append(f"{name} ({kind or '?'}, {mode or '?'})")
    return out


def _route(entry: Mapping, ctx: Context, pointer: str, guardrails: list[str]) -> Iterator[Found]:
    cat = catalog()
    params = entry.get("litellm_params")
    if not isinstance(params, Mapping):
        return
    model_node = params.get("model")
    model = model_node.value if isinstance(model_node, Scalar) and model_node.value else ""
    prefix = model.split("/", 1)[0] if "/" in model else "openai"
    info = cat.litellm_providers.get(prefix)
    provider = info.provider if info else prefix
    extra = {
        "model": model,
        "model_name": entry.scalar("model_name"),
        "guardrails": guardrails,
        "litellm_provider": prefix,
    }
    p = f"{pointer}/litellm_params"
    base = params.get("api_base")
    region_key = info.region_key if info else None
    region_node = params.get(region_key) if region_key else None
    if isinstance(base, Scalar) and base.value:
        yield Found(
            "api_base",
            base.value,
            base.line,
            f"{p}/api_base",
            "base_url",
            provider,
            secret=False,
            extra=extra,
        )
    elif info is not None and region_key:
        if isinstance(region_node, Scalar) and region_node.value:
            yield Found(
                region_key,
                region_node.value,
                region_node.line,
                f"{p}/{region_key}",
                "region",
                provider,
                secret=False,
                extra=extra,
            )
        else:
            # No region in the route: LiteLLM falls back to the environment.
            env_ref = next((f"os.environ/{n}" for n in info.region_env if n in ctx.env), None)
            value = env_ref or f"os.environ/{info.region_env[0]}" if info.region_env else None
            line = model_node.line if isinstance(model_node, Scalar) else params.line
            yield Found(region_key, value, line, f"{p}/model", "region", provider, secret=False, extra=extra)
    elif info is not None and info.default:
        line = model_node.line if isinstance(model_node, Scalar) else params.line
        yield Found(
            "model",
            model,
            line,
            f"{p}/model",
            "base_url",
            provider,
            target=info.default,
            secret=False,
            default=True,
            extra=extra,
        )
    elif info is None or not info.default:
        line = model_node.line if isinstance(model_node, Scalar) else params.line
        yield Found(
            "model",
            model,
            line,
            f"{p}/model",
            "base_url",
            provider,
            secret=False,
            extra={**extra, "unresolved": ["api_base"]},
        )
    for key in ("api_key", "aws_secret_access_key", "aws_access_key_id", "vertex_credentials"):
        node = params.get(key)
        if isinstance(node, Scalar) and node.value:
            yield Found(key, node.value, node.line, f"{p}/{key}", "api_key", provider)


def _callbacks(doc: Mapping, ctx: Context, prefix: str) -> Iterator[Found]:
    cat = catalog()
    settings = doc.get("litellm_settings")
    if not isinstance(settings, Mapping):
        return
    scopes: list[tuple[str, Mapping]] = [(f"{prefix}/litellm_settings", settings)]
    teams = settings.get("default_team_settings")
    if isinstance(teams, Sequence):
        for i, team in enumerate(teams.items):
            if isinstance(team, Mapping):
                scopes.append((f"{prefix}/litellm_settings/default_team_settings/{i}", team))
    for pointer, scope in scopes:
        for key in _CALLBACK_KEYS:
            node = scope.get(key)
            names: list[tuple[str, int, str]] = []
            if isinstance(node, Scalar) and node.value:
                names = [(node.value, node.line, f"{pointer}/{key}")]
            elif isinstance(node, Sequence):
                names = [
                    (item.value, item.line, f"{pointer}/{key}/{i}")
                    for i, item in enumerate(node.items)
                    if isinstance(item, Scalar) and item.value
                ]
            for name, line, p in names:
                logger = cat.prompt_loggers.get(name.lower())
                if logger is None:
                    continue
                target, unresolved, how = _logger_host(logger, scope, ctx)
                extra: dict[str, object] = {"callback": name, "host_from": how}
                if unresolved:
                    extra["unresolved"] = unresolved
                yield Found(
                    key,
                    name,
                    line,
                    p,
                    "prompt_logger",
                    logger.provider,
                    target=target,
                    secret=False,
                    extra=extra,
                )


def _logger_host(logger: object, scope: Mapping, ctx: Context) -> tuple[str | None, list[str], str]:
    from scanner.sources._catalog import PromptLogger

    assert isinstance(logger, PromptLogger)
    if logger.host_key:
        value = scope.scalar(logger.host_key)
        if value:
            resolved, unresolved, _ = resolve(value, ctx.env)
            return resolved, unresolved, logger.host_key
    for name in logger.host_env:
        if ctx.env.get(name):
            return ctx.env[name], [], name
    if logger.default:
        return logger.default, [], "default"
    return None, list(logger.host_env[:1]), "unresolved"
