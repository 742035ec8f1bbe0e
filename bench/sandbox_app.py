"""The WeChat stand-in for the benchmarks: the service's own app (same config), served by ONE process.

    gunicorn -w 1 -k gthread --threads 4 bench.sandbox_app:app

The sandbox keeps its state in memory per process, so the accounts' ``api_base`` points here and not
at the multi-worker service.  Three bench-only routes (not part of the service) set up and read that
state from outside:

- ``POST /bench/follow``  ``{"account": "demo", "openids": [...]}`` — these users follow the account;
- ``POST /bench/media``   ``{"account": "demo", "count": n}`` — n voice media (AMR), their ids;
- ``GET  /bench/delivered`` (``?count=1``: only how many) — every template message delivered ``[client_msg_id, touser, time]``, how
  many send attempts were received, and the client_msg_ids that arrived more than once.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from wx_service import create_app, csrf
from wx_service.dev.sandbox import get_state
from wx_service.dev.sandbox.phone import make_amr

app = create_app()
bp = Blueprint("bench", __name__, url_prefix="/bench")


def _appid(name: str) -> str:
    return app.config["WX_SETTINGS"].accounts[name].app_id


@bp.post("/follow")
def bench_follow():
    data = request.get_json()
    state, appid = get_state(), _appid(data.get("account", "demo"))
    for openid in data["openids"]:
        state.follow(appid, openid)
    return jsonify(followed=len(data["openids"]))


@bp.post("/media")
def bench_media():
    data = request.get_json()
    state, appid = get_state(), _appid(data.get("account", "demo"))
    audio = make_amr(float(data.get("seconds", 2.0)))
    ids = [state.add_media(audio, "audio/amr", appid=appid, kind="voice") for _ in range(int(data["count"]))]
    return jsonify(media_ids=ids)


@bp.get("/delivered")
def bench_delivered():
    state = get_state()
    if request.args.get("count"):
        return jsonify(count=len(state.delivered))
    with state.lock:
        delivered = [[d["client_msg_id"], d["touser"], d["time"]] for d in state.delivered]
        attempts = sum(state.receipts.values())
        repeated = {k: n for k, n in state.receipts.items() if n > 1}
    return jsonify(delivered=delivered, attempts=attempts, repeated=repeated)


csrf.exempt(bp)
app.register_blueprint(bp)
