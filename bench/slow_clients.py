"""Clients that hold connections open, against gunicorn's sync workers alone and behind nginx (docker/nginx.conf).

`--slow` clients each open a connection and send their request's headers a byte a second, as a phone on a bad
network or an idle keep-alive connection does; meanwhile one ordinary client requests the trivial view and a static
file as fast as it can. Prints its requests a second and latencies, with gunicorn (2 sync workers) published
directly, the same with threaded workers (gthread), then the sync workers behind nginx with the project's
docker/nginx.conf (needs the `nginx` binary: --nginx PATH).

    .venv/bin/python -m bench.slow_clients [--slow 10] [--seconds 20] [--threads 4] [--nginx /usr/sbin/nginx]
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import PROJECT, percentile, production_env, table

GUNICORN_PORT, NGINX_PORT, GTHREAD_PORT = 8791, 8792, 8793


def trickle(port, stop):
    """Send a request's headers one byte a second, never finishing, until told to stop."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        while not stop.is_set():
            sock.sendall(b"X")
            stop.wait(1)
        sock.close()
    except OSError:
        pass  # the server dropped us: what a proxy should do to a client this slow


def ordinary_client(port, path, seconds):
    latencies, errors, deadline = [], 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=35) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                response = b""
                while chunk := sock.recv(65536):
                    response += chunk
            if not response.startswith(b"HTTP/1.1 200"):  # nginx and gunicorn both answer HTTP/1.1
                errors += 1
        except OSError:
            errors += 1
        latencies.append(time.perf_counter() - started)
    return latencies, errors


def nginx_config(nginx: str, folder: Path, static_root: Path) -> Path:
    site = (PROJECT / "docker" / "nginx.conf").read_text()
    site = (site.replace("server web:8000;", f"server 127.0.0.1:{GUNICORN_PORT};")
            .replace("listen 80;", f"listen 127.0.0.1:{NGINX_PORT};").replace("root /srv;", f"root {static_root.parent};"))
    (folder / "site.conf").write_text(site)
    mime = Path(nginx).resolve().parents[2] / "etc" / "nginx" / "mime.types"
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(
        f"worker_processes 1; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'} warn;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{ include {mime}; access_log off; {temp} include {folder / 'site.conf'}; }}\n")
    return folder / "nginx.conf"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    folder.chmod(0o755)  # nginx's workers (nobody, when started as root) read the static files under it
    static_root = folder / "srv" / "static"
    env = {**os.environ, **production_env(STATIC_ROOT=str(static_root), SECURE_SSL_REDIRECT="false"),
           "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "REDIS_URL": ""}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=PROJECT, env=env, check=True)
    static_file = "/static/" + next(p.relative_to(static_root).as_posix() for p in static_root.rglob("app.*.css")
                                     if not p.name.endswith(".gz"))
    serve = [sys.executable, "-m", "gunicorn", "mentoring.wsgi:application", "--workers", "2", "--timeout", "30",
             "--log-level", "error"]
    gunicorn = subprocess.Popen([*serve, "--bind", f"127.0.0.1:{GUNICORN_PORT}"], cwd=PROJECT, env=env)
    gthread = subprocess.Popen([*serve, "--bind", f"127.0.0.1:{GTHREAD_PORT}", "--worker-class", "gthread",
                                "--threads", str(args.threads)], cwd=PROJECT, env=env)
    nginx = subprocess.Popen([args.nginx, "-c", str(nginx_config(args.nginx, folder, static_root)), "-p", str(folder),
                              "-g", "daemon off;"])
    time.sleep(4)
    rows = []
    try:
        for label, port in (("gunicorn, 2 sync workers, published", GUNICORN_PORT),
                            (f"gunicorn, 2 gthread workers x {args.threads} threads, published", GTHREAD_PORT),
                            ("nginx (docker/nginx.conf) in front of 2 sync workers", NGINX_PORT)):
            for slow in (0, args.slow):
                stop = threading.Event()
                threads = [threading.Thread(target=trickle, args=(port, stop), daemon=True) for _ in range(slow)]
                for thread in threads:
                    thread.start()
                time.sleep(1)
                for page, path in (("/healthz", "/healthz"), ("static file", static_file)):
                    latencies, errors = ordinary_client(port, path, args.seconds / 2)
                    rows.append((label, slow, page, f"{len(latencies) / sum(latencies):.0f}",
                                 f"{percentile(latencies, 50) * 1000:.1f}", f"{percentile(latencies, 95) * 1000:.1f}",
                                 errors))
                stop.set()
                time.sleep(2)
    finally:
        nginx.send_signal(signal.SIGQUIT)
        for server in (gunicorn, gthread):
            server.send_signal(signal.SIGTERM)
        nginx.wait(timeout=20)
        for server in (gunicorn, gthread):
            server.wait(timeout=40)
    print(table(rows, ["server", "slow clients", "request", "requests/s", "p50 ms", "p95 ms", "errors"]))


if __name__ == "__main__":
    main()
