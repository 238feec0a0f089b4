"""Input validation: what is accepted, and one clear line for what is not."""

from __future__ import annotations

import pytest

from pulumi_modelarts.errors import InvalidInputError
from pulumi_modelarts.validation import (
    check_endpoint,
    check_identifier,
    check_job_name,
    is_loopback_host,
    parse_job_id,
    path_segment,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(197, 197), ("197", 197), (197.0, 197), ("0197", 197), (str(2**63 - 1), 2**63 - 1)],
)
def test_job_id_accepts_ints_integral_floats_and_digit_strings(value: object, expected: int) -> None:
    assert parse_job_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        0,
        -1,
        "0",
        "",
        " 197",
        "197 ",
        "1e3",
        "19.7",
        19.5,
        True,
        None,
        "../197",
        "197/..",
        "%2e%2e",
        "\uff11\uff19\uff17",  # fullwidth digits
        "1" * 20,
        2**63,
        str(2**63),
        "9" * 19,
        [197],
        "197;drop",
        "0x10",
        float("nan"),
        float("inf"),
    ],
)
def test_job_id_rejections_are_one_line(value: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_job_id(value)
    message = str(caught.value)
    assert "job_id must be a positive integer" in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["eu-de", "0123456789abcdef0123456789abcdef", "eu-de_sub", "MOS"])
def test_identifiers_accept_project_ids_and_names(value: str) -> None:
    assert check_identifier(value, field="project_id") == value


@pytest.mark.parametrize("value", ["", "..", "a/b", "a b", "p%2F", "é", "a" * 65, "a.b", 5])
def test_identifiers_reject_anything_path_like(value: object) -> None:
    with pytest.raises(InvalidInputError, match="project_id may only contain"):
        check_identifier(value, field="project_id")


def test_job_names() -> None:
    assert check_job_name("apiTest-11_x") == "apiTest-11_x"
    for bad in ("", "a b", "a/b", "x" * 65, "名字"):
        with pytest.raises(InvalidInputError, match="job_name"):
            check_job_name(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://modelarts.eu-de.otc.t-systems.com/", "https://modelarts.eu-de.otc.t-systems.com"),
        ("https://host:8443/prefix/v", "https://host:8443/prefix/v"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.5.6.7:1", "http://127.5.6.7:1"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:9", "http://[::1]:9"),
    ],
)
def test_endpoints_accepted(value: str, expected: str) -> None:
    assert check_endpoint(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("http://modelarts.eu-de.otc.t-systems.com", "https://"),
        ("http://10.0.0.1:80", "https://"),
        ("ftp://host", "URL such as"),
        ("https://user:pw@host", "credentials"),
        ("https://host/?a=1", "query"),
        ("https://host/#x", "query"),
        ("https://host/a/../b", "path"),
        ("https://host:99999", "not a valid URL"),
        ("https://ho st", "URL such as"),
        ("modelarts.eu-de.otc.t-systems.com", "URL such as"),
        ("", "URL such as"),
    ],
)
def test_endpoints_rejected(value: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment) as caught:
        check_endpoint(value)
    assert "\n" not in str(caught.value)


def test_loopback_detection() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("LOCALHOST")
    assert not is_loopback_host("128.0.0.1") and not is_loopback_host("localhost.evil.com")


@pytest.mark.parametrize("segment", ["..", ".", "a/b", "%2F", "?x", "#y", "a b", "é"])
def test_path_segments_can_never_change_the_path(segment: str) -> None:
    encoded = path_segment(segment)
    assert "/" not in encoded and "?" not in encoded and "#" not in encoded
    assert encoded not in (".", "..")
