"""Classifies a record's target (URL, host or IP) into a ``Destination`` using the endpoint catalog.

Order: internal hosts from settings and private addresses first (``self_hosted`` /
``private_network``), then the catalog (host, optional path, Bedrock inference-profile prefix,
Anthropic ``inference_geo``, a log-stated ``region_hint`` for hosts that carry no region), else
``unknown``. Results are cached per (target, model, geo, hint).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from scanner.catalog import GLOBAL, Catalog, CompiledEndpoint
from scanner.models import Destination, Hosting

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".svc", ".svc.cluster.local", ".lan", ".home.arpa")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_PRIVATE_NAMES = {"host.docker.internal", "gateway.docker.internal", "kubernetes.default"}


def split_target(target: str) -> tuple[str | None, str, int | None, str]:
    """Return (scheme, host, port, path) for a URL, ``host:port`` or bare host."""
    raw = target.strip()
    if "://" not in raw:
        raw = "//" + raw
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port
    except ValueError:
        return None, raw.lstrip("/").lower(), None, ""
    return (parts.scheme or None), host, port, parts.path or ""


class Classifier:
    """Endpoint classification bound to one catalog and one set of internal host patterns."""

    def __init__(self, catalog: Catalog, internal_hosts: Iterable[str] = ()) -> None:
        self.catalog = catalog
        self.internal_hosts = tuple(h.lower() for h in internal_hosts)
        self._cached = lru_cache(maxsize=4096)(self._classify)

    def classify(
        self,
        target: str | None,
        model: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Destination:
        geo = None
        hint = None
        if attributes:
            value = attributes.get("inference_geo")
            geo = value if isinstance(value, str) else None
            # A region the log states for the endpoint (e.g. Azure diagnostic ``location``).
            value = attributes.get("region_hint")
            hint = value.replace(" ", "").lower() if isinstance(value, str) and value.strip() else None
        dest: Destination = self._cached(target or "", model, geo, hint)
        if hint and not dest.host and attributes:
            # A configured Azure resource (e.g. a Terraform account) has a location but no URL.
            provider = str(attributes.get("provider") or "")
            if provider.startswith("azure"):
                entry = self.catalog.regions.get("azure", {}).get(hint)
                dest = replace(
                    dest,
                    provider=provider,
                    service="llm-api",
                    hosting="vendor_cloud",
                    region=hint,
                    country=entry.country if entry else None,
                    jurisdictions=frozenset(entry.jurisdictions) if entry else frozenset(),
                )
        return dest

    def _classify(
        self, target: str, model: str | None, geo: str | None, hint: str | None = None
    ) -> Destination:
        scheme, host, port, path = split_target(target)
        if not host:
            return Destination(
                host="",
                provider="unknown",
                service="unknown",
                region=None,
                country=None,
                jurisdictions=frozenset(),
                hosting="unknown",
                scheme=scheme,
            )
        display = f"{host}:{port}" if port else host
        local = self._local_kind(host)
        if local is not None:
            return Destination(
                host=display,
                provider="self-hosted",
                service="self-hosted",
                region=None,
                country=None,
                jurisdictions=frozenset(),
                hosting=local,
                scheme=scheme,
            )
        for ep in self.catalog.endpoints:
            m = ep.match_host(host)
            if not m:
                continue
            if ep.path_re is not None and not ep.path_re.search(path):
                continue
            return self._from_rule(ep, m, display, scheme, path, model, geo, hint)
        return Destination(
            host=display,
            provider="unknown",
            service="unknown",
            region=None,
            country=None,
            jurisdictions=frozenset(),
            hosting="unknown",
            scheme=scheme,
        )

    def _local_kind(self, host: str) -> Hosting | None:
        for pattern in self.internal_hosts:
            if fnmatch.fnmatchcase(host, pattern):
                return "private_network"
        if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
            return "self_hosted"
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            if host in _PRIVATE_NAMES or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
                return "private_network"
            return None
        if ip.is_loopback or ip.is_unspecified:
            return "self_hosted"
        if ip.is_private or ip.is_link_local:
            return "private_network"
        return None

    def _from_rule(
        self,
        ep: CompiledEndpoint,
        match: re.Match[str] | bool,
        display: str,
        scheme: str | None,
        path: str,
        model: str | None,
        geo: str | None,
        hint: str | None = None,
    ) -> Destination:
        rule = ep.rule
        region = rule.region
        country = rule.country
        jurisdictions = frozenset(rule.jurisdictions)
        captured = None
        if isinstance(match, re.Match) and "region" in match.re.groupindex:
            captured = match.group("region")
        if ep.path_re is not None:
            pm = ep.path_re.search(path)
            if pm and "region" in pm.re.groupindex:
                captured = pm.group("region")
        hinted = not captured and region is None and hint is not None and rule.region_table is not None
        if hinted:
            captured = hint
        if captured:
            region = captured
            if rule.region_table:
                entry = self.catalog.regions.get(rule.region_table, {}).get(captured)
                if entry is not None:
                    country = entry.country
                    jurisdictions = frozenset(entry.jurisdictions)
                else:
                    jurisdictions = frozenset()
                    country = None
        notes = rule.notes
        if hinted:
            notes = f"region {hint!r} from the log's resource location; {notes or ''}".rstrip("; ")
        if rule.profile_prefixes:
            model_id = model
            if ep.model_re is not None:
                # SDKs URL-encode the model id in the path (an ARN arrives as arn%3Aaws%3A…%2Fus.…).
                mm = ep.model_re.search(unquote(path))
                if mm:
                    model_id = mm.group("model")
            if model_id:
                # An inference-profile ARN ends with ".../inference-profile/<profile id>".
                profile = unquote(model_id).rsplit("/", 1)[-1]
                for prefix, codes in rule.profile_prefixes.items():
                    if profile.startswith(prefix):
                        jurisdictions = frozenset(codes)
                        region = f"{region} ({prefix.rstrip('.')} profile)" if region else prefix
                        country = None if len(codes) != 1 or codes[0] == GLOBAL else codes[0]
                        notes = (
                            f"cross-region inference profile {prefix!r}: "
                            f"inference may run in {', '.join(codes)}"
                        )
                        break
        if rule.geo_attribute and geo:
            geo_codes = rule.geo_values.get(geo.lower())
            if geo_codes is not None:
                codes = geo_codes
                jurisdictions = frozenset(codes)
                region = geo.lower()
                country = codes[0] if len(codes) == 1 and codes[0] != GLOBAL else None
        return Destination(
            host=display,
            provider=ep.provider,
            service=rule.service,
            region=region,
            country=country,
            jurisdictions=jurisdictions,
            hosting="vendor_cloud" if rule.hosting == "vendor_cloud" else "unknown",
            scheme=scheme,
            storage_jurisdictions=frozenset(rule.storage),
            endpoint_id=rule.id,
            notes=notes,
        )
