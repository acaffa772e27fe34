"""Image prober for README media: dimensions from the first bytes, safely.

`probe_image(url)` refuses non-http(s) URLs and, unless `MEDIA_FETCH_ALLOW_PRIVATE` is
set, hosts that resolve to private, loopback, link-local or otherwise non-public
addresses (an IPv6 address that embeds an IPv4 one, e.g. NAT64 or 6to4, is judged by the
IPv4 address), checked before the first request and again on every redirect (followed by
hand, at most 5). It asks for the first 64 KB with a `Range` header and feeds them to
Pillow's incremental `ImageFile.Parser`, which needs only the header for most formats;
when that is not enough it reads on, bounded by `max_bytes` and a wall-clock deadline.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import os
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from PIL import Image, ImageFile
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
MAX_BYTES = 8 * 1024 * 1024
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 5
CHUNK = 16 * 1024
USER_AGENT = "Gazer/1.0 (image prober)"
_SVG_SIZE = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE | re.DOTALL)
_ATTR = re.compile(rb'\b(width|height|viewBox)\s*=\s*["\']([^"\']+)["\']', re.IGNORECASE)


class MediaRefused(Exception):
    """The URL was not fetched or not readable as an image (the message says why)."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    final_url: str


_sessions: dict[int, requests.Session] = {}
_sessions_lock = threading.Lock()


def _session() -> requests.Session:
    with _sessions_lock:
        session = _sessions.get(os.getpid())
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            adapter = HTTPAdapter(pool_maxsize=16, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _sessions[os.getpid()] = session
        return session


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [info[4][0] for info in infos]


# IPv6 prefixes whose low 32 bits are an IPv4 address a gateway delivers to.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291, deprecated
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)
# Local-use NAT64 (RFC 8215): the IPv4 address is split around reserved bits; never public.
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, compatible, translated,
    NAT64, 6to4, Teredo's server and client); empty when it embeds none."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:  # 2002::/16
        return [ip.sixtofour]
    if ip.teredo is not None:  # 2001::/32: (server, client)
        return list(ip.teredo)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED:
        return [low32]
    return []


def _is_public(address: str) -> bool:
    """A global unicast address; an IPv6 form of an IPv4 address is judged by that one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        embedded = embedded_ipv4(ip)
        if embedded:
            return all(_is_public(str(v4)) for v4 in embedded)
    return ip.is_global and not ip.is_multicast


class _PinnedHTTPSAdapter(HTTPAdapter):
    """HTTPS to a fixed IP while SNI and certificate checks use the URL's host name."""

    def __init__(self, server_hostname: str):
        self._server_hostname = server_hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["server_hostname"] = self._server_hostname
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


@dataclass(frozen=True)
class _Target:
    """Where one hop really connects: the checked address, not a second DNS answer."""

    url: str
    headers: dict[str, str]
    session: requests.Session


def _target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise MediaRefused(f"only http(s) URLs are fetched, not {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise MediaRefused("URL without a host")
    if parts.username or parts.password:
        raise MediaRefused("URLs with credentials are not fetched")
    if settings.MEDIA_FETCH_ALLOW_PRIVATE:
        return _Target(url, {}, _session())
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = _resolve(parts.hostname, port)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise MediaRefused(f"host {parts.hostname!r} does not resolve: {exc}") from None
    if not addresses or not all(_is_public(a) for a in addresses):
        raise MediaRefused(f"host {parts.hostname!r} resolves to a non-public address")
    # Connect to the address just checked (no second lookup a rebinding DNS could answer
    # differently); the Host header and TLS keep the name.
    address = addresses[0].split("%", 1)[0]
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.mount("http://", HTTPAdapter(max_retries=0))
    session.mount("https://", _PinnedHTTPSAdapter(parts.hostname))
    return _Target(pinned, {"Host": parts.netloc}, session)


def _svg_size(data: bytes) -> tuple[int, int] | None:
    tag = _SVG_SIZE.search(data[:HEAD_BYTES])
    if not tag:
        return None
    attrs = {k.lower(): v for k, v in _ATTR.findall(tag.group(0))}

    def number(raw: bytes | None) -> float | None:
        match = re.match(rb"\s*([0-9.]+)\s*(px)?\s*$", raw or b"")
        return float(match.group(1)) if match else None

    width, height = number(attrs.get(b"width")), number(attrs.get(b"height"))
    if (width is None or height is None) and attrs.get(b"viewbox"):
        box = re.split(rb"[\s,]+", attrs[b"viewbox"].strip())
        if len(box) == 4:
            width, height = float(box[2]), float(box[3])
    if width and height:
        return round(width), round(height)
    return None


def probe_image(
    url: str,
    *,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_SECONDS,
) -> ImageInfo:
    """Width, height and format of the image at `url`; MediaRefused otherwise."""
    deadline = time.monotonic() + timeout
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        target = _target(current)
        left = deadline - time.monotonic()
        if left <= 0:
            raise MediaRefused("time limit reached")
        headers = {
            **target.headers,
            "Range": f"bytes=0-{HEAD_BYTES - 1}",
            "Accept": "image/*,*/*;q=0.5",
        }
        resp = _get_retried(target, headers, deadline=deadline)
        with resp:
            if resp.is_redirect:
                location = resp.headers.get("Location")
                if not location:
                    raise MediaRefused("redirect without a Location")
                current = urljoin(current, location)
                continue
            if resp.status_code not in (200, 206):
                raise MediaRefused(f"HTTP {resp.status_code}")
            length = resp.headers.get("Content-Length")
            total = resp.headers.get("Content-Range", "").rpartition("/")[2]
            size = int(total) if total.isdigit() else (int(length) if length else None)
            if size is not None and size > max_bytes:
                raise MediaRefused(f"image is {size} bytes, above the {max_bytes} cap")
            info = _read_dimensions(resp, max_read=max_bytes, deadline=deadline)
            if info is None and resp.status_code == 206 and size and size > HEAD_BYTES:
                resp.close()
                info = _full_download(target, max_bytes=max_bytes, deadline=deadline)
            if info is None:
                raise MediaRefused("not a readable image")
            width, height, fmt = info
            return ImageInfo(width=width, height=height, format=fmt, final_url=current)
    raise MediaRefused(f"more than {MAX_REDIRECTS} redirects")


def _get_retried(target: _Target, headers: dict[str, str], *, deadline: float):
    """GET with the API's in-call rule for passing trouble: a 5xx, a dropped or refused
    connection or a timeout is asked again at most GITHUB_RETRIES times, about
    GITHUB_RETRY_BACKOFF_SECONDS × 3^n apart, within the probe's time limit. Then the
    image is left out, as one a host refuses."""
    retries = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise MediaRefused("time limit reached")
        try:
            resp = target.session.get(
                target.url,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(min(5.0, left), min(10.0, left)),
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            failure = f"fetch failed: {type(exc).__name__}"
        except requests.RequestException as exc:
            raise MediaRefused(f"fetch failed: {type(exc).__name__}") from None
        else:
            if resp.status_code < 500:
                return resp
            failure = f"HTTP {resp.status_code}"
            resp.close()
        wait = settings.GITHUB_RETRY_BACKOFF_SECONDS * 3**retries
        wait *= random.uniform(0.75, 1.25)  # noqa: S311 - jitter
        if retries >= settings.GITHUB_RETRIES or time.monotonic() + wait >= deadline:
            raise MediaRefused(failure)
        retries += 1
        time.sleep(wait)


def _read_dimensions(
    resp: requests.Response, *, max_read: int, deadline: float
) -> tuple[int, int, str] | None:
    """Feed the (ranged) body to Pillow's incremental parser until it knows the size."""
    parser = ImageFile.Parser()
    head = b""
    read = 0
    for chunk in resp.iter_content(CHUNK):
        if not chunk:
            continue
        read += len(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        try:
            parser.feed(chunk)
        except Exception:  # noqa: BLE001 - Pillow raises many kinds on junk; try SVG below
            break
        if parser.image is not None:
            return parser.image.size[0], parser.image.size[1], parser.image.format or "?"
        if read >= max_read:
            break
        if time.monotonic() > deadline:
            raise MediaRefused("time limit reached")
    svg = _svg_size(head)
    if svg:
        return svg[0], svg[1], "SVG"
    return None


def _full_download(
    target: _Target, *, max_bytes: int, deadline: float
) -> tuple[int, int, str] | None:
    """Fallback for formats whose size is not in the first bytes: a bounded full GET."""
    resp = _get_retried(target, target.headers, deadline=deadline)
    with resp:
        if resp.status_code != 200:
            return None
        data = bytearray()
        for chunk in resp.iter_content(CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise MediaRefused(f"image is above the {max_bytes} byte cap")
            if time.monotonic() > deadline:
                raise MediaRefused("time limit reached")
    try:
        with Image.open(io.BytesIO(bytes(data))) as img:
            return img.size[0], img.size[1], img.format or "?"
    except Exception:  # noqa: BLE001 - unreadable image
        return None


__all__ = ["ImageInfo", "MediaRefused", "probe_image"]
