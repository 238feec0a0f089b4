"""Identity side of the emulator: demo credentials, projects, tokens and request authentication.

It mirrors what the API gateway checks before a call reaches ModelArts (token or AK/SK
signature), answering with the gateway's error codes. Nothing here locks: the emulator holds
its one lock around every call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from .. import signing
from .wire import Request

#: Project ID of the emulator's own project unless told otherwise (32 hex digits, like IAM's).
DEFAULT_PROJECT_ID: Final = "6f0c1b1f2a3d4e5f8a9b0c1d2e3f4a5b"
DOMAIN_ID: Final = "0d1e2f3a4b5c4d6e8f7a9b0c1d2e3f40"
USER_ID: Final = "5e6f7a8b9c0d4e1f8a2b3c4d5e6f7a81"
#: Clock skew the gateway tolerates on ``X-Sdk-Date``.
MAX_SKEW_SECONDS: Final = 15 * 60

Scheme = Literal["token", "aksk"]


@dataclass(frozen=True)
class EmulatorCredentials:
    """The one account the emulator knows. Defaults are public demo values, not secrets.

    ``secret_key`` and ``password`` are kept out of ``repr`` so that logging an emulator or its
    settings never prints them.
    """

    access_key: str = "EMULATORACCESSKEY0001"
    secret_key: str = field(default="EMULATORSECRETKEY000000000000000000000001", repr=False)
    user_name: str = "emulator-user"
    password: str = field(default="emulator-password", repr=False)
    domain_name: str = "emulator-domain"


@dataclass(frozen=True)
class Project:
    """An IAM project; several may share a name (the case project lookup must reject)."""

    name: str
    id: str


@dataclass
class Token:
    """An issued token: scoped to one project, valid until ``expires_at`` on the emulator clock."""

    project: Project
    methods: tuple[str, ...]
    issued_at: float
    expires_at: float


@dataclass(frozen=True)
class Principal:
    """Who a request authenticated as; ``project_id`` is the token's project (None for AK/SK)."""

    scheme: Scheme
    project_id: str | None


@dataclass(frozen=True)
class AuthFailure:
    """Why the gateway rejects a request: HTTP status, APIG code and message."""

    status: int
    code: str
    message: str


NO_CREDENTIALS: Final = AuthFailure(
    401, "APIG.0301", "Incorrect IAM authentication information: Authorization header not found"
)
TOKEN_EXPIRED: Final = AuthFailure(401, "APIG.0307", "The token must be updated")
UNKNOWN_AK: Final = AuthFailure(401, "APIG.0301", "Get secretKey failed, ak not exist")
BAD_SIGNATURE: Final = AuthFailure(401, "APIG.0301", "verify aksk signature fail")


def presented_scheme(request: Request) -> Scheme | None:
    """The kind of credentials a request carries, valid or not (for the request log)."""
    if request.header("X-Auth-Token"):
        return "token"
    if (request.header("Authorization") or "").startswith(signing.ALGORITHM):
        return "aksk"
    return None


def mos_project_id(project_id: str) -> str:
    """ID of the built-in OBS project "MOS": fixed per emulator project, distinct from it."""
    return hashlib.sha256(f"MOS:{project_id}".encode()).hexdigest()[:32]


class Identity:
    """Projects, tokens and the single AK/SK pair of the emulated account."""

    def __init__(
        self,
        credentials: EmulatorCredentials,
        *,
        clock: Callable[[], float],
        token_ttl: float,
        projects: list[Project],
    ) -> None:
        self.credentials = credentials
        self.token_ttl = token_ttl
        self._clock = clock
        self._projects = list(projects)
        self._tokens: dict[str, Token] = {}

    # -- projects ----------------------------------------------------------------------------

    @property
    def projects(self) -> list[Project]:
        """Every project in registration order."""
        return list(self._projects)

    def add_project(self, name: str, project_id: str) -> Project:
        """Register a project; names may repeat, IDs may not."""
        if self.project_by_id(project_id) is not None:
            raise ValueError(f"project ID {project_id!r} already exists")
        project = Project(name, project_id)
        self._projects.append(project)
        return project

    def project_by_id(self, project_id: str) -> Project | None:
        """The project with that ID, or None."""
        return next((p for p in self._projects if p.id == project_id), None)

    def project_by_name(self, name: str) -> Project | None:
        """The first project with that name, or None."""
        return next((p for p in self._projects if p.name == name), None)

    # -- tokens ------------------------------------------------------------------------------

    def issue(
        self, project: Project, methods: tuple[str, ...], ttl: float | None = None
    ) -> tuple[str, Token]:
        """Mint an opaque token; like IAM, a new token does not invalidate older ones."""
        now = self._clock()
        token = "MIIemu" + secrets.token_urlsafe(48)
        info = Token(project, methods, now, now + (self.token_ttl if ttl is None else ttl))
        self._tokens[token] = info
        return token, info

    def token_info(self, token: str) -> Token | None:
        """The token's record, or None when the emulator never issued it."""
        return self._tokens.get(token)

    def is_valid(self, token: Token) -> bool:
        """Not yet expired on the emulator clock."""
        return self._clock() < token.expires_at

    def expire_all(self) -> None:
        """Every issued token expires now (simulates expiry in the middle of a run)."""
        now = self._clock()
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)

    def check_password(self, user: object, password: object, domain: object) -> bool:
        """Constant-time comparison of all three, so no part leaks which one was wrong."""
        expected = self.credentials
        checks = (
            (user, expected.user_name),
            (password, expected.password),
            (domain, expected.domain_name),
        )
        return all(
            [
                isinstance(got, str) and hmac.compare_digest(got.encode(), want.encode())
                for got, want in checks
            ]
        )

    # -- request authentication --------------------------------------------------------------

    def authenticate(self, request: Request) -> Principal | AuthFailure:
        """Check the token or the AK/SK signature of a request, as the API gateway does."""
        token = request.header("X-Auth-Token")
        if token:
            info = self._tokens.get(token)
            if info is None or not self.is_valid(info):
                return TOKEN_EXPIRED
            return Principal("token", info.project.id)
        authorization = request.header("Authorization")
        if authorization is None:
            return NO_CREDENTIALS
        return self._verify_signature(request, authorization)

    def _verify_signature(self, request: Request, authorization: str) -> Principal | AuthFailure:
        parsed = signing.parse_authorization(authorization)
        if parsed is None:
            return BAD_SIGNATURE
        if parsed.access_key != self.credentials.access_key:
            return UNKNOWN_AK
        if "x-sdk-date" not in parsed.signed_headers or "host" not in parsed.signed_headers:
            return BAD_SIGNATURE
        try:
            signed_at = signing.parse_sdk_date(request.header(signing.DATE_HEADER) or "")
        except ValueError:
            return BAD_SIGNATURE
        if abs(signed_at.timestamp() - self._clock()) > MAX_SKEW_SECONDS:
            return BAD_SIGNATURE
        valid = signing.verify(
            method=request.method,
            path=request.path,
            query=request.query_pairs,
            headers=request.headers,
            body=request.body,
            secret_key=self.credentials.secret_key,
            authorization=parsed,
        )
        return Principal("aksk", None) if valid else BAD_SIGNATURE
