"""What the benchmarks share: a throw-away database, a config, gunicorn, pre-signed requests, wrk."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
import tomli_w

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import wechat  # noqa: E402
from tests.support.appfactory import test_config  # noqa: E402

PG_ADMIN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
BOUND = "o_bench_bound_volunteer"
TS, NONCE = "1700000000", "424242"


def signed_query(token: str, n: int) -> str:
    """The query of callback ``n``: a nonce of its own (the service refuses a pair used with another body)."""
    nonce = f"{NONCE}{n}"
    return f"signature={wechat.sign(token, TS, nonce)}&timestamp={TS}&nonce={nonce}"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def service_stack(workdir: Path, *, base_url: str = "http://127.0.0.1:1", api_base: str | None = None,
                  settings: dict | None = None, seed: str | None = None, seed_timeout: float = 120,
                  keep: bool = False):
    """A database of its own (dropped afterwards), the config TOML, the schema, a bound volunteer.

    ``base_url``: the service's own address (links, and the sandbox unless ``api_base`` says where the
    WeChat stand-in runs); ``settings``: sections merged into the config (e.g. ``{"notifications": {...}}``);
    ``seed``: Python run after the schema with ``app`` created and an app context pushed (as ``seed_*``
    code: commit yourself); ``keep``: leave the database (and Redis keys) in place afterwards, for a later
    run to measure again (the caller drops it with ``drop_database``).  Yields the environment of the
    service's processes (``WX_SERVICE_CONFIG``…), with ``BENCH_DB`` (the psycopg URL of the database),
    ``BENCH_DB_NAME`` and ``BENCH_CONFIG`` added.
    """
    name = f"wx_bench_{uuid.uuid4().hex[:8]}"
    admin = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = admin.rsplit("/", 1)[0].split("://", 1)[1]
        config = test_config(base_url, f"postgresql+psycopg://{base}/{name}", REDIS_URL, name, workdir)
        if api_base:
            for account in config["accounts"].values():
                account["api_base"] = account["oauth_base"] = api_base
        for section, values in (settings or {}).items():
            config.setdefault(section, {}).update(values)
        config_path = workdir / "config.toml"
        config_path.write_bytes(tomli_w.dumps(config).encode())
        env = {**ENV, "WX_SERVICE_CONFIG": str(config_path)}
        subprocess.run([sys.executable, "-m", "flask", "--app", "wx_service", "db", "upgrade"], env=env, check=True,
                       cwd=workdir, capture_output=True, timeout=120)
        seed_bound = ("from wx_service import create_app\nfrom tests.support import people\n"
                "app = create_app()\nwith app.app_context():\n"
                f"    people.bind(people.make_volunteer(), {BOUND!r})\n")
        subprocess.run([sys.executable, "-c", seed_bound], env=env, check=True, cwd=workdir, capture_output=True,
                       timeout=120)
        if seed:
            code = ("from wx_service import create_app\napp = create_app()\nctx = app.app_context()\nctx.push()\n"
                    + seed)
            done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                                  timeout=seed_timeout)
            if done.returncode:
                raise RuntimeError("seed failed:\n" + done.stderr[-3000:])
        yield {**env, "WX_SERVICE_NO_AUTO_UPGRADE": "1", "BENCH_DB": f"{admin.rsplit('/', 1)[0]}/{name}",
               "BENCH_DB_NAME": name, "BENCH_CONFIG": str(config_path)}
    finally:
        if not keep:
            drop_database(name)


def drop_database(name: str) -> None:
    """Drop a bench database and its Redis keys (``service_stack`` does this itself unless told to keep)."""
    admin = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}*", count=1000):
        client.delete(key)


@contextmanager
def gunicorn(app: str, env: dict, workers: int = 2, threads: int = 1, port: int | None = None,
             log: Path | None = None):
    """gunicorn on a free loopback port (or ``port``); ``threads`` > 1 uses the gthread worker (I/O overlaps);
    ``log``: a file for the processes' output (the service's log lines), instead of the bench's own."""
    port = port or free_port()
    worker_class = ["-k", "gthread", "--threads", str(threads)] if threads > 1 else []
    output = log.open("ab") if log else None
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), *worker_class,
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
                            env=env, cwd=ROOT, start_new_session=True, stdout=output, stderr=output)
    if output:
        output.close()  # the child has its own descriptor
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def workers_of(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes_named(name: str) -> list[int]:
    """The pids of every process called ``name`` (``redis-server``, ``postgres``: its backends too)."""
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def cpu_per_request(groups: dict[str, list[int]], run) -> tuple[dict, dict[str, float]]:
    """``run()`` (a ``wrk`` call), and the CPU each group of processes used meanwhile, in µs per request
    answered; ``wrk`` is this process's children (wrk itself).  On a machine whose cores are all busy
    this, not the wall clock, shows where a request's cost lies."""

    def used(pids):
        total = 0.0
        for pid in pids:
            with suppress(OSError):  # a backend that ended meanwhile
                total += cpu_seconds(pid)
        return total

    before = {name: used(pids) for name, pids in groups.items()}
    children = os.times()
    result = run()
    after_children = os.times()
    answered = max(result["requests"], 1)
    split = {name: (used(pids) - before[name]) / answered * 1e6 for name, pids in groups.items()}
    split["wrk"] = (after_children.children_user + after_children.children_system
                    - children.children_user - children.children_system) / answered * 1e6
    return result, split


def write_requests(case: str, count: int, offset: int, path: Path, senders=None) -> Path:
    """``count`` distinct, correctly signed callbacks, one ``path<TAB>body`` a line.

    ``idle_click``: a CLICK from each of the seeded followers numbered ``senders`` (bench/follower_seed.py);
    ``first_subscribe``: a subscribe through a QR campaign's code from a sender never seen before.
    """
    created = 1_700_000_000 + offset
    lines = []
    if case in ("click", "idle_click", "first_subscribe"):
        from follower_seed import idle_openid

        senders = list(senders if senders is not None else range(count))
        for i in range(count):
            if case == "click":
                body = wechat.event_xml(BOUND, "CLICK", "MY_QRCODE", create_time=created + i)
            elif case == "idle_click":
                body = wechat.event_xml(idle_openid(senders[i]), "CLICK", "MY_QRCODE", create_time=created + i)
            else:
                body = wechat.event_xml(f"o_first_{offset + i}", "subscribe", "qrscene_2026", create_time=created + i,
                                        Ticket="gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2tIVXdXbm")
            lines.append(f"/wechat/demo?{signed_query('demotoken', offset + i)}\t{body}")
    elif case == "safe_text":
        from wechatpy.crypto import WeChatCrypto

        from tests.support.appfactory import SAFE_AES_KEY

        crypto = WeChatCrypto("spamtest", SAFE_AES_KEY, "wx2c2769f8efd9abc2")
        for i in range(count):
            nonce = f"{NONCE}{offset + i}"
            xml = wechat.text_xml("o_bench_safe", "你好", msg_id=10**15 + offset + i, create_time=created + i)
            enc = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", crypto.encrypt_message(xml, nonce, TS)).group(1)
            body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
            lines.append(f"/wechat/safe?{signed_query('spamtest', offset + i)}&encrypt_type=aes"
                         f"&msg_signature={wechat.sign('spamtest', TS, nonce, enc)}\t{body}")
    else:
        raise ValueError(case)
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(url: str, requests: Path, seconds: int, connections: int = 32, threads: int = 2) -> dict:
    env = {**os.environ, "BENCH_REQUESTS": str(requests), "BENCH_THREADS": str(threads)}
    # --timeout 10s: wrk's default (2 s) would count a slow answer as a socket error, not in the latency
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                          "--latency",
                          "-s", str(Path(__file__).with_name("requests.lua")), url],
                         env=env, capture_output=True, text=True, timeout=seconds + 120)
    text = out.stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
              "requests": int(re.search(r"(\d+) requests in", text).group(1)),
              "errors": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0}
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s|m)\b", text).groups()
        result[f"p{pct}_ms"] = float(value) * units[unit]
    value, unit = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\b", text).groups()
    result["max_ms"] = float(value) * units[unit]  # wrk's thread stats: avg, stdev, max
    socket_errors = re.search(r"Socket errors: (.*)", text)
    result["socket_errors"] = socket_errors.group(1) if socket_errors else ""
    return result


def tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="wx_bench_"))


@contextmanager
def rq_workers(env: dict, count: int = 1, log: Path | None = None):
    """``count`` processes of ``flask --app wx_service worker`` (rq SimpleWorker), stopped afterwards."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wx_service", "worker"], env=env, cwd=ROOT,
                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log:
            out.close()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 200 values is the 190th smallest)."""
    ordered = sorted(values)
    import math

    return ordered[max(math.ceil(pct / 100 * len(ordered)) - 1, 0)]
