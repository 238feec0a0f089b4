"""Read one cloud entry from OpenStack's ``clouds.yaml`` (and ``secure.yaml``).

Platform teams on OTC already keep their credentials there for the ``openstack`` CLI and
otcextensions; ``modelarts:cloudName`` / ``OS_CLOUD`` lets them reuse the entry unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

# clouds.yaml key -> Settings field, looked up in the entry's "auth" mapping first.
_AUTH_KEYS: tuple[tuple[str, str], ...] = (
    ("auth_url", "auth_url"),
    ("username", "user_name"),
    ("password", "password"),
    ("user_domain_name", "domain_name"),
    ("domain_name", "domain_name"),
    ("project_domain_name", "domain_name"),
    ("project_id", "project_id"),
    ("project_name", "project_name"),
    ("token", "auth_token"),
    ("ak", "access_key"),
    ("access_key", "access_key"),
    ("sk", "secret_key"),
    ("secret_key", "secret_key"),
    ("security_token", "security_token"),
)


def config_dirs(environ: Mapping[str, str]) -> list[Path]:
    """The directories openstacksdk searches, in its order."""
    home = Path(environ.get("HOME") or Path.home())
    xdg = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [Path.cwd(), xdg / "openstack", Path("/etc/openstack")]


def _find(filename: str, override: str | None, environ: Mapping[str, str]) -> Path | None:
    if override:
        return Path(override)
    for directory in config_dirs(environ):
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    return None


def _load_entry(path: Path | None, name: str) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read {path}: {type(exc).__name__}") from None
    clouds = document.get("clouds") if isinstance(document, dict) else None
    entry = clouds.get(name) if isinstance(clouds, dict) else None
    return entry if isinstance(entry, dict) else {}


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_cloud(name: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings fields from the named entry; a missing entry is a configuration error."""
    clouds_path = _find("clouds.yaml", environ.get("OS_CLIENT_CONFIG_FILE"), environ)
    secure_path = _find("secure.yaml", environ.get("OS_SECURE_FILE"), environ)
    entry = _merge(_load_entry(clouds_path, name), _load_entry(secure_path, name))
    if not entry:
        where = str(clouds_path) if clouds_path else "clouds.yaml (no file found)"
        raise ConfigurationError(
            f"cloud '{name}' is not defined in {where}",
            hint="Fix modelarts:cloudName / OS_CLOUD or set OS_CLIENT_CONFIG_FILE",
        )
    nested = entry.get("auth")
    auth: dict[str, Any] = nested if isinstance(nested, dict) else {}
    fields: dict[str, Any] = {}
    for source, field in _AUTH_KEYS:
        value = auth.get(source, entry.get(source))
        if value not in (None, "") and field not in fields:
            fields[field] = str(value)
    if entry.get("region_name"):
        fields["region"] = str(entry["region_name"])
    if entry.get("cacert"):
        fields["ca_cert_file"] = str(entry["cacert"])
    if entry.get("verify") is False:
        fields["insecure"] = True
    return fields
