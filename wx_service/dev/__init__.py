"""Development only: the sandbox (a local stand-in for WeChat), the demo city, the ``flask dev`` server.

``create_app`` imports this package only when ``[sandbox] enabled = true``, which the configuration
refuses in production, so a production process never loads it and a production wheel can leave it
out (``WX_SERVICE_WITHOUT_DEV=1 pip wheel .``, see setup.py).
"""

from __future__ import annotations


def install(app) -> None:
    """Mount the sandbox at ``/sandbox`` (CSRF-exempt: WeChat's side posts no token) and add ``flask dev``."""
    from .sandbox import bp
    from .server import dev

    app.register_blueprint(bp, url_prefix="/sandbox")
    app.extensions["csrf"].exempt(bp)
    app.cli.add_command(dev)
