import dataclasses

import pytest

from wx_service import config as cfg

BASE = {"database": {"url": "sqlite://"},
        "accounts": {"a": {"app_id": "wx1", "app_secret": "s", "token": "t", "main": True}}}


def with_(**changes):
    import copy

    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        section, key = path.split("__")
        data.setdefault(section, {})[key] = value
    return data


def test_defaults_fill_in():
    settings = cfg.load(BASE)
    assert settings.app.timezone == "Asia/Shanghai"
    assert settings.accounts["a"].api_base == "https://api.weixin.qq.com/"
    assert settings.main_account.name == "a"


@pytest.mark.parametrize("data, key", [
    (with_(app__colour="red"), "app.colour"),
    ({**BASE, "extra": {}}, "[extra]"),
    ({"accounts": BASE["accounts"]}, "database.url"),
    ({"database": {"url": "sqlite://"}, "accounts": {"a": {"app_secret": "s", "main": True}}}, "accounts.a.app_id"),
    ({"database": {"url": "sqlite://"}, "accounts": {"a": {"app_id": "x", "app_secret": "s", "main": True,
                                                            "token": "t", "colour": 1}}}, "accounts.a.colour"),
    (with_(app__max_clock_skew="ten"), "app.max_clock_skew"),
    (with_(app__env="staging"), "app.env"),
    (with_(app__timezone="Mars/Olympus"), "app.timezone"),
    (with_(sms__daily_limit="5"), "sms.daily_limit"),
    (with_(sandbox__enabled=1), "sandbox.enabled"),
    (with_(attendance__rounding="up"), "attendance.rounding"),
    (with_(attendance__points_per_hour=True), "attendance.points_per_hour"),
    (with_(projects__topic_orgs={"今天我是志愿者": "一个组织"}), "projects.topic_orgs.今天我是志愿者"),
    (with_(projects__topic_orgs={"今天我是志愿者": [3]}), "projects.topic_orgs.今天我是志愿者[0]"),
    ({**BASE, "app": "not a table"}, "[app]"),
])
def test_bad_configuration_names_the_key(data, key):
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load(data)
    assert key in str(err.value)


def test_settings_are_typed_and_read_only():
    settings = cfg.load(with_(attendance__points_per_hour=1.5, projects__topic_orgs={"t": ["甲"]}))
    assert isinstance(settings.app, cfg.AppSettings) and settings.attendance.points_per_hour == 1.5
    assert settings.app.media_dir.startswith("/")  # made absolute once, when loaded
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.sms.daily_limit = 50
    with pytest.raises(TypeError):
        settings.projects.topic_orgs["t"] = ("乙",)
    with pytest.raises(TypeError):
        settings.accounts["a"].templates["help_request"] = "TPL"
    assert settings.projects.topic_orgs["t"] == ("甲",)


def test_a_replaced_copy_is_checked_like_the_file():
    settings = cfg.load(BASE)
    changed = settings.replace("app", max_clock_skew=60)
    assert changed.app.max_clock_skew == 60 and settings.app.max_clock_skew == 0  # a copy; the original stays
    assert settings.replace("accounts.a", api_base="http://x").accounts["a"].api_base == "http://x/"
    for section, values, key in (("app", {"max_clock_skew": "60"}, "app.max_clock_skew"),
                                 ("app", {"colour": "red"}, "app.colour"),
                                 ("sms", {"sender": "pigeon"}, "sms.sender")):
        with pytest.raises(cfg.ConfigError, match=key.replace(".", r"\.")):
            settings.replace(section, **values)


def test_exactly_one_main_account():
    data = with_()
    data["accounts"]["b"] = {"app_id": "wx2", "app_secret": "s", "main": True}
    with pytest.raises(cfg.ConfigError, match="exactly one"):
        cfg.load(data)


def test_unknown_template_kind_is_accepted():
    data = with_()
    data["accounts"]["a"]["templates"] = {"no_such_kind": "TPL"}
    assert cfg.load(data).accounts["a"].templates == {"no_such_kind": "TPL"}


PROD = {"app": {"env": "production", "secret_key": "real-secret"}, "security": {"data_key": "k" * 44},
        "sms": {"sender": "http", "endpoint": "https://sms.example.org/send"},
        "database": {"url": "postgresql://x/y"},
        "accounts": {"a": {"app_id": "wx1", "app_secret": "s", "token": "t", "main": True}}}


@pytest.mark.parametrize("change, key", [
    (lambda d: d["app"].pop("secret_key"), "app.secret_key"),
    (lambda d: d.__setitem__("sandbox", {"enabled": True}), "sandbox.enabled"),
    (lambda d: d["accounts"]["a"].__setitem__("token", ""), "accounts.a.token"),
    (lambda d: d["security"].pop("data_key"), "security.data_key"),
    (lambda d: d["sms"].__setitem__("sender", "log"), "sms.sender"),
])
def test_production_refuses_unsafe_settings(change, key):
    import copy

    data = copy.deepcopy(PROD)
    change(data)
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load(data)
    assert key in str(err.value)


def test_production_accepts_a_complete_file():
    assert cfg.load(PROD).production


def test_toml_file_and_env(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite://"\n[accounts.x]\napp_id = "wx"\napp_secret = "s"\nmain = true\n')
    monkeypatch.setenv("WX_SERVICE_CONFIG", str(path))
    assert cfg.load().accounts["x"].app_id == "wx"
    path.write_text("[database\n")
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.load()


def test_example_config_is_complete_and_valid():
    """config.example.toml documents every key of the schema and loads."""
    import tomllib
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "config.example.toml"
    data = tomllib.loads(path.read_text())
    for section, cls in cfg.SECTIONS.items():
        for key in cfg.file_keys(cls):
            assert key in data.get(section, {}), f"config.example.toml lacks {section}.{key}"
    account = next(iter(data["accounts"].values()))
    for key in cfg.file_keys(cfg.Account):
        assert key in account, f"config.example.toml lacks accounts.NAME.{key}"
    cfg.load(path)


def test_the_embedded_default_loads_the_sandboxs_jssdk_stand_in(tmp_path):
    """``make run`` pages run in a plain browser: WeChat's jweixin works only inside WeChat."""
    settings = cfg.load(cfg.development_default(tmp_path))
    assert settings.app.jssdk_url == "/sandbox/static/jweixin.js"
    assert cfg.load(BASE).app.jssdk_url.startswith("https://res.wx.qq.com/")  # a file of one's own: WeChat's


@pytest.mark.parametrize("section, key, bad", [
    ("attendance", "offline_grace_minutes", -5), ("attendance", "offline_grace_minutes", 100_000),
    ("projects", "message_every_minutes", 0), ("projects", "ask_back_hours", -1),
    ("stats", "monthly_target_hours", 0), ("attendance", "points_expire_years", -1),
])
def test_numbers_out_of_their_range_stop_start_up_naming_the_key(section, key, bad):
    """A negative grace window, a message every 0 minutes, everyone 达标 at 0 hours: refused, not silently used."""
    settings = cfg.load(BASE)
    with pytest.raises(cfg.ConfigError, match=rf"{section}\.{key} must be between"):
        settings.replace(section, **{key: bad})
    assert settings.replace(section, **{key: getattr(getattr(settings, section), key)})  # the default passes
