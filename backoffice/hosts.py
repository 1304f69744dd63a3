"""The Host headers the app answers to: Flask's TRUSTED_HOSTS, with one exception for health probes.

Load balancers probe an app server by its IP address, and Prometheus scrapes each one by it, so their
Host header is that address. Such a request for /healthz or /metrics is answered as if sent to the
public host; any other request to an unknown host gets the 400 page (Flask checks TRUSTED_HOSTS before
routing).
"""

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PROBE_PATHS = frozenset({"/healthz", "/metrics"})


def init_app(app: Flask) -> None:
    if trusted := app.config["TRUSTED_HOSTS"]:
        app.wsgi_app = HealthProbeByAddress(app.wsgi_app, trusted[0])  # type: ignore[method-assign]


class HealthProbeByAddress:
    """WSGI middleware: a request for a probe path whose Host is an IP address is routed as `host`."""

    def __init__(self, wsgi_app: "WSGIApplication", host: str) -> None:
        self.wsgi_app = wsgi_app
        self.host = host

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in PROBE_PATHS and _is_address(environ.get("HTTP_HOST", "")):
            environ = {**environ, "HTTP_HOST": self.host}
        return self.wsgi_app(environ, start_response)


def _is_address(host: str) -> bool:
    name = host.rpartition("]")[0].lstrip("[") if host.startswith("[") else host.partition(":")[0]
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
