"""The production stack as the README deploys it, on loopback: PostgreSQL, ``flask hub init``,
gunicorn with the hub's settings (JSON logs, a metrics token, one trusted proxy) and nginx in front
with the shipped proxy settings. Slow clients, the logs and the metrics are checked against it."""
from __future__ import annotations

import json
import re
import socket
import time

import pytest
import requests

from hub import create_app
from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts
from tests import spawn
from tests.helpers import PASSWORD
from tests.processes import start
from tests.stack import flask, production_env, start_gunicorn, start_nginx

pytestmark = pytest.mark.postgres
TOKEN = "stack-metrics-token"
PERSONAL = ["13812345678", "110101199003077777", "zhang.san@example.org", "张三丰", "人民南路12号"]
QUERY = "美沙酮 夜间外展 张三丰"
SLOW_CLIENTS = 120


@pytest.fixture(scope="module")
def stack(postgres_server, tmp_path_factory):
    """Start the documented stack once for this module (and its worker); return (nginx, gunicorn)."""
    root = tmp_path_factory.mktemp("stack")
    url = postgres_server.create_database("production_stack")
    env = production_env(root / "instance", url, HUB_LOG_FORMAT="json", HUB_METRICS_TOKEN=TOKEN, HUB_PROXIES="1")
    flask(env, "hub", "init")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": env["HUB_SECRET_KEY"], "INSTANCE_PATH": str(root / "instance")})
    with app.app_context():
        accounts.create_user(accounts.NewAccount("lin", "小林", PASSWORD), role=Role.CONTRIBUTOR)
        db.session.commit()
        db.engine.dispose()
    worker = start(["hub", "worker"], env)
    web = start_gunicorn(env, root / "gunicorn.log", workers=2)
    proxy = start_nginx(root / "nginx", web.port)
    yield proxy, web
    proxy.stop()
    web.stop()
    worker.terminate()
    worker.wait(timeout=30)
    postgres_server.drop_database("production_stack")


def slow_client(port: int) -> socket.socket:
    """Open a connection that starts a request and then sends one header line now and then (slowloris)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: hub.test\r\nUser-Agent: slow\r\n")
    return sock


def test_slow_clients_do_not_starve_the_hub_behind_nginx(stack):
    proxy, web = stack
    clients = [slow_client(proxy.port) for _ in range(SLOW_CLIENTS)]
    slowest = 0.0
    try:
        started = time.monotonic()
        next_header = started + 5
        while time.monotonic() - started < 14:  # longer than nginx's client_header_timeout (10 s)
            if time.monotonic() >= next_header:
                for sock in clients:
                    try:
                        sock.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        pass  # nginx closed it: that is the point
                next_header += 5
            asked = time.monotonic()
            assert requests.get(proxy.url + "/healthz", timeout=5).status_code == 200
            slowest = max(slowest, time.monotonic() - asked)
            time.sleep(0.25)
    finally:
        for sock in clients:
            sock.close()
    assert slowest < 1.0, f"/healthz took {slowest:.2f} s behind nginx under {SLOW_CLIENTS} slow clients"
    # nginx gave up on the slow clients after its header timeout (408) and never passed one on.
    assert '"endpoint": "main.index"' not in web.output()


def sign_in(session: requests.Session, base: str) -> str:
    page = session.get(base + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert session.post(base + "/login", data={"csrf_token": token, "login": "lin", "password": PASSWORD},
                        allow_redirects=False).status_code == 302
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', session.get(base + "/notes/new").text).group(1)


def test_the_logs_are_json_lines_without_note_text_queries_or_personal_data(stack):
    proxy, web = stack
    author = requests.Session()
    token = sign_in(author, proxy.url)
    note = {"csrf_token": token, "title": f"外展 {PERSONAL[3]}", "summary": f"电话 {PERSONAL[0]}",
            "body": "；".join(PERSONAL), "language": "zh_Hans", "visibility": "members", "save": "1"}
    written = author.post(proxy.url + "/notes/new", data=note, allow_redirects=False)
    assert written.status_code in (200, 302)
    searched = author.get(proxy.url + "/search", params={"q": QUERY})
    request_id = searched.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, passed on by the shipped settings
    author.get(proxy.url + "/notes/2147483648", params={"q": PERSONAL[0]})
    time.sleep(0.5)  # let gunicorn's processes write their lines

    lines = [line for line in web.output().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON record
    for secret in [*PERSONAL, "美沙酮", "夜间外展", "2147483648", "q="]:
        assert secret not in web.output(), secret
    access = [r for r in records if r["logger"] == "hub.access"]
    assert len({r["request_id"] for r in access}) == len(access)  # one line per request, not one per handler
    search_line = next(r for r in access if r["request_id"] == request_id)
    assert (search_line["method"], search_line["endpoint"], search_line["status"]) == ("GET", "search.search", 200)
    assert "client_ip" not in search_line and "127.0.0.1" not in json.dumps(access)
    assert {r["endpoint"] for r in access} >= {"auth.login", "notes.new", "search.search", "unmatched"}


def test_metrics_add_up_every_gunicorn_process_and_stay_off_the_public_proxy(stack):
    proxy, web = stack
    for _ in range(40):
        assert requests.get(web.url + "/healthz").status_code == 200
    counts = set()
    for _ in range(4):  # whichever process answers the scrape, it counts every process's requests
        text = requests.get(web.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
        found = re.search(r'hub_http_request_duration_seconds_count\{endpoint="ops.healthz",method="GET",'
                          r'status="200"\} ([0-9.]+)', text)
        counts.add(float(found.group(1)))
        assert "hub_database_up 1.0" in text and 'hub_federation_deliveries{state="pending"}' in text
    assert min(counts) >= 40
    assert requests.get(proxy.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_the_shipped_site_configuration_is_valid_nginx(tmp_path):
    """deploy/nginx/hub.conf as an operator installs it (own certificate paths), checked by nginx -t."""
    import datetime as dt
    import subprocess

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from tests.stack import NGINX_SETTINGS, nginx_binary

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.example.org")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    deploy = NGINX_SETTINGS.parent
    site = (deploy / "hub.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/hub.example.org/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/hub.example.org/privkey.pem", str(tmp_path / "key.pem"))
    site = site.replace("/etc/nginx/snippets/hub-locations.conf", str(deploy / "hub-locations.conf"))
    (tmp_path / "hub.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ }}
http {{
    include {deploy / "hub-proxy.conf"};
    include {tmp_path / "hub.conf"};
}}
""")
    checked = spawn.run([nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                        capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
