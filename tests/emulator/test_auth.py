"""Authentication as IAM and the API gateway do it: tokens, AK/SK signatures, project scoping."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
import requests

from pulumi_modelarts.emulator import EmulatorCredentials, ModelArtsEmulator, mos_project_id

from .conftest import Api, jobs_path, signed_get, signed_headers

MISMATCH = "The project id in the request URL does not match the token"
MISMATCH_BODY = {"is_success": False, "error_code": "ModelArts.0210", "error_message": MISMATCH}


def login(
    em: ModelArtsEmulator, methods: dict[str, Any], project: Any = None, **headers: str
) -> requests.Response:
    scope = {"project": project or {"name": "eu-de"}} if project != "unscoped" else {"domain": {"name": "x"}}
    auth = {"identity": {"methods": list(methods), **methods}, "scope": scope}
    return requests.post(f"{em.iam_url}/auth/tokens", json={"auth": auth}, headers=headers, timeout=5)


def password(em: ModelArtsEmulator, wrong: str = "") -> dict[str, Any]:
    creds = em.credentials
    user = {"name": creds.user_name, "password": creds.password, "domain": {"name": creds.domain_name}}
    if wrong:
        user[wrong] = {"name": "wrong"} if wrong == "domain" else "wrong"
    return {"password": {"user": user}}


def test_password_login_by_project_name_or_id(emulator: ModelArtsEmulator) -> None:
    before = time.time()
    response = login(emulator, password(emulator))
    assert response.status_code == 201, response.text
    body = response.json()["token"]
    assert set(body) == {"expires_at", "issued_at", "methods", "project", "user"}
    issued, expires = (
        datetime.strptime(body[k], "%Y-%m-%dT%H:%M:%S.%f%z") for k in ("issued_at", "expires_at")
    )
    assert before - 0.001 <= issued.timestamp() <= time.time()
    assert abs((expires - issued).total_seconds() - 86400) < 0.001  # the default token_ttl
    assert [body["methods"], body["project"]["id"], body["project"]["name"]] == [
        ["password"],
        emulator.project_id,
        "eu-de",
    ]
    assert (body["user"]["name"], body["user"]["domain"]["name"]) == ("emulator-user", "emulator-domain")
    with Api(emulator) as client:
        client.headers["X-Auth-Token"] = response.headers["X-Subject-Token"]
        assert client.jobs("/197").json()["job_id"] == 197
        response = login(emulator, password(emulator), {"id": mos_project_id(emulator.project_id)})
        assert response.json()["token"]["project"]["name"] == "MOS"
        client.headers["X-Auth-Token"] = response.headers["X-Subject-Token"]
        assert (client.jobs("/197").status_code, client.jobs().json()) == (403, MISMATCH_BODY)


def test_token_login_exchanges_a_valid_token(emulator: ModelArtsEmulator) -> None:
    old = emulator.issue_token()
    response = login(emulator, {"token": {"id": old}})
    assert (response.status_code, response.json()["token"]["methods"]) == (201, ["token"])
    assert response.headers["X-Subject-Token"] != old
    # Huawei IAM takes the token from X-Auth-Token when identity.token.id is absent.
    assert login(emulator, {"token": {}}, **{"X-Auth-Token": old}).status_code == 201


@pytest.mark.parametrize(
    ("identity", "project", "status", "code"),
    [
        ("name", None, 401, "IAM.0062"),
        ("password", None, 401, "IAM.0062"),
        ("domain", None, 401, "IAM.0062"),
        ("", "unscoped", 400, "IAM.0008"),
        ("", {"name": "eu-nl"}, 400, "IAM.1109"),
        ("", {"id": "f" * 32}, 400, "IAM.1109"),
        ("unknown token", None, 401, "IAM.0067"),
        ("expired token", None, 401, "IAM.0066"),
        ("no method", None, 400, "IAM.0011"),
        ("totp", None, 400, "IAM.0011"),
        ("password without user", None, 400, "IAM.0011"),
    ],
)
def test_login_refusals(
    emulator: ModelArtsEmulator, identity: str, project: Any, status: int, code: str
) -> None:
    methods = {
        "unknown token": {"token": {"id": "MIInot-issued"}},
        "expired token": {"token": {"id": emulator.issue_token(ttl=0)}},
        "no method": {},
        "totp": {"totp": {}},
        "password without user": {"password": {}},
    }.get(identity, password(emulator, identity))
    response = login(emulator, methods, project)
    assert (response.status_code, response.json()["error_code"]) == (status, code)
    assert set(response.json()) == {"error_code", "error_msg"} and "X-Subject-Token" not in response.headers


@pytest.mark.parametrize("body", [b"", b"{not json", b'"auth"', b'{"auth": "x"}', b"\xff"])
def test_malformed_login_bodies(emulator: ModelArtsEmulator, body: bytes) -> None:
    response = requests.post(f"{emulator.iam_url}/auth/tokens", data=body, timeout=5)
    assert (response.status_code, response.json()["error_code"]) == (400, "IAM.0011")


NO_AUTH = (401, "APIG.0301", "Incorrect IAM authentication information: Authorization header not found")
STALE = (401, "APIG.0307", "The token must be updated")
BAD_SIGNATURE = (401, "APIG.0301", "verify aksk signature fail")


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        ({}, NO_AUTH),
        ({"token": "MIIforged"}, STALE),
        ({"token": "expired"}, STALE),
        ({"token": "MOS"}, (403, "ModelArts.0210", MISMATCH)),
        ({"aksk": {"secret_key": "nope"}}, BAD_SIGNATURE),
        ({"aksk": {"access_key": "AKUNKNOWN"}}, (401, "APIG.0301", "Get secretKey failed, ak not exist")),
        ({"aksk": {"skew": -16 * 60}}, BAD_SIGNATURE),
        ({"aksk": {"skew": 16 * 60}}, BAD_SIGNATURE),
        ({"aksk": {"signed_headers": ("content-type", "x-sdk-date")}}, BAD_SIGNATURE),
        ({"aksk": {"signed_headers": ("content-type", "host")}}, BAD_SIGNATURE),
        ({"aksk": {"project_id": "MOS"}}, (403, "ModelArts.0210", MISMATCH)),
        ({"aksk": {"skew": -14 * 60}}, (200, None, None)),
        ({"aksk": {"skew": 14 * 60, "project_id": "own"}}, (200, None, None)),
        ({"Authorization": "SDK-HMAC-SHA256 garbage"}, BAD_SIGNATURE),
        ({"Authorization": "SDK-HMAC-SHA256 Access=EMULATORACCESSKEY0001"}, BAD_SIGNATURE),
        ({"Authorization": "Bearer abc"}, BAD_SIGNATURE),
    ],
)
def test_gateway_checks(
    emulator: ModelArtsEmulator, credentials: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    path = jobs_path(emulator, "/197")
    projects = {"own": emulator.project_id, "MOS": mos_project_id(emulator.project_id)}
    headers = credentials.copy()
    if "aksk" in credentials:
        options = credentials["aksk"] | {
            "project_id": projects.get(credentials["aksk"].get("project_id", ""))
        }
        headers = signed_headers(emulator, path, **options)
    elif "token" in credentials:
        token = credentials["token"]
        headers = {
            "X-Auth-Token": emulator.issue_token(projects.get(token))
            if token in ("MOS", "expired")
            else token
        }
        if token == "expired":
            emulator.expire_tokens()
    response = requests.get(emulator.url + path, headers=headers, timeout=5)
    status, code, message = expected
    assert response.status_code == status, response.text
    if status == 401:
        assert response.json() == {
            "error_code": code,
            "error_msg": message,
            "request_id": response.headers["X-Request-Id"],
        }
    elif status == 403:
        assert response.json() == MISMATCH_BODY


def test_aksk_works_in_any_project_of_the_account(emulator: ModelArtsEmulator) -> None:
    mos = mos_project_id(emulator.project_id)
    query = [("search_content", "a b/c"), ("per_page", "5"), ("sortBy", "job_name")]
    assert signed_get(emulator, jobs_path(emulator), query).json()["job_total_count"] == 0
    assert signed_get(emulator, jobs_path(emulator, project_id=mos), project_id=mos).status_code == 200
    assert signed_get(emulator, jobs_path(emulator, project_id="e" * 32)).json() == MISMATCH_BODY
    assert [record.auth for record in emulator.requests] == ["aksk"] * 3


def test_the_signature_covers_path_and_query(emulator: ModelArtsEmulator) -> None:
    for signed, sent in [("/197", "/212"), ("?page=1", "?page=2")]:
        query = [("page", "1")] if signed.startswith("?") else []
        headers = signed_headers(emulator, jobs_path(emulator, "" if query else signed), query)
        assert (
            requests.get(emulator.url + jobs_path(emulator, sent), headers=headers, timeout=5).status_code
            == 401
        )


def test_reference_vectors_from_huaweicloudsdkcore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vectors B and C of the API reference (§4c), computed by the official SDK, verify here."""
    project = "0123456789abcdef0123456789abcdef"
    credentials = EmulatorCredentials("AKIDEXAMPLE0000000001", "SKEXAMPLE0000000000000000000000000000001")
    monkeypatch.setattr(time, "time", lambda: datetime.fromisoformat("2024-01-01T00:00:00+00:00").timestamp())
    headers = {"Content-Type": "application/json", "Host": "modelarts.eu-de.otc.t-systems.com"}
    headers |= {"X-Project-Id": project, "X-Sdk-Date": "20240101T000000Z"}
    prefix = "SDK-HMAC-SHA256 Access=AKIDEXAMPLE0000000001, "
    prefix += "SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature="
    vectors = {
        "/197": "13ab173d4ef1c4e85797d311e97cdae05b5166722f3f4badd4bb70da18fc50d6",
        "?order=asc&page=1&per_page=10&search_content=a%20b%2Fc&sortBy=job_id": (
            "8d6ecb2e85b53d8f3a1bc1836a8d8b2a60ad2f93f64eb8231baf748bfe46f7b0"
        ),
    }
    with ModelArtsEmulator(
        [{"job_id": 197, "job_name": "v"}], project_id=project, credentials=credentials
    ) as em:
        for suffix, signature in vectors.items():
            signed = {**headers, "Authorization": prefix + signature}
            response = requests.get(em.url + jobs_path(em, suffix), headers=signed, timeout=5)
            assert response.status_code == 200, response.text


def test_project_lookup(emulator: ModelArtsEmulator) -> None:
    body = signed_get(emulator, "/v3/projects", [("name", "eu-de")]).json()
    domain = body["projects"][0]["domain_id"]
    assert body["projects"] == [
        {"id": emulator.project_id, "name": "eu-de", "domain_id": domain, "enabled": True}
    ]
    assert body["links"] == {
        "self": f"{emulator.iam_url}/projects?name=eu-de",
        "next": None,
        "previous": None,
    }
    emulator.add_project("eu-de", "d" * 32)
    with requests.Session() as session:
        session.headers["X-Auth-Token"] = emulator.issue_token()
        url = f"{emulator.iam_url}/projects"
        named = session.get(url, params={"name": "eu-de"}, timeout=5).json()["projects"]
        assert [p["id"] for p in named] == [emulator.project_id, "d" * 32]
        assert [p["name"] for p in session.get(url, timeout=5).json()["projects"]] == [
            "eu-de",
            "MOS",
            "eu-de",
        ]
        assert session.get(url, params={"name": "EU-DE"}, timeout=5).json()["projects"] == []
    assert requests.get(url, timeout=5).json()["error_code"] == "APIG.0301"
