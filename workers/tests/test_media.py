"""The README image prober: dimensions from the first bytes, and what it refuses."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ghsim.testing import SimulatorProcess, fault_seed
from workers.github import media
from workers.github.media import MediaRefused, probe_image


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess(seed=1) as process:
        yield process


@pytest.fixture(autouse=True)
def _reset(sim):
    sim.reset()


class _Redirector(BaseHTTPRequestHandler):
    """`/to?u=<url>` redirects there; `/loop` redirects to itself; `/text` is not an image."""

    hits = 0

    def do_GET(self):
        type(self).hits += 1
        if self.path.startswith("/to?u="):
            self.send_response(302)
            self.send_header("Location", self.path[len("/to?u=") :])
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(301)
            self.send_header("Location", "/loop")
            self.end_headers()
        else:
            body = b"hello, this is not an image at all\n" * 10
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector():
    _Redirector.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def first_hop_public(monkeypatch):
    """DNS stand-in: the first address checked counts as public, later ones as they are."""
    real = media._is_public
    seen = []

    def is_public(address):
        seen.append(address)
        return True if len(seen) == 1 else real(address)

    monkeypatch.setattr(media, "_is_public", is_public)
    return seen


def test_probe_reads_dimensions_of_a_simulator_png(sim, settings):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    info = probe_image(sim.web_url + "/_img/1200x630.png")
    assert (info.width, info.height, info.format) == (1200, 630, "PNG")
    assert info.final_url == sim.web_url + "/_img/1200x630.png"
    assert sim.stats()["by_kind"]["image"] == 1


def test_a_passing_failure_is_asked_again_within_the_probe(sim, settings):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    settings.GITHUB_RETRY_BACKOFF_SECONDS = 0.001
    sim.configure(faults={"error_rate": 0.5, "seed": fault_seed("xx."), "path_prefix": "/_img/"})
    info = probe_image(sim.web_url + "/_img/64x48.png")
    assert (info.width, info.height) == (64, 48)
    assert sim.stats()["faults"]["error"] == 2


@pytest.mark.parametrize(
    ("faults", "reason", "kind"),
    [
        ({"error_rate": 1.0, "error_status": 503}, "HTTP 503", "error"),
        ({"drop_rate": 1.0}, "fetch failed: ConnectionError", "drop"),
    ],
)
def test_a_host_that_keeps_failing_leaves_the_image_out(sim, settings, faults, reason, kind):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    settings.GITHUB_RETRY_BACKOFF_SECONDS = 0.001
    sim.configure(faults={**faults, "path_prefix": "/_img/"})
    with pytest.raises(MediaRefused, match=reason):
        probe_image(sim.web_url + "/_img/64x48.png")
    assert sim.stats()["faults"][kind] == 1 + settings.GITHUB_RETRIES


def test_a_missing_image_is_asked_once(sim, settings):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    with pytest.raises(MediaRefused, match="HTTP 404"):
        probe_image(sim.web_url + "/_img/not-an-image")
    assert sim.stats()["requests_total"] == 1


def test_private_addresses_are_refused_without_a_request(sim, settings):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = False
    for url in (
        sim.web_url + "/_img/10x10.png",
        "http://localhost/x.png",
        "http://10.0.0.8/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.png",
    ):
        with pytest.raises(MediaRefused, match="non-public"):
            probe_image(url)
    assert sim.stats()["by_kind"].get("image", 0) == 0


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.png", "file:///etc/passwd", "data:image/png;base64,AAAA", "x"]
)
def test_non_http_urls_are_refused(url):
    with pytest.raises(MediaRefused, match="http"):
        probe_image(url)


def test_redirect_to_a_private_address_is_refused(sim, settings, redirector, first_hop_public):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = False
    with pytest.raises(MediaRefused, match="non-public"):
        probe_image(f"{redirector}/to?u={sim.web_url}/_img/10x10.png")
    assert _Redirector.hits == 1
    assert sim.stats()["by_kind"].get("image", 0) == 0


def test_the_connection_goes_to_the_address_that_was_checked(sim, settings, monkeypatch):
    """No second DNS lookup: a name only our resolver knows still reaches its address."""
    settings.MEDIA_FETCH_ALLOW_PRIVATE = False
    monkeypatch.setattr(media, "_resolve", lambda host, port: ["127.0.0.1"])
    monkeypatch.setattr(media, "_is_public", lambda address: True)
    port = sim.web_url.rsplit(":", 1)[1]
    info = probe_image(f"http://images.gazer-test.invalid:{port}/_img/64x48.png")
    assert (info.width, info.height) == (64, 48)
    assert info.final_url == f"http://images.gazer-test.invalid:{port}/_img/64x48.png"


def test_redirects_are_followed_by_hand_and_bounded(sim, settings, redirector):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    info = probe_image(f"{redirector}/to?u={sim.web_url}/_img/300x200.png")
    assert (info.width, info.height) == (300, 200)
    assert info.final_url == sim.web_url + "/_img/300x200.png"
    with pytest.raises(MediaRefused, match="redirects"):
        probe_image(f"{redirector}/loop")
    assert _Redirector.hits == 1 + 6


def test_oversize_and_unreadable_are_refused(sim, settings, redirector):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    with pytest.raises(MediaRefused, match="cap"):
        probe_image(sim.web_url + "/_img/2000x2000.png", max_bytes=2_000)
    with pytest.raises(MediaRefused, match="readable"):
        probe_image(f"{redirector}/text")
    with pytest.raises(MediaRefused, match="HTTP 404"):
        probe_image(sim.web_url + "/no/such/image.png")


def test_avatar_and_svg_sizes(sim, settings):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = True
    avatar = probe_image(sim.web_url + "/_avatars/u/1000000")
    assert avatar.width > 0 and avatar.width == avatar.height
    assert media._svg_size(b'<svg xmlns="x" width="120" height="20">') == (120, 20)
    assert media._svg_size(b'<svg viewBox="0 0 64 32"></svg>') == (64, 32)


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.8",
        "::127.0.0.1",  # IPv4-compatible
        "::a9fe:a9fe",  # ::169.254.169.254
        "::ffff:0:7f00:1",  # IPv4-translated (SIIT)
        "64:ff9b::7f00:1",  # NAT64 well-known prefix
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::c0a8:101",  # 192.168.1.1
        "64:ff9b:1::a00:8",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:8::1",  # 6to4 of 10.0.0.8
        "2002:a9fe:a9fe::1",
        "2001:0:4136:e378:8000:63bf:8054:fefe",  # Teredo, client 127.171.1.1
        "2001:0:7f00:1:8000:63bf:3fff:fdd2",  # Teredo, server 127.0.0.1
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_not_public(address):
    assert not media._is_public(address)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("2002:808:808::1", True),
        ("2606:4700:4700::1111", True),
        ("8.8.8.8", True),
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("ff02::1", False),
    ],
)
def test_embedded_public_addresses_and_plain_ones_keep_their_verdict(address, public):
    assert media._is_public(address) is public


def test_embedded_ipv4_reads_every_form():
    import ipaddress

    def embedded(text):
        return [str(a) for a in media.embedded_ipv4(ipaddress.IPv6Address(text))]

    assert embedded("::ffff:1.2.3.4") == ["1.2.3.4"]
    assert embedded("::1.2.3.4") == ["1.2.3.4"]
    assert embedded("64:ff9b::1.2.3.4") == ["1.2.3.4"]
    assert embedded("2002:102:304::") == ["1.2.3.4"]
    assert embedded("2001:0:4136:e378:8000:63bf:3fff:fdd2") == ["65.54.227.120", "192.0.2.45"]
    assert embedded("2606:4700:4700::1111") == []


@pytest.mark.parametrize("host", ["[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "[::127.0.0.1]"])
def test_probe_refuses_urls_with_embedded_private_ipv4(host, settings):
    settings.MEDIA_FETCH_ALLOW_PRIVATE = False
    with pytest.raises(MediaRefused, match="non-public"):
        probe_image(f"http://{host}/x.png")
