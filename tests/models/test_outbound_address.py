"""Which webhook URLs and SMTP hosts may be saved: public hosts (over https, for webhooks),
whatever form a private address is written in; and what the operator's settings open up."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from models.outbound_address import (
    PRIVATE,
    OutboundPolicy,
    host_refusal,
    is_public,
    numeric_ipv4,
    resolved_refusal,
    url_refusal,
)
from runtime.settings import Settings

STRICT = OutboundPolicy()

FORBIDDEN = [
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("https://127.0.0.1:8000/hook", "127.0.0.1"),
    ("https://127.9.9.9/", "127.9.9.9"),
    ("https://localhost/hook", "localhost"),
    ("https://LocalHost./hook", "localhost"),
    ("https://api.localhost/hook", "api.localhost"),
    ("https://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal"),
    ("https://redis:6379/", "redis"),
    ("https://printer.local/", "printer.local"),
    ("https://10.0.0.1/", "10.0.0.1"),
    ("https://172.16.5.4/", "172.16.5.4"),
    ("https://192.168.1.1/", "192.168.1.1"),
    ("https://100.64.0.1/", "100.64.0.1"),
    ("https://100.100.100.200/", "100.100.100.200"),
    ("https://0.0.0.0/", "0.0.0.0"),
    ("https://0/", "0 is 0.0.0.0"),
    ("https://224.0.0.1/", "224.0.0.1"),
    ("https://240.0.0.1/", "240.0.0.1"),
    ("https://255.255.255.255/", "255.255.255.255"),
    ("https://2130706433/", "2130706433 is 127.0.0.1"),
    ("https://0x7f.1/", "0x7f.1 is 127.0.0.1"),
    ("https://0x7F000001/", "0x7f000001 is 127.0.0.1"),
    ("https://017700000001/", "017700000001 is 127.0.0.1"),
    ("https://0177.0.0.1/", "0177.0.0.1 is 127.0.0.1"),
    ("https://127.1/", "127.1 is 127.0.0.1"),
    ("https://10.1/", "10.1 is 10.0.0.1"),
    ("https://0xa9fea9fe/", "0xa9fea9fe is 169.254.169.254"),
    ("https://[::1]/", "::1"),
    ("https://[::]/", "::"),
    ("https://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is 127.0.0.1"),
    ("https://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe is 169.254.169.254"),
    ("https://[::ffff:10.0.0.1]:8443/", "::ffff:10.0.0.1 is 10.0.0.1"),
    ("https://[fc00::1]/", "fc00::1"),
    ("https://[fd00:ec2::254]/", "fd00:ec2::254"),
    ("https://[fe80::1]/", "fe80::1"),
    ("https://[fe80::1%25eth0]/", "fe80::1%25eth0"),
    ("https://[fec0::1]/", "fec0::1"),
    ("https://[ff02::1]/", "ff02::1"),
    ("https://[2002:7f00:1::]/", "2002:7f00:1:: is 127.0.0.1"),
    ("https://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe is 169.254.169.254"),
    ("https://[::7f00:1]/", "::7f00:1"),
]
"""Each URL, and what its refusal names: the host, and the address it means when written in
another form."""

PUBLIC = [
    "https://hooks.example.com/partnerflow",
    "https://hooks.example.com:8443/p?x=1",
    "https://93.184.215.14/hook",
    "https://[2606:4700::1111]/hook",
    "https://[::ffff:93.184.215.14]/hook",
    "https://1e100.net/",
    "https://127.0.0.1.example.com/",  # a name: its addresses are checked at delivery
]


@pytest.mark.parametrize(("url", "named"), FORBIDDEN)
def test_a_private_or_local_host_is_refused_in_every_form(url: str, named: str):
    assert url_refusal(url, STRICT) == f"{PRIVATE} ({named})"


@pytest.mark.parametrize("url", PUBLIC)
def test_a_public_host_over_https_is_allowed(url: str):
    assert url_refusal(url, STRICT) is None


def test_plain_http_only_where_the_operator_allows_it():
    assert url_refusal("http://hooks.example.com/", STRICT) == (
        "must be an https:// URL: plain http:// is not allowed"
    )
    assert url_refusal("http://hooks.example.com/", OutboundPolicy(allow_http=True)) is None
    assert (
        url_refusal("http://127.0.0.1/", OutboundPolicy(allow_http=True))
        == f"{PRIVATE} (127.0.0.1)"
    )
    assert url_refusal("ftp://hooks.example.com/", OutboundPolicy(allow_http=True)) == (
        "must be an https:// URL"
    )


def test_the_allowed_hosts_are_names_addresses_in_any_form_and_networks():
    policy = OutboundPolicy.of(
        False, ["LocalHost", " 127.0.0.1 ", "", "10.0.0.0/8", "::1", "0x7f.2"]
    )
    for url in (
        "https://localhost:8000/h",
        "https://127.0.0.1/h",
        "https://2130706433/h",
        "https://[::ffff:127.0.0.1]/h",
        "https://10.20.30.40/h",
        "https://[::1]/h",
        "https://127.0.0.2/h",
    ):
        assert url_refusal(url, policy) is None, url
    for url in ("https://127.0.0.3/h", "https://192.168.0.1/h", "https://api.localhost/h"):
        assert url_refusal(url, policy) is not None, url


def test_a_resolved_address_is_allowed_by_the_name_or_by_the_address():
    loopback = ipaddress.ip_address("127.0.0.1")
    assert resolved_refusal("hooks.example.com", loopback, STRICT) == (
        f"{PRIVATE} (hooks.example.com resolves to 127.0.0.1)"
    )
    assert (
        resolved_refusal(
            "hooks.example.com", loopback, OutboundPolicy.of(False, ["hooks.example.com"])
        )
        is None
    )
    assert (
        resolved_refusal("hooks.example.com", loopback, OutboundPolicy.of(False, ["127.0.0.0/8"]))
        is None
    )
    mapped = ipaddress.ip_address("::ffff:10.0.0.7")
    assert resolved_refusal("h.example.com", mapped, STRICT) == (
        f"{PRIVATE} (h.example.com resolves to 10.0.0.7)"
    )


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0300.0250.0.1", "192.168.0.1"),
        ("1.2.3.4", "1.2.3.4"),
        ("4294967295", "255.255.255.255"),
    ],
)
def test_hosts_written_as_numbers_are_read_as_the_c_resolver_reads_them(host: str, address: str):
    assert numeric_ipv4(host) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize(
    "host", ["4294967296", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "08.1.1.1", "0x", "a.b", ""]
)
def test_other_hosts_are_not_numbers(host: str):
    assert numeric_ipv4(host) is None


def test_public_means_reachable_on_the_internet():
    assert is_public(ipaddress.ip_address("93.184.215.14"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))
    assert not is_public(ipaddress.ip_address("192.0.0.192"))
    assert not is_public(ipaddress.ip_address("198.18.0.1"))


def test_the_settings_read_the_operators_variables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PARTNERFLOW_WEBHOOK_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS", raising=False)
    assert Settings().webhook_policy() == STRICT
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS", "localhost,127.0.0.1,fd00::/8")
    policy = Settings().webhook_policy()
    assert policy.allow_http and policy.allowed_names == {"localhost"}
    assert [str(n) for n in policy.allowed_networks] == ["127.0.0.1/32", "fd00::/8"]
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS", "localhost,not a host")
    with pytest.raises(ValidationError, match="'not a host' is not a host name"):
        Settings()


def test_each_channel_has_its_own_allowance(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PARTNERFLOW_SMTP_ALLOWED_HOSTS", raising=False)
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    assert Settings().smtp_policy() == STRICT, "a webhook exemption opens no mail server"
    monkeypatch.delenv("PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS")
    monkeypatch.setenv("PARTNERFLOW_SMTP_ALLOWED_HOSTS", " MailHog ,127.0.0.0/8")
    smtp, webhook = Settings().smtp_policy(), Settings().webhook_policy()
    assert smtp == OutboundPolicy.of(False, ["mailhog", "127.0.0.0/8"])
    assert not smtp.allow_http, "plain http is a webhook setting"
    assert (webhook.allowed_names, webhook.allowed_networks) == (frozenset(), ())
    assert host_refusal("mailhog", smtp) is None and host_refusal("0x7f.1", smtp) is None
    assert host_refusal("mailhog", STRICT) == f"{PRIVATE} (mailhog)"
    monkeypatch.setenv("PARTNERFLOW_SMTP_ALLOWED_HOSTS", "smtp://mail")
    with pytest.raises(ValidationError, match="'smtp://mail' is not a host name"):
        Settings()
