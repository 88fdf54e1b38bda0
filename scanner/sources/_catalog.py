"""The config-setting catalogs in ``rules/``: well-known environment variables
(``env_vars.yaml``) and how AI settings look in config files and code (``config_settings.yaml``).

Loaded once per process (the files ship with the package and do not change during a scan) and
shared by every config source; validation errors name the file and field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner.catalog import data_dir, format_validation_error, load_yaml
from scanner.errors import ConfigError

SETTINGS = ("base_url", "region", "prompt_logger", "api_key")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VarInfo(_Strict):
    setting: str
    provider: str | None = None
    requires: str | None = None
    consumer: str | None = None
    default: str | None = None

    @field_validator("setting")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in SETTINGS:
            raise ValueError(f"setting must be one of {', '.join(SETTINGS)}")
        return value


class VarPattern(VarInfo):
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value


class EnvVarsFile(_Strict):
    source: str | list[str]
    reviewed: date
    variables: dict[str, VarInfo]
    patterns: list[VarPattern] = Field(default_factory=list)


class KeyRule(_Strict):
    names: list[str]
    setting: str
    provider: str | None = None
    requires: str | None = None
    ai_context: bool = False


class RegionEndpoint(_Strict):
    template: str | None = None
    special: dict[str, str] = Field(default_factory=dict)
    hint_only: bool = False


class PromptLogger(_Strict):
    provider: str
    host_env: list[str] = Field(default_factory=list)
    host_key: str | None = None
    default: str | None = None


class LitellmProvider(_Strict):
    provider: str
    default: str | None = None
    region_key: str | None = None
    region_env: list[str] = Field(default_factory=list)


class ClientRule(_Strict):
    call: str
    provider: str
    setting: str
    args: list[str] = Field(default_factory=list)
    env: list[str] = Field(default_factory=list)
    default: str | None = None
    default_region: str | None = None
    first_arg: list[str] = Field(default_factory=list)
    when: dict[str, Any] = Field(default_factory=dict)
    template_arg: str | None = None
    template: str | None = None


class SettingsFile(_Strict):
    source: str | list[str]
    reviewed: date
    keys: list[KeyRule]
    ai_words: list[str]
    secret_key_regex: str
    credential_prefixes: list[str]
    region_endpoints: dict[str, RegionEndpoint]
    prompt_loggers: dict[str, PromptLogger]
    litellm_providers: dict[str, LitellmProvider]
    clients: list[ClientRule]


@dataclass(frozen=True)
class SettingsCatalog:
    variables: dict[str, VarInfo]
    patterns: list[tuple[re.Pattern[str], VarPattern]]
    keys: dict[str, KeyRule]
    ai_words: frozenset[str]
    secret_key: re.Pattern[str]
    credential_prefixes: tuple[str, ...]
    region_endpoints: dict[str, RegionEndpoint]
    prompt_loggers: dict[str, PromptLogger]
    litellm_providers: dict[str, LitellmProvider]
    clients: list[ClientRule]

    def env_var(self, name: str) -> VarInfo | None:
        """What a well-known environment variable means, or None."""
        info = self.variables.get(name)
        if info is not None:
            return info
        if not name.isupper() and not name.replace("_", "").isupper():
            return None
        for regex, pattern in self.patterns:
            if regex.match(name):
                return pattern
        return None

    def key_rule(self, key: str) -> KeyRule | None:
        return self.keys.get(key.lower())

    def looks_secret(self, key: str, value: str) -> bool:
        return bool(self.secret_key.search(key)) or value.startswith(self.credential_prefixes)

    def region_target(self, provider: str | None, region: str) -> str | None:
        """The regional endpoint URL a region setting implies (None for hint-only providers)."""
        entry = self.region_endpoints.get(provider or "")
        region = region.strip().lower()
        if entry is None or entry.hint_only or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", region):
            return None
        if region in entry.special:
            return entry.special[region]
        return entry.template.format(region=region) if entry.template else None


def _validated(model: type[BaseModel], path: Path) -> Any:
    try:
        return model.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None


@lru_cache(maxsize=4)
def load_settings_catalog(root: Path | None = None) -> SettingsCatalog:
    root = root or data_dir("rules")
    env: EnvVarsFile = _validated(EnvVarsFile, root / "env_vars.yaml")
    conf: SettingsFile = _validated(SettingsFile, root / "config_settings.yaml")
    keys: dict[str, KeyRule] = {}
    for rule in conf.keys:
        for name in rule.names:
            keys.setdefault(name.lower(), rule)
    return SettingsCatalog(
        variables=env.variables,
        patterns=[(re.compile(p.regex), p) for p in env.patterns],
        keys=keys,
        ai_words=frozenset(w.lower() for w in conf.ai_words),
        secret_key=re.compile(conf.secret_key_regex),
        credential_prefixes=tuple(conf.credential_prefixes),
        region_endpoints=conf.region_endpoints,
        prompt_loggers=conf.prompt_loggers,
        litellm_providers=conf.litellm_providers,
        clients=conf.clients,
    )
