"""Build the application for tests: a config file, migrations, a live server for the sandbox."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
from sqlalchemy import text
from werkzeug.serving import make_server

SAFE_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_config(base_url: str, database_url: str, redis_url: str, tag: str, media: Path) -> dict:
    sandbox = base_url + "/sandbox/"
    return {
        "app": {"env": "development", "base_url": base_url, "secret_key": "test-secret-" + tag,
                "media_dir": str(media), "jssdk_url": base_url + "/sandbox/static/jweixin.js",
                "log_level": "WARNING"},
        "database": {"url": database_url},
        "redis": {"url": redis_url, "queue": tag},
        "sandbox": {"enabled": True},
        "accounts": {
            "demo": {"app_id": "wxdemo0000000001", "app_secret": "demo-secret", "token": "demotoken",
                     "api_base": sandbox, "oauth_base": sandbox, "main": True, "title": "江海志愿",
                     "templates": {"help_request": "TPL_HELP", "signup_accepted": "TPL_SIGNUP"}},
            "safe": {"app_id": "wx2c2769f8efd9abc2", "app_secret": "safe-secret", "token": "spamtest",
                     "encoding_aes_key": SAFE_AES_KEY, "api_base": sandbox, "oauth_base": sandbox,
                     "title": "安全模式测试号"},
            "county": {"app_id": "wxcounty00000001", "app_secret": "county-secret", "token": "countytoken",
                       "api_base": sandbox, "oauth_base": sandbox, "title": "如东志愿"},
        },
    }


@dataclass
class AppHandle:
    app: object
    base_url: str
    config: dict
    config_path: Path
    server: object = None
    thread: threading.Thread | None = None
    extra: dict = field(default_factory=dict)

    def client(self):
        return self.app.test_client()

    @property
    def sandbox(self):
        from wx_service.dev.sandbox import get_state

        with self.app.app_context():
            return get_state()

    def drain_jobs(self, timeout: float = 30.0) -> bool:
        backend = self.app.extensions["wx_jobs"]
        if hasattr(backend, "drain"):
            return backend.drain(timeout)
        return True

    @contextmanager
    def clock_at(self, now):
        """The app's clock (``clock.now()``) stopped at ``now`` for the block, running again after it."""
        self.app.config["CLOCK_NOW"] = now
        try:
            yield self
        finally:
            self.app.config.pop("CLOCK_NOW", None)

    def run_jobs(self, timeout: float = 30.0) -> None:
        """Every queued job run to the end: drained in-process on the embedded backend, else by a burst of a
        real rq worker (PostgreSQL + Redis), as production runs them."""
        backend = self.app.extensions["wx_jobs"]
        if hasattr(backend, "drain"):
            assert backend.drain(timeout)
            return
        from rq import SimpleWorker

        with self.app.app_context():
            SimpleWorker([backend.queue], connection=backend.connection).work(burst=True)

    def reset(self) -> None:
        """Empty every table, the sandbox's memory and this session's Redis keys."""
        from models import db
        from wx_service.wechat.api import WeChatClients

        self.drain_jobs()
        self.app.config.pop("CLOCK_NOW", None)  # a test that stopped the clock does not stop the next one's
        with self.app.app_context():
            tables = [t.name for t in reversed(db.metadata.sorted_tables)]
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    db.session.execute(text(f'DELETE FROM "{name}"'))
            db.session.commit()
            self.sandbox.reset()
            clients = self.app.extensions["wechat"]  # fresh clients: none remembers a token of the old sandbox
            self.app.extensions["wechat"] = WeChatClients(clients.settings, clients.store)
            connection = self.app.extensions.get("wx_redis")
            if connection is not None:
                tag = self.config["redis"]["queue"]
                for key in connection.scan_iter(f"*{tag}*", count=1000):
                    connection.delete(key)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
        from models import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def build_app(database_url: str, redis_url: str, tag: str, media: Path) -> AppHandle:
    from wx_service import create_app

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = test_config(base_url, database_url, redis_url, tag, media)
    config_path = media / "config.toml"
    config_path.write_bytes(tomli_w.dumps(config).encode())
    app = create_app(config)
    app.config["TESTING"] = True
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return AppHandle(app=app, base_url=base_url, config=config, config_path=config_path, server=server,
                     thread=thread)
