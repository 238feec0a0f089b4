"""The two IAM calls clients make: ``POST /v3/auth/tokens`` and ``GET /v3/projects`` (§4a, §5.2)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .iam import DOMAIN_ID, USER_ID, Identity, Project
from .wire import Reply, Request, iam_error, json_reply

_SUPPORTED_METHODS = ("password", "token")


class _IamError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.reply = iam_error(status, code, message)


def iso_time(moment: float) -> str:
    """IAM's timestamp format: UTC with microseconds and a ``Z``."""
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _IamError(400, "IAM.0011", f"Request parameter {where} is invalid")
    return value


def issue_token(request: Request, identity: Identity) -> Reply:
    """Exchange a password or a valid token for a project-scoped token (HTTP 201)."""
    try:
        return _issue_token(request, identity)
    except _IamError as error:
        return error.reply


def _issue_token(request: Request, identity: Identity) -> Reply:
    try:
        document = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        document = None
    auth = _object(_object(document, "body").get("auth"), "auth")
    ident = _object(auth.get("identity"), "auth.identity")
    methods = ident.get("methods")
    if (
        not isinstance(methods, list)
        or not methods
        or any(method not in _SUPPORTED_METHODS for method in methods)
    ):
        raise _IamError(400, "IAM.0011", "Request parameter auth.identity.methods is invalid")
    for method in methods:
        if method == "password":
            _check_password(ident, identity)
        else:
            _check_token(ident, request, identity)
    project = _scope(auth, identity)
    token, info = identity.issue(project, tuple(methods))
    domain = {"id": DOMAIN_ID, "name": identity.credentials.domain_name}
    body = {
        "token": {
            "expires_at": iso_time(info.expires_at),
            "issued_at": iso_time(info.issued_at),
            "methods": list(methods),
            "project": {"id": project.id, "name": project.name, "domain": domain},
            "user": {"id": USER_ID, "name": identity.credentials.user_name, "domain": domain},
            "roles": [],
            "catalog": [],
        }
    }
    return json_reply(201, body, {"X-Subject-Token": token})


def _check_password(ident: dict[str, Any], identity: Identity) -> None:
    user = _object(_object(ident.get("password"), "auth.identity.password").get("user"), "user")
    domain = user.get("domain")
    domain_name = domain.get("name") if isinstance(domain, dict) else None
    if isinstance(domain, dict) and domain_name is None and domain.get("id") == DOMAIN_ID:
        domain_name = identity.credentials.domain_name
    # One message for every mismatch: IAM does not reveal which of the three was wrong.
    if not identity.check_password(user.get("name"), user.get("password"), domain_name):
        raise _IamError(401, "IAM.0062", "Incorrect IAM user name, password or account name")


def _check_token(ident: dict[str, Any], request: Request, identity: Identity) -> None:
    section = ident.get("token")
    token_id = section.get("id") if isinstance(section, dict) else None
    # Huawei IAM falls back to the X-Auth-Token header when identity.token.id is absent.
    token_id = token_id or request.header("X-Auth-Token")
    info = identity.token_info(token_id) if isinstance(token_id, str) else None
    if info is None:
        raise _IamError(401, "IAM.0067", "Invalid token")
    if not identity.is_valid(info):
        raise _IamError(401, "IAM.0066", "The token has expired")


def _scope(auth: dict[str, Any], identity: Identity) -> Project:
    scope = auth.get("scope")
    wanted = scope.get("project") if isinstance(scope, dict) else None
    if not isinstance(wanted, dict) or not (wanted.get("id") or wanted.get("name")):
        raise _IamError(
            400,
            "IAM.0008",
            "The token must be scoped to a project: set auth.scope.project.id or .name",
        )
    if wanted.get("id"):
        project = identity.project_by_id(str(wanted["id"]))
    else:
        project = identity.project_by_name(str(wanted["name"]))
    if project is None:
        raise _IamError(400, "IAM.1109", "The project does not exist")
    return project


def list_projects(request: Request, identity: Identity, iam_url: str) -> Reply:
    """Projects of the account, filtered by exact ``name`` when given."""
    name = request.param("name")
    projects = [p for p in identity.projects if name is None or p.name == name]
    self_link = f"{iam_url}/projects" + (f"?{request.query}" if request.query else "")
    return json_reply(
        200,
        {
            "projects": [
                {
                    "id": project.id,
                    "name": project.name,
                    "domain_id": DOMAIN_ID,
                    "enabled": True,
                    "is_domain": False,
                    "parent_id": DOMAIN_ID,
                    "description": "",
                }
                for project in projects
            ],
            "links": {"self": self_link, "next": None, "previous": None},
        },
    )
