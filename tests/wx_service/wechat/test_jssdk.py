from wx_service.wechat.jssdk import signature


def test_published_vector():
    ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    assert signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457,
                     "http://mp.weixin.qq.com?params=value") == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_fragment_is_not_signed():
    ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    assert signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value#/page") == \
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_endpoint_signs_with_the_cached_ticket(any_app):
    client = any_app.client()
    url = any_app.base_url + "/m/checkin?account=demo"
    res = client.get("/m/jssdk-config", query_string={"url": url + "#frag"})
    assert res.status_code == 200
    data = res.get_json()
    assert set(data) >= {"appId", "timestamp", "nonceStr", "signature"}
    assert data["appId"] == "wxdemo0000000001"
    with any_app.app.app_context():
        ticket = any_app.app.extensions["wechat"].client("demo").jsapi_ticket()
    assert signature(ticket, data["nonceStr"], data["timestamp"], url) == data["signature"]
    assert client.get("/m/jssdk-config", query_string={"url": url}).get_json()["appId"] == "wxdemo0000000001"
    calls = [c for c in any_app.sandbox.calls if "getticket" in c["endpoint"]]
    assert len(calls) == 1, "the ticket is cached, not fetched per page"


def test_missing_url_is_a_json_4xx(any_app):
    res = any_app.client().get("/m/jssdk-config")
    assert res.status_code == 400 and res.get_json()["code"] == "bad_url"
