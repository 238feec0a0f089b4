"""Authentication as ``requests`` auth objects (no ``repr()`` shows a secret), and the project every
call is made in."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import re
import time
import weakref
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

from . import signing
from .errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    InvalidResponseError,
    ModelArtsError,
    PermissionDeniedError,
    RequestContext,
    ServiceError,
    register_secrets,
)
from .locks import Lock
from .responses import PROJECT_TO_USE, invalid_response, json_object
from .settings import KEYS_BY_FIELD, SecretStr, Settings
from .transport import Transport, held
from .validation import check_target, path_segment

#: A refused signature this old is made again: the call's retries resent it as signed, and the gateway
#: takes an X-Sdk-Date within 15 minutes of its clock (which may be some minutes ahead of this one).
STALE_SIGNATURE_SECONDS = 300
#: Refresh a token this long before IAM says it expires (capped to a tenth of its lifetime).
TOKEN_REFRESH_MARGIN_SECONDS = 300.0
#: A refused password login is not sent again for this long (nor by threads waiting on it): IAM counts
#: each as a failed attempt and locks the user out after a few in a row. Other settings log in at once.
REFUSED_LOGIN_SECONDS = 300.0
#: Values of a repeated X-Subject-Token header registered as secrets (IamTokenAuth._fetch).
_SUBJECT_TOKENS_KEPT = 8
#: What to check when IAM's answer is unusable: its URL, not the ModelArts endpoint.
_AUTH_URL_HINT = "Check that modelarts:authUrl points at IAM's Keystone API (its /v3 base)"


def rejected_hint(settings: Settings, *, by_modelarts: bool = False) -> str:
    """What to check when ModelArts or IAM rejects these settings' credentials (a 401): those of the
    kind in use, by their names (not where these set them: equal settings share a client), and what
    wears out: a given token, which is never renewed, a temporary key's security token, the clock.
    A token ModelArts refuses after IAM took the password is of another cloud's IAM or region's project."""
    name = {field: KEYS_BY_FIELD[field].describe() for field in KEYS_BY_FIELD}
    mode = settings.auth_mode()
    if mode == "password" and by_modelarts:
        return (
            f"IAM took the password but ModelArts refused its token: check that {name['auth_url']}, "
            f"{name['project_id']} and {name['region']} are of the cloud and region of {name['endpoint']}"
        )
    if mode == "token":
        return (
            f"The token in {name['auth_token']} is invalid or has expired (IAM tokens last 24 hours), "
            "or is scoped to no project, and a given token is never renewed: set a new project-scoped "
            "one, or use an access key/secret key or a password login"
        )
    if mode == "password":
        return f"Check {name['user_name']}, {name['password']} and {name['domain_name']}"
    temporary = f", that {name['security_token']} has not expired" if settings.security_token else ""
    return (
        f"Check {name['access_key']}, {name['secret_key']}{temporary} and this machine's clock "
        "(a signature more than 15 minutes off is refused)"
    )


class StaticTokenAuth(AuthBase):
    """``X-Auth-Token`` with a token supplied by the user (it cannot be renewed)."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokenAuth(token=***)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Auth-Token"] = self._token.get_secret_value()
        return request


class AkSkAuth(AuthBase):
    """SDK-HMAC-SHA256 signing; what every request shares (keyed HMAC, fixed headers) is prepared once."""

    def __init__(
        self,
        access_key: SecretStr,
        secret_key: SecretStr,
        *,
        security_token: SecretStr | None = None,
        project_id: str | None = None,
    ) -> None:
        # Credentials stay wrapped (``vars()`` of this object shows none) until a request is signed.
        self._access_key, self._security_token = access_key, security_token
        self._key = signing.secret_key_hmac(secret_key.get_secret_value())
        self._project_id = project_id
        self._fixed = {"X-Project-Id": project_id} if project_id else {}  # no secret: built once
        token_header = ("x-security-token",) if security_token is not None else ()
        # Transport headers (Connection, Accept-Encoding, User-Agent...) stay unsigned: proxies change them.
        signed = {"content-type", "host", "x-sdk-date", *map(str.lower, self._fixed), *token_header}
        self._signed = tuple(sorted(signed))

    def __repr__(self) -> str:
        return f"AkSkAuth(access_key=***, project_id={self._project_id!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = request.url or ""
        parts = urlsplit(url)
        pairs: list[tuple[str, str]] = []
        if "?" in url or "#" in url:
            # Sent as signed, as the reference SDK does: no '+' versus '%20' can differ at the gateway.
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            query = signing.canonical_query(pairs)
            request.url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        headers, date = request.headers, signing.format_sdk_date()
        # A request with a body has its content type set by requests; one without, none.
        content_type = (request.body is not None and headers.get("Content-Type")) or "application/json"
        added = {"Content-Type": content_type, "Host": parts.netloc, signing.DATE_HEADER: date, **self._fixed}
        if self._security_token is not None:
            added["X-Security-Token"] = self._security_token.get_secret_value()
        headers.update(added)
        body = request.body or b""
        headers["Authorization"] = signing.sign(
            method=request.method or "GET",
            path=parts.path,
            query=pairs,
            headers=added,
            body=body.encode("utf-8") if isinstance(body, str) else bytes(body),
            access_key=self._access_key.get_secret_value(),
            secret_key=self._key,
            signed_headers=self._signed,
        )
        request.hooks.setdefault("response", []).append(self._sign_stale_again)
        return request

    def _sign_stale_again(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """A 401 to a request signed long ago (retried for minutes, as signed) is signed anew and sent
        once more: its keys and the clock may well be right."""
        if response.status_code != 401:
            return response
        stale = time.strftime(signing.DATE_FORMAT, time.gmtime(time.time() - STALE_SIGNATURE_SECONDS))
        if response.request.headers.get(signing.DATE_HEADER, "") > stale:
            return response  # dates of this format sort as times do
        response.close()
        replay = response.request.copy()
        replay.hooks = requests.hooks.default_hooks()  # copy() shares the hooks being run
        renewed = response.connection.send(self(replay), **kwargs)
        renewed.history.append(response)
        return renewed


class _LoginBody(dict[str, Any]):
    """A password login's JSON body, shown as ``{...}`` in the frames that send it."""

    def __repr__(self) -> str:
        return "{...}"


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parse_expiry(value: object) -> float | None:
    """``expires_at`` (ISO 8601) as a Unix timestamp. Python 3.10 reads no Z, no offset without its colon
    or minutes, no basic format (no dashes and colons) and a fraction only of 3 or 6 digits (Go and
    Java servers send 1 to 9): each is rewritten first, as 3.11 reads them."""
    text = re.sub(r"\.(\d+)", lambda digits: f".{digits[1][:6]:0<6}", str(value).strip().upper())
    text = re.sub(r"^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)", r"\1-\2-\3T\4:\5:\6", text)
    text = re.sub(
        r"(\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?[+-]\d\d):?(\d\d)?$", lambda m: f"{m[1]}:{m[2] or '00'}", text
    )
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


class IamTokenAuth(AuthBase):
    """A project-scoped token, fetched once however many threads start together, renewed before it
    expires and on a 401, replaying the request once (as ``HTTPDigestAuth`` does). ``login_lock`` is
    shared by the logins of one user at one IAM: a project named by ID or by name is one login."""

    def __init__(self, settings: Settings, transport: Transport, login_lock: Lock | None = None) -> None:
        self._settings = settings
        self.transport = transport
        self._lock = login_lock or Lock()
        self._scope = _login_scope(settings)
        self._url = f"{settings.resolved_auth_url}/auth/tokens?nocatalog=true"
        host, hint = urlsplit(self._url).netloc, _AUTH_URL_HINT
        rejected: dict[type[ModelArtsError], str] = {
            AuthenticationError: rejected_hint(settings),
            ServiceError: "Check modelarts:authUrl, userName, domainName and project against IAM's message",
        }
        self._context = RequestContext(
            "IAM token request", host, settings.project_id, invalid_hint=hint, hints=rejected
        )
        self._token: SecretStr | None = None  # wrapped: ``vars()`` of this object shows no token
        self._renew_at = 0.0
        self._login_no: float = 0  # which of the process's logins got the token (_LOGINS); inf: none taken
        self._refused: tuple[AuthenticationError, float] | None = None  # IAM's refusal, and until when
        self.project_id = ""  # the project the token is scoped to, once a token is fetched
        self.project_name: str | None = None  # and its name, as IAM gave it

    def __repr__(self) -> str:
        return f"IamTokenAuth(user={self._settings.user_name!r}, token=***)"

    def token(self) -> str:
        """A valid token; only one thread fetches when it is missing or about to expire, and none
        while IAM's refusal of this login is recent."""
        token = self._token
        if token is None or time.monotonic() >= self._renew_at:
            with held(self._lock, self._context):
                if self._refused and time.monotonic() < self._refused[1]:
                    refused = self._refused[0]  # made again: this read's secret inputs are [secret] in it
                    raise type(refused)(**vars(refused))
                if self._token is None or time.monotonic() >= self._renew_at:
                    try:
                        self._token = self._adopted() or SecretStr(self._fetch())
                    except AuthenticationError as exc:
                        self._refused = (exc, time.monotonic() + REFUSED_LOGIN_SECONDS)
                        raise
                token = self._token
        register_secrets(value := token.get_secret_value())  # in use: kept among the most recent, as in send
        return value

    def _peers(self) -> list[IamTokenAuth]:
        """The other logins of this user at this IAM (other projects, or this one named otherwise)."""
        with _TOKEN_AUTHS_LOCK:
            return [auth for _, auth in _logins() if auth._lock is self._lock and auth is not self]

    def _adopted(self) -> SecretStr | None:
        """A peer's token that is still valid when IAM scoped it to this login's project: at a first
        login, the project named by ID where a login by name found it, or the reverse; at a renewal (it
        expires, a 401), one of that project a peer got since this token (a peer's first login or
        renewal did: one login, not two), never this one. Once the project is gone (``forget``), none.
        Called with the login lock held."""
        (kind, wanted), now = self._scope, time.monotonic()
        for peer in self._peers():
            scoped = peer.project_id if kind == "id" else peer.project_name
            if self.project_id:  # a renewal
                ours = peer.project_id == self.project_id and peer._login_no > self._login_no
            else:
                ours = (scoped or "").lower() == wanted.lower()
            if ours and peer._token is not None and now < peer._renew_at:
                self._renew_at, self._login_no = peer._renew_at, peer._login_no
                self.project_id, self.project_name = peer.project_id, peer.project_name
                return peer._token
        return None

    def _login(self, scope: dict[str, str]) -> _LoginBody:
        """The login's body, made in a frame of its own: a refusal, kept for minutes, passes no frame
        holding the password (a debugger or a traceback with its locals shows each frame's)."""
        settings = self._settings
        assert settings.password is not None
        password = settings.password.get_secret_value()
        user = {"name": settings.user_name, "password": password, "domain": {"name": settings.domain_name}}
        identity = {"methods": ["password"], "password": {"user": user}}
        return _LoginBody(auth={"identity": identity, "scope": {"project": scope}})

    def _fetch(self) -> str:
        settings, context, scope = self._settings, self._context, dict([self._scope])
        started, begun = time.time(), time.monotonic()
        response = self.transport.send("POST", self._url, context=context, json_body=self._login(scope))
        # A header a proxy repeated arrives joined by commas (no token holds one): one value is the
        # token. Of a flood of values, none of them used, a few are registered: the registry keeps
        # the last 1,024 secrets, and a flood would push the credentials out of it; so would new
        # values at every login, which the credentials, registered again after them, outlast.
        values = response.headers.get("X-Subject-Token", "").split(",")
        tokens = list(dict.fromkeys(value.strip() for value in values))[:_SUBJECT_TOKENS_KEPT]
        register_secrets(*tokens, *settings.secret_values())  # before this answer can reach an error
        token = tokens[0] if len(tokens) == 1 else None
        # Any 2xx is IAM's answer (a proxy may say 200 or 203 for Keystone's 201); any other, its error.
        details = _mapping(json_object(response, context).get("token"))
        project = _mapping(details.get("project"))
        project_id = None  # an ID modelarts:projectId would take, in its spelling, as a looked-up one
        with contextlib.suppress(InvalidInputError):
            project_id = check_target("project_id", project.get("id"), "ID")
        # Another project's token (IAM matches a name whatever its case): refused.
        elsewhere = any(str(project.get(key, value)).lower() != value.lower() for key, value in scope.items())
        if not (token and project_id) or elsewhere:
            summary = "IAM answered without one token header or a token scoped to the project asked for"
            raise invalid_response(response, context, summary)
        if not re.fullmatch("[!-~]+", token):  # sent as it is, ModelArts would refuse it
            summary = "IAM answered a token with a space, control or non-ASCII character in it, as none has"
            raise invalid_response(response, context, summary)
        # Its lifetime by IAM's clock when it says when it issued the token: neither a clock apart
        # from IAM's nor an answer dated in the past (the API reference's sample) makes every call
        # fetch a new token; a lifetime that is not positive counts as an hour.
        expires, issued = (_parse_expiry(details.get(name)) for name in ("expires_at", "issued_at"))
        lifetime = expires - (issued or started) if expires else 0.0
        lifetime = lifetime if lifetime > 0 else 3600.0
        self._renew_at = begun + lifetime - min(TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 10)
        self.project_id, name, self._login_no = project_id, project.get("name"), next(_LOGINS)
        self.project_name = name if isinstance(name, str) else None
        return token

    def forget(self, project_id: str) -> None:
        """Log in again at next use if the token is scoped to ``project_id``, a project that is gone."""
        with held(self._lock, self._context):
            if self.project_id == project_id:
                self._token, self._login_no = None, math.inf  # no peer's token of it is taken either

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Auth-Token"] = self.token()
        request.hooks.setdefault("response", []).append(self._renew_on_401)
        return request

    def _renew_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401:
            return response
        rejected = str(response.request.headers.get("X-Auth-Token", ""))
        response.close()
        with held(self._lock, self._context):
            if self._token is not None and self._token.get_secret_value() == rejected:  # not renewed since
                self._token = None
        replay = response.request.copy()
        hooks = replay.hooks.get("response", [])
        replay.hooks["response"] = [hook for hook in hooks if hook != self._renew_on_401]
        replay.headers["X-Auth-Token"] = self.token()
        renewed = response.connection.send(replay, **kwargs)
        renewed.history.append(response)
        return renewed


#: Password logins of this process, by IAM URL, user, password, how IAM is reached and project scope:
#: every place read in one project (another ModelArts endpoint too, its ID or its name) shares one token.
_TOKEN_AUTHS: OrderedDict[tuple[Any, ...], IamTokenAuth] = OrderedDict()
#: Those let go past MAX_TOKEN_AUTHS that a client still reads with: found again, not logged in twice.
_LET_GO: weakref.WeakValueDictionary[tuple[Any, ...], IamTokenAuth] = weakref.WeakValueDictionary()
_TOKEN_AUTHS_LOCK = Lock()
MAX_TOKEN_AUTHS = 1024
_LOGINS = itertools.count(1)


def _login_scope(settings: Settings) -> tuple[str, str]:
    """The project a password login is scoped to, as IAM takes it: by ID if one is set, else by name."""
    return ("id", settings.project_id) if settings.project_id else ("name", settings.project_scope_name)


def shared_token_auth(settings: Settings) -> IamTokenAuth:
    """The process's password login for these credentials at this IAM and project, made on first use."""
    assert settings.password is not None
    scope = _login_scope(settings)
    # The password and the proxy URL (which may hold one) by their digests: no key shows a credential.
    password, proxy = (
        hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
        for secret in (
            settings.password.get_secret_value(),
            settings.proxy_for(settings.resolved_auth_url) or "",
        )
    )
    login = (settings.resolved_auth_url, settings.user_name, settings.domain_name, password)
    reach = (settings.verify, proxy, settings.max_retries)
    user = (*login, reach, (settings.connect_timeout, settings.read_timeout))
    with _TOKEN_AUTHS_LOCK:
        if (iam := _TOKEN_AUTHS.get(key := (*user, scope)) or _LET_GO.pop(key, None)) is None:
            peer = next((auth for known, auth in _logins() if known[:-1] == user), None)
            iam = IamTokenAuth(settings, Transport(settings), peer._lock if peer else None)
        _TOKEN_AUTHS[key] = iam
        _TOKEN_AUTHS.move_to_end(key)
        if len(_TOKEN_AUTHS) > MAX_TOKEN_AUTHS:
            known, oldest = _TOKEN_AUTHS.popitem(last=False)
            _LET_GO[known] = oldest
            oldest.transport.close()
        return iam


def _logins() -> list[tuple[tuple[Any, ...], IamTokenAuth]]:
    """Every password login of this process still in use; called with _TOKEN_AUTHS_LOCK held."""
    return [*_TOKEN_AUTHS.items(), *_LET_GO.items()]


#: Project IDs looked up in this process, by (IAM URL, project name, hash of the credentials):
#: one lookup per place and credentials, whatever client or thread asks; the most recent
#: MAX_PROJECT_IDS are kept (a host given a new token at each run would keep them all), and a
#: lookup's lock while some thread uses it.
_PROJECT_IDS: dict[tuple[str, str, str], str] = {}
_LOOKUPS: weakref.WeakValueDictionary[tuple[str, str, str], Lock] = weakref.WeakValueDictionary()
_LOOKUPS_LOCK = Lock()
MAX_PROJECT_IDS = 1024
#: Pages of a project listing followed (Keystone's ``links.next``); a region has a handful of projects.
MAX_PROJECT_PAGES = 20


def _lookup_key(settings: Settings) -> tuple[str, str, str]:
    who = settings.auth_token if settings.auth_mode() == "token" else settings.access_key  # what asks
    assert who is not None  # password auth has its project scoped by IAM, never looked up
    digest = hashlib.sha256(who.get_secret_value().encode()).hexdigest()[:16]
    return settings.resolved_auth_url, settings.project_scope_name, digest


def discover_project_id(settings: Settings, transport: Transport, auth: AuthBase) -> str:
    """``GET {auth_url}/projects?name={region}``, every page; exactly one match required."""
    name, key = settings.project_scope_name, _lookup_key(settings)
    url = f"{settings.resolved_auth_url}/projects?name={path_segment(name)}"
    # Listing IAM projects takes a permission that reading ModelArts does not: without it, name the project.
    denied = f"Set {PROJECT_TO_USE} so that no lookup is needed: listing IAM projects"
    hints: dict[type[ModelArtsError], str] = {
        AuthenticationError: rejected_hint(settings),
        PermissionDeniedError: f"{denied} takes a permission these credentials may not have",
        ServiceError: "Check modelarts:authUrl and projectName (else the region) against IAM's message",
    }
    context = RequestContext(
        "IAM project lookup", urlsplit(url).netloc, invalid_hint=_AUTH_URL_HINT, hints=hints
    )
    with _LOOKUPS_LOCK:
        lock = _LOOKUPS.setdefault(key, Lock())
    with held(lock, context):  # threads asking at once wait for the first one's answer
        if (project_id := _PROJECT_IDS.get(key)) is None:  # read once: forget_project may drop it
            project_id = _one_project(_listed_projects(url, transport, auth, context), name, context)
            with _LOOKUPS_LOCK:
                _PROJECT_IDS[key] = project_id
                while len(_PROJECT_IDS) > MAX_PROJECT_IDS:
                    del _PROJECT_IDS[next(iter(_PROJECT_IDS))]
        return project_id


def _listed_projects(
    url: str, transport: Transport, auth: AuthBase, context: RequestContext
) -> list[dict[str, Any]]:
    """Every page's projects, following ``links.next`` only within this listing (same host and path)."""
    projects, seen = list[dict[str, Any]](), {url}
    for _ in range(MAX_PROJECT_PAGES):
        document = json_object(transport.send("GET", url, context=context, auth=auth), context)
        page = document.get("projects")
        if not isinstance(page, list):
            raise context.error(InvalidResponseError, "IAM answered without a 'projects' list")
        projects += [item for item in page if isinstance(item, dict)]
        following = _mapping(document.get("links")).get("next")
        if not following:
            return projects
        url, here = urljoin(url, str(following)), urlsplit(url)
        if urlsplit(url)[:3] != here[:3]:
            summary = "IAM's link to the next page of projects leads out of its project list"
            raise context.error(InvalidResponseError, summary)
        if url in seen:
            return projects
        seen.add(url)
    raise context.error(InvalidResponseError, f"IAM's project list goes on past {MAX_PROJECT_PAGES} pages")


def _one_project(projects: list[dict[str, Any]], name: str, context: RequestContext) -> str:
    # A project listed twice is one, a disabled one none; an ID must be one modelarts:projectId
    # would take, or it would name another path (MOS and sub-projects have names of their own).
    named = [item for item in projects if item.get("name") == name]
    enabled = [item for item in named if str(item.get("enabled")).lower() not in ("false", "0")]
    try:
        ids = sorted({check_target("project_id", item.get("id"), "ID") for item in enabled})
    except InvalidInputError as exc:
        summary = f"IAM answered an unusable project ID ({exc.summary})"
        raise context.error(InvalidResponseError, summary) from None
    if len(ids) == 1:
        return str(ids[0])
    many = f"{len(ids)} IAM projects named '{name}' ({', '.join(ids)})"
    found = many if ids else f"no IAM project named '{name}' is visible to these credentials"
    hint = f"Set {PROJECT_TO_USE} to the project to use (a read with its own region takes only its own)"
    raise ConfigurationError(found, hint=hint)


def forget_project(settings: Settings, auth: AuthBase, project_id: str) -> None:
    """The project these settings name (not configured: looked up, or the token's) is no longer
    ``project_id``, which ModelArts says is not the credentials': renamed, or deleted and its name
    given to another, since. The next ``build_auth`` finds it again."""
    if isinstance(auth, IamTokenAuth):
        auth.forget(project_id)
    else:
        with _LOOKUPS_LOCK:
            if _PROJECT_IDS.get(key := _lookup_key(settings)) == project_id:
                del _PROJECT_IDS[key]


def build_auth(settings: Settings, transport: Transport) -> tuple[AuthBase, str]:
    """The auth object for ModelArts calls and the project ID it works in."""
    mode = settings.auth_mode()
    if mode == "password":
        iam = shared_token_auth(settings)
        iam.token()
        return iam, iam.project_id
    if mode == "token":
        assert settings.auth_token is not None
        auth: AuthBase = StaticTokenAuth(settings.auth_token)
        return auth, settings.project_id or discover_project_id(settings, transport, auth)
    assert settings.access_key is not None
    assert settings.secret_key is not None
    keys = (settings.access_key, settings.secret_key)
    project_id = settings.project_id or discover_project_id(
        settings, transport, AkSkAuth(*keys, security_token=settings.security_token)
    )
    return AkSkAuth(*keys, security_token=settings.security_token, project_id=project_id), project_id
