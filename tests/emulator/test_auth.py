"""Authentication as IAM and the API gateway do it: tokens, AK/SK signatures, project scoping."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
import requests

from pulumi_modelarts.emulator import EmulatorCredentials, ModelArtsEmulator, mos_project_id

from .conftest import Api, jobs_path, signed_get, signed_headers

MISMATCH = {
    "is_success": False,
    "error_code": "ModelArts.0210",
    "error_message": "The project id in the request URL does not match the token",
}


def login(
    em: ModelArtsEmulator, methods: dict[str, Any], scope: Any = "eu-de", **headers: str
) -> requests.Response:
    auth: dict[str, Any] = {"identity": {"methods": list(methods), **methods}}
    if scope is not None:
        auth["scope"] = {"project": {"name": scope}} if isinstance(scope, str) else scope
    return requests.post(f"{em.iam_url}/auth/tokens", json={"auth": auth}, headers=headers, timeout=5)


def password(em: ModelArtsEmulator, **wrong: str) -> dict[str, Any]:
    creds = em.credentials
    user = {"name": creds.user_name, "password": creds.password, "domain": {"name": creds.domain_name}}
    user |= {key: value for key, value in wrong.items() if key != "domain"}
    if "domain" in wrong:
        user["domain"] = {"name": wrong["domain"]}
    return {"password": {"user": user}}


def test_password_login_scoped_by_name_or_id(emulator: ModelArtsEmulator) -> None:
    before = time.time()
    response = login(emulator, password(emulator))
    assert response.status_code == 201, response.text
    body = response.json()["token"]
    assert set(body) == {"expires_at", "issued_at", "methods", "project", "user", "roles", "catalog"}
    issued, expires = (
        datetime.fromisoformat(body[key].replace("Z", "+00:00")) for key in ("issued_at", "expires_at")
    )
    assert before <= issued.timestamp() <= time.time() and (expires - issued).total_seconds() == 86400
    assert body["issued_at"].endswith("Z") and len(body["issued_at"]) == len("2024-01-01T00:00:00.000000Z")
    assert (body["methods"], body["project"]["id"], body["project"]["name"]) == (
        ["password"],
        emulator.project_id,
        "eu-de",
    )
    assert (body["user"]["name"], body["user"]["domain"]["name"]) == ("emulator-user", "emulator-domain")
    with Api(emulator) as client:
        client.headers["X-Auth-Token"] = response.headers["X-Subject-Token"]
        assert client.jobs("/197").json()["job_id"] == 197
        mos = mos_project_id(emulator.project_id)
        response = login(emulator, password(emulator), {"project": {"id": mos}})
        assert response.json()["token"]["project"]["name"] == "MOS"
        client.headers["X-Auth-Token"] = response.headers["X-Subject-Token"]
        assert (client.jobs("/197").status_code, client.jobs().json()) == (403, MISMATCH)


def test_token_login_exchanges_a_valid_token(emulator: ModelArtsEmulator) -> None:
    old = emulator.issue_token()
    response = login(emulator, {"token": {"id": old}})
    assert (response.status_code, response.json()["token"]["methods"]) == (201, ["token"])
    assert response.headers["X-Subject-Token"] != old
    # Huawei IAM takes the token from X-Auth-Token when identity.token.id is absent.
    assert login(emulator, {"token": {}}, **{"X-Auth-Token": old}).status_code == 201


@pytest.mark.parametrize(
    ("identity", "scope", "status", "code"),
    [
        ("wrong name", "eu-de", 401, "IAM.0062"),
        ("wrong password", "eu-de", 401, "IAM.0062"),
        ("wrong domain", "eu-de", 401, "IAM.0062"),
        ("password", None, 400, "IAM.0008"),
        ("password", {"domain": {"name": "emulator-domain"}}, 400, "IAM.0008"),
        ("password", "eu-nl", 400, "IAM.1109"),
        ("password", {"project": {"id": "f" * 32}}, 400, "IAM.1109"),
        ("unknown token", "eu-de", 401, "IAM.0067"),
        ("expired token", "eu-de", 401, "IAM.0066"),
        ("no methods", "eu-de", 400, "IAM.0011"),
        ("totp", "eu-de", 400, "IAM.0011"),
        ("password without user", "eu-de", 400, "IAM.0011"),
    ],
)
def test_login_refusals(
    emulator: ModelArtsEmulator, identity: str, scope: Any, status: int, code: str
) -> None:
    named = {
        "password": password(emulator),
        "unknown token": {"token": {"id": "MIInot-issued"}},
        "expired token": {"token": {"id": emulator.issue_token(ttl=0)}},
        "no methods": {},
        "totp": {"totp": {}},
        "password without user": {"password": {}},
    }
    methods = named[identity] if identity in named else password(emulator, **{identity[6:]: "wrong"})
    response = login(emulator, methods, scope)
    assert (response.status_code, response.json()["error_code"]) == (status, code)
    assert set(response.json()) == {"error_code", "error_msg"} and "X-Subject-Token" not in response.headers


@pytest.mark.parametrize("body", [b"", b"{not json", b'"auth"', b'{"auth": "x"}', b"\xff"])
def test_malformed_login_bodies(emulator: ModelArtsEmulator, body: bytes) -> None:
    response = requests.post(f"{emulator.iam_url}/auth/tokens", data=body, timeout=5)
    assert (response.status_code, response.json()["error_code"]) == (400, "IAM.0011")


def gateway_refusal(status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": status, "body": {"error_code": code, "error_msg": message}}


NO_AUTH = gateway_refusal(
    401, "APIG.0301", "Incorrect IAM authentication information: Authorization header not found"
)
STALE_TOKEN = gateway_refusal(401, "APIG.0307", "The token must be updated")
BAD_SIGNATURE = gateway_refusal(401, "APIG.0301", "verify aksk signature fail")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({}, NO_AUTH),
        ({"token": "MIIforged"}, STALE_TOKEN),
        ({"token": "expired"}, STALE_TOKEN),
        ({"aksk": {"secret_key": "nope"}}, BAD_SIGNATURE),
        (
            {"aksk": {"access_key": "AKUNKNOWN"}},
            gateway_refusal(401, "APIG.0301", "Get secretKey failed, ak not exist"),
        ),
        ({"aksk": {"skew": -16 * 60}}, BAD_SIGNATURE),
        ({"aksk": {"skew": 16 * 60}}, BAD_SIGNATURE),
        ({"aksk": {"signed": ("content-type", "x-sdk-date")}}, BAD_SIGNATURE),
        ({"aksk": {"signed": ("content-type", "host")}}, BAD_SIGNATURE),
        ({"authorization": "SDK-HMAC-SHA256 garbage"}, BAD_SIGNATURE),
        ({"authorization": "SDK-HMAC-SHA256 Access=EMULATORACCESSKEY0001"}, BAD_SIGNATURE),
        ({"authorization": "Bearer abc"}, BAD_SIGNATURE),
        ({"aksk": {"skew": -14 * 60}}, {"status": 200}),
        ({"aksk": {"skew": 14 * 60, "project_id": "own"}}, {"status": 200}),
        ({"aksk": {"project_id": "mos"}}, {"status": 403, "body": MISMATCH}),
    ],
)
def test_gateway_checks(emulator: ModelArtsEmulator, case: dict[str, Any], expected: dict[str, Any]) -> None:
    path = jobs_path(emulator, "/197")
    if "aksk" in case:
        named = {"own": emulator.project_id, "mos": mos_project_id(emulator.project_id)}
        options = {**case["aksk"], "project_id": named.get(case["aksk"].get("project_id", ""))}
        headers = signed_headers(emulator, "GET", path, **options)
    elif "token" in case:
        headers = {"X-Auth-Token": case["token"] if case["token"] != "expired" else emulator.issue_token()}
        emulator.expire_tokens()
    else:
        headers = {"Authorization": case["authorization"]} if case else {}
    response = requests.get(emulator.url + path, headers=headers, timeout=5)
    assert response.status_code == expected["status"], response.text
    if expected["status"] == 401:
        assert response.json() == {**expected["body"], "request_id": response.headers["X-Request-Id"]}
    elif "body" in expected:
        assert response.json() == expected["body"]


def test_tokens_expire_and_are_scoped_to_their_project(emulator: ModelArtsEmulator) -> None:
    with Api(emulator) as client:
        assert client.jobs("/197").status_code == 200
        emulator.expire_tokens()
        assert client.jobs("/197").json()["error_code"] == "APIG.0307"
        emulator.add_project("eu-de_child", "c" * 32)
        client.headers["X-Auth-Token"] = emulator.issue_token()
        client.base = emulator.url + jobs_path(emulator, project_id="c" * 32)
        assert (client.jobs().status_code, client.jobs("/197").json()) == (403, MISMATCH)


def test_aksk_works_in_any_project_of_the_account(emulator: ModelArtsEmulator) -> None:
    mos = mos_project_id(emulator.project_id)
    query = [("search_content", "a b/c"), ("per_page", "5"), ("sortBy", "job_name")]
    assert signed_get(emulator, jobs_path(emulator), query).json()["job_total_count"] == 0
    assert signed_get(emulator, jobs_path(emulator, project_id=mos), project_id=mos).status_code == 200
    assert signed_get(emulator, jobs_path(emulator, project_id="e" * 32)).json() == MISMATCH
    assert [record.auth for record in emulator.requests] == ["aksk"] * 3


def test_the_signature_covers_path_and_query(emulator: ModelArtsEmulator) -> None:
    signed_for_197 = signed_headers(emulator, "GET", jobs_path(emulator, "/197"))
    assert (
        requests.get(
            emulator.url + jobs_path(emulator, "/212"), headers=signed_for_197, timeout=5
        ).status_code
        == 401
    )
    page_1 = signed_headers(emulator, "GET", jobs_path(emulator), [("page", "1")])
    assert (
        requests.get(emulator.url + jobs_path(emulator) + "?page=2", headers=page_1, timeout=5).status_code
        == 401
    )


def test_reference_vectors_from_huaweicloudsdkcore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vectors B and C of the API reference (§4c), computed by the official SDK, verify here."""
    project = "0123456789abcdef0123456789abcdef"
    credentials = EmulatorCredentials("AKIDEXAMPLE0000000001", "SKEXAMPLE0000000000000000000000000000001")
    monkeypatch.setattr(time, "time", lambda: datetime.fromisoformat("2024-01-01T00:00:00+00:00").timestamp())
    headers = {
        "Host": "modelarts.eu-de.otc.t-systems.com",
        "X-Project-Id": project,
        "X-Sdk-Date": "20240101T000000Z",
    }
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
            sent = {**headers, "Content-Type": "application/json", "Authorization": prefix + signature}
            response = requests.get(
                f"{em.url}/v1/{project}/visualization-jobs{suffix}", headers=sent, timeout=5
            )
            assert response.status_code == 200, response.text


def test_project_lookup(emulator: ModelArtsEmulator) -> None:
    response = signed_get(emulator, "/v3/projects", [("name", "eu-de")])
    body = response.json()
    domain = body["projects"][0]["domain_id"]
    assert body == {
        "projects": [
            {
                "id": emulator.project_id,
                "name": "eu-de",
                "domain_id": domain,
                "enabled": True,
                "is_domain": False,
                "parent_id": domain,
                "description": "",
            }
        ],
        "links": {"self": f"{emulator.iam_url}/projects?name=eu-de", "next": None, "previous": None},
    }
    emulator.add_project("eu-de", "d" * 32)
    with requests.Session() as session:
        session.headers["X-Auth-Token"] = emulator.issue_token()
        url = f"{emulator.iam_url}/projects"
        assert [
            p["id"] for p in session.get(url, params={"name": "eu-de"}, timeout=5).json()["projects"]
        ] == [
            emulator.project_id,
            "d" * 32,
        ]
        assert [p["name"] for p in session.get(url, timeout=5).json()["projects"]] == [
            "eu-de",
            "MOS",
            "eu-de",
        ]
        assert session.get(url, params={"name": "EU-DE"}, timeout=5).json()["projects"] == []
    assert requests.get(url, timeout=5).json()["error_code"] == "APIG.0301"
    with pytest.raises(ValueError, match="already exists"):
        emulator.add_project("again", "d" * 32)
