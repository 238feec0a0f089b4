"""Authentication as the gateway and IAM do it: tokens, AK/SK signatures, project scoping."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
import requests

from pulumi_modelarts.emulator import EmulatorCredentials, ModelArtsEmulator
from pulumi_modelarts.emulator.iam import mos_project_id

from .conftest import START, Api, FakeClock, aksk_headers, password_auth_body, signed_request

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def job_path(em: ModelArtsEmulator, suffix: str = "/197", project_id: str | None = None) -> str:
    return f"/v1/{project_id or em.project_id}/visualization-jobs{suffix}"


def post_token(em: ModelArtsEmulator, body: Any, **headers: str) -> requests.Response:
    return requests.post(f"{em.iam_url}/auth/tokens", json=body, headers=headers, timeout=5)


def assert_gateway_error(response: requests.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {
        "error_code": code,
        "error_msg": message,
        "request_id": response.headers["X-Request-Id"],
    }


def assert_project_mismatch(response: requests.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {
        "is_success": False,
        "error_code": "ModelArts.0210",
        "error_message": "The project id in the request URL does not match the token",
    }


# -- IAM tokens ---------------------------------------------------------------------------------------


def test_password_token_by_project_name(emulator: ModelArtsEmulator) -> None:
    response = post_token(emulator, password_auth_body(emulator, scope={"project": {"name": "eu-de"}}))
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]
    body = response.json()["token"]
    assert set(body) == {"expires_at", "issued_at", "methods", "project", "user", "roles", "catalog"}
    assert ISO_UTC.fullmatch(body["expires_at"])
    assert ISO_UTC.fullmatch(body["issued_at"])
    issued = datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert issued.timestamp() == START
    assert (expires - issued).total_seconds() == 86400
    assert body["methods"] == ["password"]
    assert body["project"]["id"] == emulator.project_id
    assert body["project"]["name"] == "eu-de"
    assert body["user"]["name"] == emulator.credentials.user_name
    assert body["user"]["domain"]["name"] == emulator.credentials.domain_name
    response = requests.get(emulator.url + job_path(emulator), headers={"X-Auth-Token": token}, timeout=5)
    assert response.status_code == 200
    assert response.json()["job_id"] == 197


def test_password_token_by_project_id_for_another_project(emulator: ModelArtsEmulator) -> None:
    mos = mos_project_id(emulator.project_id)
    response = post_token(emulator, password_auth_body(emulator, scope={"project": {"id": mos}}))
    assert response.status_code == 201
    assert response.json()["token"]["project"] == {
        "id": mos,
        "name": "MOS",
        "domain": response.json()["token"]["user"]["domain"],
    }
    token = response.headers["X-Subject-Token"]
    assert_project_mismatch(
        requests.get(emulator.url + job_path(emulator), headers={"X-Auth-Token": token}, timeout=5)
    )


@pytest.mark.parametrize("field", ["name", "password", "domain"])
def test_wrong_user_password_or_domain(emulator: ModelArtsEmulator, field: str) -> None:
    body = password_auth_body(emulator, scope={"project": {"name": "eu-de"}}, **{field: "wrong"})
    response = post_token(emulator, body)
    assert response.status_code == 401
    assert response.json() == {
        "error_code": "IAM.0062",
        "error_msg": "Incorrect IAM user name, password or account name",
    }
    assert "X-Subject-Token" not in response.headers


@pytest.mark.parametrize(
    ("scope", "status", "code"),
    [
        (None, 400, "IAM.0008"),
        ({"domain": {"name": "emulator-domain"}}, 400, "IAM.0008"),
        ({"project": {"name": "eu-nl"}}, 400, "IAM.1109"),
        ({"project": {"id": "f" * 32}}, 400, "IAM.1109"),
    ],
)
def test_token_needs_a_known_project_scope(
    emulator: ModelArtsEmulator, scope: dict[str, Any] | None, status: int, code: str
) -> None:
    response = post_token(emulator, password_auth_body(emulator, scope=scope))
    assert response.status_code == status
    assert response.json()["error_code"] == code


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"auth": "x"},
        {"auth": {"identity": {"methods": []}}},
        {"auth": {"identity": {"methods": ["totp"]}}},
        {"auth": {"identity": {"methods": ["password"]}}},
    ],
)
def test_malformed_token_requests(emulator: ModelArtsEmulator, body: Any) -> None:
    response = post_token(emulator, body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "IAM.0011"


def test_token_method_exchanges_a_valid_token(emulator: ModelArtsEmulator) -> None:
    old = emulator.issue_token()
    body: dict[str, Any] = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": old}},
            "scope": {"project": {"id": emulator.project_id}},
        }
    }
    response = post_token(emulator, body)
    assert response.status_code == 201
    assert response.json()["token"]["methods"] == ["token"]
    assert response.headers["X-Subject-Token"] != old
    # Huawei IAM also takes the token from X-Auth-Token when identity.token.id is absent.
    del body["auth"]["identity"]["token"]
    assert post_token(emulator, body, **{"X-Auth-Token": old}).status_code == 201


def test_token_method_rejects_unknown_and_expired_tokens(
    emulator: ModelArtsEmulator, clock: FakeClock
) -> None:
    body: dict[str, Any] = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": "MIInot-issued"}},
            "scope": {"project": {"name": "eu-de"}},
        }
    }
    assert post_token(emulator, body).json()["error_code"] == "IAM.0067"
    body["auth"]["identity"]["token"]["id"] = emulator.issue_token(ttl=10)
    clock.advance(10)
    response = post_token(emulator, body)
    assert response.status_code == 401
    assert response.json()["error_code"] == "IAM.0066"


# -- token use ---------------------------------------------------------------------------------------


def test_missing_credentials(emulator: ModelArtsEmulator) -> None:
    response = requests.get(emulator.url + job_path(emulator), timeout=5)
    assert_gateway_error(
        response,
        401,
        "APIG.0301",
        "Incorrect IAM authentication information: Authorization header not found",
    )


def test_unknown_token(emulator: ModelArtsEmulator) -> None:
    response = requests.get(
        emulator.url + job_path(emulator), headers={"X-Auth-Token": "MIIforged"}, timeout=5
    )
    assert_gateway_error(response, 401, "APIG.0307", "The token must be updated")


def test_expire_tokens_mid_run(emulator: ModelArtsEmulator) -> None:
    api = Api(emulator)
    assert api.get("/197").status_code == 200
    emulator.expire_tokens()
    assert_gateway_error(api.get("/197"), 401, "APIG.0307", "The token must be updated")
    api.session.headers["X-Auth-Token"] = emulator.issue_token()
    assert api.get("/197").status_code == 200


def test_token_expires_with_the_clock(clock: FakeClock) -> None:
    with ModelArtsEmulator([{"job_name": "a"}], token_ttl=60, clock=clock) as em:
        api = Api(em)
        clock.advance(59.9)
        assert api.get("/1").status_code == 200
        clock.advance(0.1)
        assert api.get("/1").status_code == 401


def test_token_of_other_project_is_refused(emulator: ModelArtsEmulator) -> None:
    emulator.add_project("eu-de_child", "c" * 32)
    api = Api(emulator, "c" * 32)
    api.session.headers["X-Auth-Token"] = emulator.issue_token()  # the default project's token
    assert_project_mismatch(api.get())
    assert_project_mismatch(api.get("/197"))


# -- AK/SK -------------------------------------------------------------------------------------------


def test_aksk_get_list_and_put(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    path = job_path(emulator)
    assert signed_request(emulator, "GET", path, at=clock()).json()["job_id"] == 197
    query = [("search_content", "a b/c"), ("per_page", "5"), ("sortBy", "job_name")]
    response = signed_request(emulator, "GET", job_path(emulator, ""), query, at=clock())
    assert response.status_code == 200, response.text
    assert response.json()["jobs"] == []
    body = b'{"job_desc": "signed"}'
    response = signed_request(emulator, "PUT", path, body=body, at=clock())
    assert response.status_code == 200, response.text
    assert emulator.get_job(197)["job_desc"] == "signed"  # type: ignore[index]
    assert [record.auth for record in emulator.requests] == ["aksk"] * 3


def test_aksk_with_matching_project_header(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    response = signed_request(emulator, "GET", job_path(emulator), at=clock(), project_id=emulator.project_id)
    assert response.status_code == 200


def test_aksk_project_header_must_match_url(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    mos = mos_project_id(emulator.project_id)
    assert_project_mismatch(signed_request(emulator, "GET", job_path(emulator), at=clock(), project_id=mos))


def test_aksk_works_in_any_project_of_the_account(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    mos = mos_project_id(emulator.project_id)
    response = signed_request(emulator, "GET", job_path(emulator, "", mos), at=clock(), project_id=mos)
    assert response.status_code == 200
    assert response.json()["job_total_count"] == 0
    assert_project_mismatch(signed_request(emulator, "GET", job_path(emulator, "", "e" * 32), at=clock()))


def test_aksk_wrong_secret(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    response = signed_request(emulator, "GET", job_path(emulator), at=clock(), secret_key="nope")
    assert_gateway_error(response, 401, "APIG.0301", "verify aksk signature fail")


def test_aksk_unknown_access_key(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    response = signed_request(emulator, "GET", job_path(emulator), at=clock(), access_key="AKUNKNOWN")
    assert_gateway_error(response, 401, "APIG.0301", "Get secretKey failed, ak not exist")


@pytest.mark.parametrize(
    ("offset", "status"), [(-14 * 60, 200), (14 * 60, 200), (-16 * 60, 401), (16 * 60, 401)]
)
def test_aksk_clock_skew(emulator: ModelArtsEmulator, clock: FakeClock, offset: int, status: int) -> None:
    response = signed_request(emulator, "GET", job_path(emulator), at=clock() + offset)
    assert response.status_code == status


def test_aksk_signature_covers_path_query_and_body(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    signed_for_197 = aksk_headers(emulator, "GET", job_path(emulator), at=clock())
    other = requests.get(emulator.url + job_path(emulator, "/212"), headers=signed_for_197, timeout=5)
    assert other.status_code == 401
    listing = aksk_headers(emulator, "GET", job_path(emulator, ""), [("page", "1")], at=clock())
    tampered = requests.get(emulator.url + job_path(emulator, "") + "?page=2", headers=listing, timeout=5)
    assert tampered.status_code == 401
    put = aksk_headers(emulator, "PUT", job_path(emulator), body=b'{"job_desc": "a"}', at=clock())
    changed = requests.put(
        emulator.url + job_path(emulator), headers=put, data=b'{"job_desc": "b"}', timeout=5
    )
    assert changed.status_code == 401
    assert emulator.get_job(197)["job_desc"] == "ModelArts API Dialtest"  # type: ignore[index]


@pytest.mark.parametrize("signed", [("content-type", "x-sdk-date"), ("content-type", "host")])
def test_aksk_must_sign_host_and_date(
    emulator: ModelArtsEmulator, clock: FakeClock, signed: tuple[str, ...]
) -> None:
    response = signed_request(emulator, "GET", job_path(emulator), at=clock(), signed_headers=signed)
    assert_gateway_error(response, 401, "APIG.0301", "verify aksk signature fail")


@pytest.mark.parametrize(
    "authorization",
    ["SDK-HMAC-SHA256 garbage", "SDK-HMAC-SHA256 Access=EMULATORACCESSKEY0001", "Bearer abc"],
)
def test_malformed_authorization(emulator: ModelArtsEmulator, authorization: str) -> None:
    response = requests.get(
        emulator.url + job_path(emulator), headers={"Authorization": authorization}, timeout=5
    )
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIG.0301"


def test_reference_vectors_from_huaweicloudsdkcore() -> None:
    """Vectors B, C and D of the API reference (§4c), computed by the official SDK, verify here."""
    project = "0123456789abcdef0123456789abcdef"
    credentials = EmulatorCredentials(
        access_key="AKIDEXAMPLE0000000001", secret_key="SKEXAMPLE0000000000000000000000000000001"
    )
    at_2024 = datetime.fromisoformat("2024-01-01T00:00:00+00:00").timestamp()
    em = ModelArtsEmulator(
        [{"job_id": 197, "job_name": "vector"}],
        project_id=project,
        credentials=credentials,
        clock=lambda: at_2024,
    )
    headers = {
        "Content-Type": "application/json",
        "Host": "modelarts.eu-de.otc.t-systems.com",
        "X-Project-Id": project,
        "X-Sdk-Date": "20240101T000000Z",
    }
    prefix = "SDK-HMAC-SHA256 Access=AKIDEXAMPLE0000000001, "
    prefix += "SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature="
    base = f"/v1/{project}/visualization-jobs"
    with em:
        vector_b = "13ab173d4ef1c4e85797d311e97cdae05b5166722f3f4badd4bb70da18fc50d6"
        response = requests.get(
            f"{em.url}{base}/197", headers={**headers, "Authorization": prefix + vector_b}, timeout=5
        )
        assert response.status_code == 200, response.text
        vector_c = "8d6ecb2e85b53d8f3a1bc1836a8d8b2a60ad2f93f64eb8231baf748bfe46f7b0"
        query = "order=asc&page=1&per_page=10&search_content=a%20b%2Fc&sortBy=job_id"
        response = requests.get(
            f"{em.url}{base}?{query}", headers={**headers, "Authorization": prefix + vector_c}, timeout=5
        )
        assert response.status_code == 200, response.text
        vector_d = "fb6befb3aa1797a8c83c931b87b84f0662f8527e72c0103f18a1194328387a52"
        response = requests.put(
            f"{em.url}{base}/197",
            headers={**headers, "Authorization": prefix + vector_d},
            data=b'{"job_desc": "This is a ModelArts job"}',
            timeout=5,
        )
        assert response.status_code == 200, response.text
        assert em.get_job(197)["job_desc"] == "This is a ModelArts job"  # type: ignore[index]


# -- IAM project lookup ---------------------------------------------------------------------------------


def test_projects_lookup_by_name_with_aksk(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    response = signed_request(emulator, "GET", "/v3/projects", [("name", "eu-de")], at=clock())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["projects"] == [
        {
            "id": emulator.project_id,
            "name": "eu-de",
            "domain_id": body["projects"][0]["domain_id"],
            "enabled": True,
            "is_domain": False,
            "parent_id": body["projects"][0]["domain_id"],
            "description": "",
        }
    ]
    assert body["links"] == {
        "self": f"{emulator.iam_url}/projects?name=eu-de",
        "next": None,
        "previous": None,
    }


def test_projects_lookup_with_token_and_duplicates(emulator: ModelArtsEmulator) -> None:
    emulator.add_project("eu-de", "d" * 32)
    session = requests.Session()
    session.headers["X-Auth-Token"] = emulator.issue_token()
    url = f"{emulator.iam_url}/projects"
    named = session.get(url, params={"name": "eu-de"}, timeout=5).json()["projects"]
    assert [p["id"] for p in named] == [emulator.project_id, "d" * 32]
    everything = session.get(url, timeout=5).json()["projects"]
    assert [p["name"] for p in everything] == ["eu-de", "MOS", "eu-de"]
    assert session.get(url, params={"name": "EU-DE"}, timeout=5).json()["projects"] == []
    with pytest.raises(ValueError, match="already exists"):
        emulator.add_project("again", "d" * 32)


def test_projects_lookup_needs_credentials(emulator: ModelArtsEmulator) -> None:
    response = requests.get(f"{emulator.iam_url}/projects", params={"name": "eu-de"}, timeout=5)
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIG.0301"
