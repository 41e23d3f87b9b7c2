"""nginx in front of ``cpbkg serve`` replicas: the one configuration the docs show, the replica test
and the bench run, printed by ``cpbkg nginx-conf`` (docs/operations.md, "Deployment").

The choices it makes, and why:

* ``proxy_next_upstream error timeout http_502 http_503 non_idempotent``: a replica that refuses
  the connection (stopped), resets it (stopping), times out, or answers 502/503 (draining, a query
  worker killed) hands the request to the next one. ``non_idempotent`` because ``POST /sparql`` is
  a query, safe to repeat; ``/admin/`` is therefore not proxied (``403``).
* ``max_fails=1 fail_timeout=2s``: open-source nginx has passive checks only; a replica that failed
  once is skipped for 2 s, then tried again with a real request.
* ``proxy_read_timeout`` above the query timeout: shorter, a slow query would be retried on the
  other replica (twice the work).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["add_nginx_parser", "address", "cmd_nginx_conf", "nginx_conf"]


def nginx_conf(listen: str, upstreams: Sequence[str], prefix: Path | str, *, read_timeout: float = 60.0) -> str:
    """nginx's whole configuration: ``listen`` (host:port) in front of the replicas at ``upstreams``
    (host:port each), its pid, logs and temporary files under ``prefix``.

    >>> text = nginx_conf("127.0.0.1:8080", ["127.0.0.1:8001", "127.0.0.1:8002"], "/srv/nginx")
    >>> "server 127.0.0.1:8002 max_fails=1 fail_timeout=2s;" in text, "listen 127.0.0.1:8080;" in text
    (True, True)
    """
    if not upstreams:
        raise ValueError("nginx_conf: give at least one upstream (host:port of a cpbkg serve replica)")
    servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=2s;" for u in upstreams)
    # as root, nginx's workers would run as nobody, who cannot write under a prefix of root's
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    # which replica answered each request (after a retry: every one tried, the last answered)
    log_format upstreams '$status $request_method $uri upstream=$upstream_addr statuses=$upstream_status';
    access_log {prefix}/access.log upstreams;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    upstream cpbkg {{
{servers}
        keepalive 32;
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://cpbkg;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # stopped (refused), stopping (reset), timed out, draining or a worker killed (502/503):
            # the request goes to the next replica. POST /sparql is a query, safe to repeat.
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout {read_timeout:g}s;
        }}
        location /admin/ {{ return 403; }}
    }}
}}
"""


def address(text: str) -> str:
    """``HOST:PORT`` as given (the host a name, an IPv4 address or ``[IPv6]``), or an error naming it.

    >>> address("127.0.0.1:8001"), address("[::1]:8001")
    ('127.0.0.1:8001', '[::1]:8001')
    >>> address("127.0.0.1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '127.0.0.1' is not HOST:PORT (a port from 1 to 65535 after the last ':')
    """
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() or c in ";{}" for c in host):
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (a port from 1 to 65535 after the last ':')")
    return text


def add_nginx_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``cpbkg nginx-conf`` to the subcommands of the ``cpbkg`` parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "nginx-conf", help="print an nginx configuration in front of cpbkg serve replicas",
        description="Print the nginx configuration that the replica test runs (docs/operations.md): a load "
                    "balancer in front of cpbkg serve replicas that retries a stopped, draining or failing "
                    "replica's requests on the next one. Run it as: nginx -c FILE -p PREFIX -g 'daemon off;'.")
    p.add_argument("--upstream", action="append", required=True, metavar="HOST:PORT", type=address,
                   help="a replica's address (give it once per replica)")
    p.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT", type=address,
                   help="where nginx listens (default 127.0.0.1:8080)")
    p.add_argument("--prefix", default="/var/lib/cpbkg-nginx", metavar="DIR",
                   help="folder of nginx's pid, logs and temporary files (default /var/lib/cpbkg-nginx)")
    p.add_argument("--read-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="proxy_read_timeout; keep it above cpbkg serve --timeout (default 60)")
    return p


def cmd_nginx_conf(args: argparse.Namespace) -> int:
    print(nginx_conf(args.listen, args.upstream, args.prefix, read_timeout=args.read_timeout), end="")
    return 0
