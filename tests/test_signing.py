"""SDK-HMAC-SHA256: the reference vectors, and huaweicloudsdkcore's signer as an oracle."""

from __future__ import annotations

import string
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from functools import partial
from typing import Any
from unittest import mock
from urllib.parse import unquote, urlsplit

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from hypothesis import HealthCheck, given, settings, strategies as st

from pulumi_modelarts import signing
from pulumi_modelarts.auth import AkSkAuth
from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import ModelArtsEmulator
from pulumi_modelarts.emulator.wire import MAX_SKEW_SECONDS, parse_authorization, verify
from pulumi_modelarts.settings import SecretStr, Settings

AK = "AKIDEXAMPLE0000000001"
SK = "SKEXAMPLE0000000000000000000000000000001"
PROJECT = "0123456789abcdef0123456789abcdef"
HOST = "modelarts.eu-de.otc.t-systems.com"
DATE = "20240101T000000Z"
DETAILS = f"/v1/{PROJECT}/visualization-jobs/197"
BASE_HEADERS = {"Content-Type": "application/json", "Host": HOST, "X-Sdk-Date": DATE}
WITH_PROJECT = {**BASE_HEADERS, "X-Project-Id": PROJECT}
Query = list[tuple[str, str]]
LISTING = [("per_page", "10"), ("page", "1"), ("order", "asc"), ("sortBy", "job_id")]
LISTING += [("search_content", "a b/c")]
#: The reference vectors (modelarts-api notes): name -> request, hash of its canonical request, signature.
REQUESTS = {
    "A": ("GET", DETAILS, [], BASE_HEADERS, b""),
    "B": ("GET", DETAILS, [], WITH_PROJECT, b""),
    "C": ("GET", f"/v1/{PROJECT}/visualization-jobs", LISTING, WITH_PROJECT, b""),
    "D": ("PUT", DETAILS, [], WITH_PROJECT, b'{"job_desc": "This is a ModelArts job"}'),
    "E": ("GET", DETAILS, [], {**WITH_PROJECT, "X-Security-Token": "EXAMPLESECURITYTOKEN"}, b""),
}
CANONICAL_HASHES = {
    "A": "908152c7a66dc37f21f6284ff8da574f105d445e0ab391ce61506f15016ca869",
    "B": "ef88446df6146dc2a29920b756bca4b3025d9bf617bff8f566dc774ca9333477",
    "C": "af6094e1352e0a046a2dc61836b7d2575d57e0470a883686a8489f5ba0b27cf9",
    "D": "8b1f37767d26c74b43223f5a4ff7f7837daf0b898334a9f5672f72dc6f27eb72",
    "E": "df67f8f43c78991d988c31ddfa90bc0b38ec4ae1edb1ee6117e1175c2bce8d86",
}
SIGNATURES = {
    "A": "0873a8cd18c1a5e59aacb8b1dd4387f2a108eb79f7821e960821bbb2d8907f3c",
    "B": "13ab173d4ef1c4e85797d311e97cdae05b5166722f3f4badd4bb70da18fc50d6",
    "C": "8d6ecb2e85b53d8f3a1bc1836a8d8b2a60ad2f93f64eb8231baf748bfe46f7b0",
    "D": "fb6befb3aa1797a8c83c931b87b84f0662f8527e72c0103f18a1194328387a52",
    "E": "9f77a66366d30015f440dfa040307e29eb8627ea7573217c740bf5badc12bbfe",
}


@pytest.mark.parametrize("name", REQUESTS)
def test_reference_vectors(name: str) -> None:
    method, path, query, headers, body = REQUESTS[name]
    names = signing.signable_header_names(headers)
    canonical = signing.canonical_request(method, path, query, headers, names, body)
    assert signing.string_to_sign(canonical, DATE).split("\n")[2] == CANONICAL_HASHES[name]
    expected = f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={';'.join(names)}, Signature={SIGNATURES[name]}"
    assert sign(method, path, query, headers, body) == expected


def test_vector_c_query_is_also_the_query_sent() -> None:
    expected = "order=asc&page=1&per_page=10&search_content=a%20b%2Fc&sortBy=job_id"
    assert signing.canonical_query(LISTING) == expected


def test_parse_authorization_and_verify_detect_tampering() -> None:
    parsed = parse_authorization(sign("GET", DETAILS, [], WITH_PROJECT, b""))
    assert parsed is not None and parsed.access_key == AK
    assert parsed.signed_headers == ("content-type", "host", "x-project-id", "x-sdk-date")
    check = partial(verify, method="GET", query=[], body=b"", secret_key=SK, authorization=parsed)
    assert check(path=DETAILS, headers=WITH_PROJECT)
    assert not check(path=DETAILS.replace("197", "198"), headers=WITH_PROJECT)
    assert not check(path=DETAILS, headers={**WITH_PROJECT, "X-Project-Id": "other"})
    assert not check(path=DETAILS, headers=WITH_PROJECT, secret_key=SK + "x")
    assert parse_authorization("Bearer abc") is None
    assert parse_authorization("SDK-HMAC-SHA256 Access=a") is None
    assert parse_authorization("SDK-HMAC-SHA256 garbage") is None


def sign(method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> str:
    return signing.sign(
        method=method, path=path, query=query, headers=headers, body=body, access_key=AK, secret_key=SK
    )


def oracle(method: str, path: str, query: Query, headers: dict[str, str], body: bytes, **more: Any) -> str:
    """huaweicloudsdkcore's signature of the same request (``token``, ``project`` if given)."""
    credentials = BasicCredentials(AK, SK, more.get("project"))
    credentials = credentials.with_security_token(more["token"]) if more.get("token") else credentials
    fields = {"query_params": list(query), "header_params": dict(headers), "body": body or None}
    request = SdkRequest(method, "https", HOST, path, **fields)
    return str(credentials.sign_request(request).header_params["Authorization"])


TEXT = st.characters(exclude_categories=["Cs"])
PATHS = st.lists(st.text(TEXT.filter(lambda c: c not in "/?#"), max_size=12), min_size=1, max_size=5)
QUERIES = st.lists(st.tuples(st.text(TEXT, min_size=1, max_size=10), st.text(TEXT, max_size=10)), max_size=5)
RESERVED = {"host", "x-sdk-date", "content-type", "authorization", "x-project-id", "x-security-token"}
HEADER_NAMES = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
HEADER_NAMES = HEADER_NAMES.filter(lambda name: name.lower() not in {*RESERVED, "x-sdk-content-sha256"})
HEADER_VALUES = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
BODIES = st.one_of(st.just(b""), st.binary(max_size=64), st.text(max_size=40).map(str.encode))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=METHODS,
    parts=PATHS,
    query=QUERIES,
    extra=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4),
    body=BODIES,
    content_type=st.sampled_from(["application/json", "application/json;charset=UTF-8", "application/bson"]),
)
def test_pure_signer_matches_huaweicloudsdkcore(
    method: str, parts: list[str], query: Query, extra: dict[str, str], body: bytes, content_type: str
) -> None:
    first = {name.lower(): name for name in reversed(extra)}  # one of each name, case aside
    headers = {name: extra[name] for name in first.values()}
    headers |= {"Content-Type": content_type, "Host": HOST, "X-Sdk-Date": DATE}
    path = "/" + "/".join(parts)
    assert sign(method, path, query, headers, body) == oracle(method, path, query, headers, body)


@settings(max_examples=200, deadline=None)
@given(
    method=METHODS,
    parts=PATHS,
    query=QUERIES,
    body=BODIES,
    project=st.one_of(st.none(), st.just(PROJECT)),
    token=st.one_of(st.none(), st.text(string.ascii_letters + string.digits, min_size=1, max_size=30)),
)
def test_requests_auth_matches_huaweicloudsdkcore(
    method: str, parts: list[str], query: Query, body: bytes, project: str | None, token: str | None
) -> None:
    url = f"https://{HOST}/" + "/".join(parts)
    prepared = requests.Request(method, url, params=query, data=body or None).prepare()
    prepared.headers["Content-Type"] = "application/json"
    security_token = SecretStr(token) if token else None
    auth = AkSkAuth(SecretStr(AK), SecretStr(SK), security_token=security_token, project_id=project)
    with mock.patch.object(signing, "format_sdk_date", return_value=DATE):
        signed = auth(prepared)
    sent = urlsplit(signed.url or "")
    pairs = [pair.split("=", 1) for pair in sent.query.split("&")] if sent.query else []
    decoded = [(unquote(key), unquote(value)) for key, value in pairs]
    assert sorted(decoded) == sorted(query)  # nothing lost or altered on the way
    headers = {"Content-Type": "application/json", "Host": HOST, "X-Sdk-Date": DATE}
    expected = oracle(method, sent.path, decoded, headers, body, token=token, project=project)
    assert (signed.headers["Authorization"], signed.headers["Host"]) == (expected, HOST)
    # What is sent is exactly the canonical query string, so a server recomputes the same value.
    assert sent.query == signing.canonical_query(sorted(decoded))


@pytest.mark.parametrize(
    "moments",
    [
        (1704067199.0, 1704067199.999, 1704067200.0, 1704067200.5),  # a new year at midnight
        (1709164800.25, 1709164801.0, 1709164799.75),  # 29 February, and a clock stepped back
        (0.0, 4102444800.0),  # the epoch, then 2100
    ],
)
def test_the_sdk_date_is_always_the_current_second_in_utc(
    moments: tuple[float, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The date is formatted once per second and reused within it; never a stale second."""
    for moment in moments:
        monkeypatch.setattr("pulumi_modelarts.signing.time.time", lambda moment=moment: moment)
        expected = datetime.fromtimestamp(int(moment), timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        assert signing.format_sdk_date() == expected


ODD_TEXT = st.sampled_from([" ", "+", "/", "~", "*", "%", "&", "=", "%20", "\u540d\u524d", "\U0001f600", ""])
ODD_QUERIES = st.lists(
    st.tuples(
        st.sampled_from(["search_content", "sortBy", "sort_by", "order", "status", "page"]),
        st.lists(ODD_TEXT | st.text(TEXT, max_size=6), max_size=3).map("".join),
    ),
    max_size=5,
)


@pytest.fixture(scope="module")
def verifier() -> Iterator[tuple[ModelArtsEmulator, AkSkAuth, requests.Session]]:
    with ModelArtsEmulator() as emulator, requests.Session() as session:
        session.trust_env = False  # loopback, whatever proxy the environment names
        keys = (SecretStr(emulator.credentials.access_key), SecretStr(emulator.credentials.secret_key))
        yield emulator, AkSkAuth(*keys, project_id=emulator.project_id), session


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=ODD_QUERIES)
def test_the_emulator_accepts_every_list_query_the_client_signs_and_no_query_changed_after(
    query: Query, verifier: tuple[ModelArtsEmulator, AkSkAuth, requests.Session]
) -> None:
    emulator, auth, session = verifier
    url = f"{emulator.url}/v1/{emulator.project_id}/visualization-jobs"
    signed = session.prepare_request(requests.Request("GET", url, params=query, auth=auth))
    assert session.send(signed, timeout=5).status_code in (200, 400)  # a bad parameter, never a bad signature
    changed = signed.copy()
    changed.url = f"{signed.url}{'&' if '?' in (signed.url or '') else '?'}page=2"
    assert session.send(changed, timeout=5).status_code == 401


#: Each signed call, the route it sends to the emulator (``iam_projects``: a project looked up).
SIGNED_CALLS: dict[str, tuple[str, Callable[[ModelArtsClient], object]]] = {
    "get": ("get_job", lambda client: client.get_visualization_job(197)),
    "list": ("list_jobs", lambda client: list(client.list_visualization_jobs(search_content="a b/\xe4+"))),
    "find": ("list_jobs", lambda client: client.find_visualization_job("apiTest-11")),
    "project lookup": ("iam_projects", lambda client: client.project_id),
}


@pytest.mark.parametrize("token", [None, "TEMPORARYSECURITYTOKEN"], ids=["aksk", "temporary aksk"])
@pytest.mark.parametrize("call", SIGNED_CALLS)
def test_a_retry_later_than_the_gateway_takes_a_signature_is_signed_again(
    call: str, token: str | None, emulator: ModelArtsEmulator
) -> None:
    """A call's retries resend its request as signed: after 15 minutes of them (a long
    modelarts:timeout) the gateway refuses its date, which no key or clock of the user's explains."""
    route, read = SIGNED_CALLS[call]
    emulator.inject_fault(route, status=503, retry_after=1)  # the first attempt: its retry waits a second
    began = [time.time() - MAX_SKEW_SECONDS]  # the call's first signature, 15 minutes ago; then now

    def dated() -> str:
        return time.strftime(signing.DATE_FORMAT, time.gmtime(began.pop() if began else time.time()))

    environ = emulator.environ(include_project=route != "iam_projects")
    environ |= {"HW_SECURITY_TOKEN": token} if token else {}
    with (
        ModelArtsClient(Settings.from_sources(environ=environ)) as client,
        mock.patch.object(signing, "format_sdk_date", dated),
    ):
        read(client)
    statuses = [record.status for record in emulator.requests if record.route == route]
    assert statuses[:3] == [503, 401, 200]  # the stale signature refused, the request signed again
