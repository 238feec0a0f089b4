"""Input validation: what is accepted, and one clear line for what is not."""

from __future__ import annotations

import re
from collections.abc import Callable

import pulumi
import pytest

from pulumi_modelarts.errors import InvalidInputError
from pulumi_modelarts.outputs import JobStatus
from pulumi_modelarts.validation import (
    check_endpoint,
    check_name,
    check_search,
    check_target,
    is_loopback_host,
    parse_job_id,
    parse_whole_number,
    path_segment,
)

MAX = 2**53 - 1  # 9007199254740991: the largest whole number a float carries exactly
#: Refused job IDs, by why: out of range, not plain decimal digits, not a number at all, path-like.
OUT_OF_RANGE = [0, -1, 0.0, "0", MAX + 1, str(MAX + 1), float(MAX + 1), 2**63 - 1, str(2**63 - 1)]
OUT_OF_RANGE += [1.152921504606847e18]
NOT_DIGITS = ["", " 197", "197 ", "\t197\n", "1e3", "19.7", "197.0", 19.5, -197.0, "1" * 20, "9" * 19]
NOT_DIGITS += ["0x10", "\uff11\uff19\uff17", "\u0661\u0669\u0667"]  # hex, fullwidth, Arabic-Indic
NOT_NUMBERS = [True, False, None, [197], b"197", float("nan"), float("inf"), float("-inf")]
PATH_LIKE = ["../197", "197/..", "%2e%2e", "197;drop"]
ACCEPTED = [(197, 197), ("197", 197), (197.0, 197), ("0197", 197), (JobStatus.RUNNING, 8)]  # 197.0: a float
ACCEPTED += [(MAX, MAX), (float(MAX), MAX), (str(MAX), MAX)]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED)
def test_job_id_accepts_ints_integral_floats_and_digit_strings(value: object, expected: int) -> None:
    assert parse_job_id(value) == expected and type(parse_job_id(value)) is int


@pytest.mark.parametrize("value", [*OUT_OF_RANGE, *NOT_DIGITS, *NOT_NUMBERS, *PATH_LIKE])
def test_job_id_rejections_name_the_real_rule_in_one_line(value: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_job_id(value)
    assert str(caught.value).startswith(f"job_id must be a whole number from 1 to {MAX}, got ")
    assert "\n" not in str(caught.value)


WHOLE = [(0, 0), (8, 8), (8.0, 8), ("22", 22), (JobStatus.KILLED, 12)]


@pytest.mark.parametrize(("value", "expected"), WHOLE)
def test_other_integer_inputs_follow_the_same_rule(value: object, expected: int) -> None:
    assert parse_whole_number(value, field="status") == expected


@pytest.mark.parametrize("value", [8.5, -1, -1.0, "8.0", " 8", True, float("nan"), MAX + 1, "RUNNING"])
def test_other_integer_inputs_are_refused_with_the_same_wording(value: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_whole_number(value, field="status")
    assert str(caught.value).startswith(f"status must be a whole number from 0 to {MAX}, got ")


@pytest.mark.parametrize("value", ["eu-de", "0123456789abcdef0123456789abcdef", "eu-de_sub", "MOS", "a" * 64])
def test_names_accept_project_ids_and_names(value: str) -> None:
    assert check_name(value, field="project_id") == value


@pytest.mark.parametrize("value", ["", "..", "a/b", "a b", "p%2F", "é", "名字", "a" * 65, "a.b", 5])
def test_names_reject_anything_path_like(value: object) -> None:
    with pytest.raises(InvalidInputError, match="job_name may only contain"):
        check_name(value, field="job_name")


@pytest.mark.parametrize(("value", "kind"), [(5, "int"), (5.0, "float"), (b"board", "bytes")])
def test_a_name_or_search_that_is_no_text_is_refused_naming_its_type(value: object, kind: str) -> None:
    """Not "may only contain ... digits, got 5": 5 holds digits alone; what is wrong is its type."""
    with pytest.raises(InvalidInputError, match=f"got {kind} {re.escape(repr(value))}$"):
        check_name(value, field="region")
    with pytest.raises(InvalidInputError, match=f"got {kind} {re.escape(repr(value))}$"):
        check_search(value)


ENDPOINTS = ["https://host:8443/prefix/v", "http://127.0.0.1:8080", "http://127.5.6.7:1"]
ENDPOINTS += ["http://localhost:9"]
NOT_URLS = ["ftp://host", "https://ho st", "modelarts.eu-de.otc.t-systems.com", ""]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://modelarts.eu-de.otc.t-systems.com/", "https://modelarts.eu-de.otc.t-systems.com"),
        *((url, url) for url in [*ENDPOINTS, "http://[::1]:9"]),
        # One place, one spelling: scheme and host in any case, a default or zero-padded port, slashes.
        *((url, "https://host.example") for url in ["https://Host.Example/", "HTTPS://host.example//"]),
        *((url, "https://host.example") for url in ["https://host.example:443", "https://host.example:"]),
        ("https://HOST.example:08443/Prefix/v1/", "https://host.example:8443/Prefix/v1"),
        ("http://LocalHost:80/", "http://localhost"),
        *((url, "https://[2001:db8::1]:8443") for url in ["https://[2001:DB8:0:0::1]:8443/"]),
        ("https://[2001:db8::1]:443", "https://[2001:db8::1]"),
        ("http://[0:0:0:0:0:0:0:1]:9", "http://[::1]:9"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        # A fully qualified name's final dot (the DNS root) is no other place.
        ("https://host.example.:8443/", "https://host.example:8443"),
        ("https://Host.Example.", "https://host.example"),
        ("http://localhost.:9", "http://localhost:9"),
        ("https://10.0.0.1.", "https://10.0.0.1"),
        *(
            (url, url)
            for url in [f"https://{'a' * 63}.example", f"https://{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 61}"]
        ),
    ],
)
def test_endpoints_accepted(value: str, expected: str) -> None:
    assert check_endpoint(value) == expected


#: Host names a resolver reads as IPv4 addresses in forms that differ between resolvers, and a
#: non-ASCII name whose xn-- form depends on the IDNA version used.
AMBIGUOUS_HOSTS = [
    "127.1",
    "010.0.0.1",
    "2130706433",
    "0x7f.1",
    "host.example.0x10",
    "host.123",
    "bücher.example",
]


@pytest.mark.parametrize("host", AMBIGUOUS_HOSTS)
def test_a_host_read_in_more_than_one_way_is_refused_in_one_line(host: str) -> None:
    with pytest.raises(InvalidInputError, match="must be a URL such as https://host") as caught:
        check_endpoint(f"https://{host}/")
    assert "\n" not in str(caught.value) and "four decimal numbers" in str(caught.value)
    assert "xn--" in str(caught.value)


#: Endpoints refused for what they lack, and the hint each gets: the scheme, a host name every resolver
#: reads alike, or none (a bare "." is no name; a wrong scheme is named in the message itself).
HINTS = {
    "modelarts.eu-de.otc.t-systems.com": "Write the scheme and host",
    "https:modelarts.example.com": "Write the scheme and host",
    "https:/modelarts.example.com": "Write the scheme and host",
    "//modelarts.example.com": "Write the scheme and host",
    "https://host..example": None,
    "https://.": None,
    "ftp://host.example": None,
    "https://b\u00fccher.example": "xn--",
    "https://127.1": "four decimal numbers",
}


@pytest.mark.parametrize(("value", "hint"), HINTS.items(), ids=list(HINTS))
def test_a_refused_endpoint_gets_the_hint_for_what_it_lacks(value: str, hint: str | None) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_endpoint(value)
    if hint is None:
        assert caught.value.hint == ""
    else:
        assert hint in caught.value.hint
    assert ("xn--" in caught.value.hint) == (hint in ("xn--", "four decimal numbers"))


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        *(("region", region, "eu-de") for region in ["EU-DE", "Eu-De", "eu-de"]),
        ("project_id", "6F0C1B1F2A3D4E5F8A9B0C1D2E3F4A5B", "6f0c1b1f2a3d4e5f8a9b0c1d2e3f4a5b"),
        ("project_id", "MyProject", "MyProject"),  # not an ID as IAM issues them: as given
        ("project_name", "EU-DE_Sub", "EU-DE_Sub"),
        *(("job_id", job_id, 197) for job_id in ["0197", 197.0, "197"]),
        # A gateway's prefix holding a version is no API path the package appends.
        *(
            ("endpoint", url, url)
            for url in ["https://gw.example/api/v1/modelarts", "https://gw.example/v1x"]
        ),
        *(
            ("auth_url", url, url)
            for url in ["https://iam.example/identity/V3", "https://gw.example/api/v1/iam"]
        ),
    ],
)
def test_a_value_naming_the_job_or_its_place_has_one_spelling(
    name: str, value: object, expected: object
) -> None:
    assert check_target(name, value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        *((url, "https://") for url in ["http://modelarts.eu-de.otc.t-systems.com", "http://10.0.0.1:80"]),
        *((url, "URL such as") for url in NOT_URLS),
        *((url, "query") for url in ["https://host/?a=1", "https://host/#x"]),
        ("https://user:pw@host", "credentials"),
        (f"https://host/{'a' * 2036}", "URL of at most 2048 characters, got 2049$"),
        (f"https://user:pw@host/{'a' * 5000}", "URL of at most 2048 characters, got 5021$"),
        ("https://host/a/../b", "path"),
        *((url, "port") for url in ["https://host:99999", "https://host:+80", "https://host:\uff18\uff10"]),
        *((url, "port") for url in ["https://host:0", "https://host:00/"]),
        *((url, "URL such as") for url in ["https://host..", "https://.", "https://host..example"]),
        # DNS's bounds: no resolver looks up a label over 63 characters or a name over 253.
        *(
            (url, "each part between its dots at most 63")
            for url in [f"https://{'a' * 64}.example", f"https://{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 62}"]
        ),
    ],
)
def test_endpoints_rejected(value: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment) as caught:
        check_endpoint(value)
    assert "\n" not in str(caught.value)


def test_loopback_detection() -> None:
    assert all(is_loopback_host(host) for host in ("127.0.0.1", "::1", "LOCALHOST"))
    assert not any(is_loopback_host(host) for host in ("128.0.0.1", "localhost.evil.com"))


MAPPED_LOOPBACK = ["::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "::FFFF:7f00:1", "0:0:0:0:0:ffff:127.9.9.9"]


@pytest.mark.parametrize("host", MAPPED_LOOPBACK)
def test_an_ipv4_mapped_loopback_is_refused_over_plain_http_on_every_python(host: str) -> None:
    """As the README lists them (127.0.0.0/8, ::1, localhost): Python 3.13's ``is_loopback`` also
    counts IPv4-mapped ones, which 3.10 to 3.12 refuse, so a URL worked on some Pythons only."""
    assert not is_loopback_host(host)
    with pytest.raises(InvalidInputError, match="must use https://"):
        check_endpoint(f"http://[{host.strip('[]')}]:9")


@pytest.mark.parametrize("segment", ["..", ".", "a/b", "%2F", "?x", "#y", "a b", "é"])
def test_path_segments_can_never_change_the_path(segment: str) -> None:
    encoded = path_segment(segment)
    assert not {"/", "?", "#"} & set(encoded) and encoded not in (".", "..")


@pytest.mark.parametrize("value", [object(), pulumi.ResourceOptions(protect=True), pulumi.InvokeOptions()])
def test_an_object_shown_by_its_address_is_shown_by_its_type(value: object) -> None:
    """``VisualizationJob(name, opts)`` gives options as the job ID: the refusal names what was given,
    the same on every run, not an address cut short (``<pulumi.resource.ResourceOptions object at 0x...``)."""
    shown = f"<{type(value).__name__} object>"
    checks: list[Callable[[object], object]] = [
        parse_job_id,
        check_endpoint,
        lambda value: check_name(value, field="region"),
        check_search,
    ]
    for check in checks:
        with pytest.raises(InvalidInputError) as caught:
            check(value)
        assert str(caught.value).split(", got ", 1)[1].startswith(shown), str(caught.value)
        assert "0x" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (10**400, "1" + "0" * 44 + "..."),
        ("x" * 100, "'" + "x" * 44 + "...'"),
        ('"' + "x" * 100, "'\"" + "x" * 43 + "...'"),
        (b"1" * 100, "b'" + "1" * 43 + "...'"),
        ([197] * 30, "[" + "197, " * 8 + "197,..."),
    ],
    ids=["huge number", "text", "text with a quote", "bytes", "list"],
)
def test_a_long_value_is_shown_cut_short_as_written(value: object, shown: str) -> None:
    """The first 45 characters of what was given, and a closing quote only where the value has one."""
    with pytest.raises(InvalidInputError) as caught:
        parse_job_id(value)
    assert str(caught.value).split(", got ", 1)[1].split(". Use ", 1)[0] == shown
