"""Works out the endpoint a logged call went to when the log names only a provider and a model.

Gateway and observability logs (LiteLLM, Langfuse, LangSmith, OpenTelemetry) often record
``provider`` + ``model`` (+ a region) instead of a URL. This module turns them into the URL the
provider's SDK would have called, so that ``destinations.Classifier`` can say where the data went.
An explicit base URL always wins; an unknown provider gives ``None`` (destination unknown), never
a guess.
"""

from __future__ import annotations

from urllib.parse import quote

# Provider names as LiteLLM (``custom_llm_provider`` / model prefix), OpenTelemetry
# (``gen_ai.provider.name`` and the older ``gen_ai.system``) and LangChain (``ls_provider``) spell them.
_BASES: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "text-completion-openai": "https://api.openai.com/v1",
    "chatgpt": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com/v1",
    "cohere": "https://api.cohere.com/v1",
    "cohere_chat": "https://api.cohere.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "mistral_ai": "https://api.mistral.ai/v1",
    "mistralai": "https://api.mistral.ai/v1",
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com",
    "x_ai": "https://api.x.ai/v1",
    "xai": "https://api.x.ai/v1",
    "perplexity": "https://api.perplexity.ai",
    "together_ai": "https://api.together.xyz/v1",
    "together": "https://api.together.xyz/v1",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1",
    "fireworks": "https://api.fireworks.ai/inference/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "huggingface": "https://router.huggingface.co/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta",
    "gcp.gemini": "https://generativelanguage.googleapis.com/v1beta",
    "google_genai": "https://generativelanguage.googleapis.com/v1beta",
    "google": "https://generativelanguage.googleapis.com/v1beta",
    "ollama": "http://localhost:11434",
    "ollama_chat": "http://localhost:11434",
}
_BEDROCK = {"bedrock", "bedrock_converse", "aws.bedrock", "aws_bedrock", "amazon_bedrock", "bedrock-converse"}
_VERTEX = {"vertex_ai", "vertex_ai_beta", "gcp.vertex_ai", "vertexai", "google_vertexai", "gcp.gen_ai"}
_AZURE = {"azure", "azure_ai", "azure.ai.openai", "az.ai.openai", "azure.ai.inference", "azure_openai"}


def split_model(model: str | None) -> tuple[str | None, str | None]:
    """LiteLLM-style ``provider/model`` → (provider, model); a plain model gives (None, model)."""
    if not model:
        return None, model
    head, sep, rest = model.partition("/")
    key = head.lower()
    if sep and (key in _BASES or key in _BEDROCK or key in _VERTEX or key in _AZURE):
        return key, rest
    return None, model


def normalise_provider(provider: str | None) -> str | None:
    return provider.strip().lower() if isinstance(provider, str) and provider.strip() else None


def bedrock_url(region: str | None, model_id: str, operation: str = "invoke") -> str:
    """The Bedrock runtime URL for a model id or inference-profile ARN (URL-encoded as the SDKs send it)."""
    host = f"bedrock-runtime.{region}.amazonaws.com" if region else "bedrock-runtime.amazonaws.com"
    return f"https://{host}/model/{quote(model_id, safe='')}/{operation}"


def with_scheme(base: str) -> str:
    base = base.strip()
    return base if "://" in base else "https://" + base


def target_for(
    provider: str | None,
    model: str | None,
    region: str | None = None,
    api_base: str | None = None,
) -> str | None:
    """The URL a call to ``provider``/``model`` goes to, or ``None`` if it cannot be known."""
    if api_base and api_base.strip():
        return with_scheme(api_base)
    prefix, bare = split_model(model)
    key = normalise_provider(provider) or prefix
    if key is None:
        return None
    if key in _BEDROCK:
        return bedrock_url(region, bare or "unknown")
    if key in _VERTEX:
        if not region or region == "global":
            return "https://aiplatform.googleapis.com/v1"
        if region in {"us", "eu"}:
            return f"https://aiplatform.{region}.rep.googleapis.com/v1"
        return f"https://{region}-aiplatform.googleapis.com/v1"
    if key in _AZURE:
        return None  # the resource host is not derivable from a model name
    return _BASES.get(key)


# Model-name families whose provider is unambiguous. Used only when a log names a model but no
# provider or URL (e.g. a Langfuse generation from the OpenAI SDK integration); records whose
# target was inferred this way say so in ``attributes["target_inferred"]``.
_MODEL_FAMILIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-", "dall-e", "davinci", "babbage"), "openai"),
    (("claude",), "anthropic"),
    (("gemini", "text-bison", "chat-bison"), "gemini"),
    (("mistral", "mixtral", "codestral", "pixtral", "ministral"), "mistral"),
    (("command",), "cohere"),
    (("deepseek",), "deepseek"),
    (("grok",), "x_ai"),
)


def provider_from_model(model: str | None) -> str | None:
    if not model:
        return None
    name = model.lower()
    for prefixes, provider in _MODEL_FAMILIES:
        if name.startswith(prefixes):
            return provider
    return None
