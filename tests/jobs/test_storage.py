"""The media store: a directory or an S3-compatible bucket (moto's server, a process of its own), one interface."""

from __future__ import annotations

import pytest
import requests

from jobs.storage import LocalStorage, MediaMissing, copy_all, from_settings
from tests.support.s3 import moto_s3, s3_settings  # noqa: F401  (fixtures)
from wx_service.config import MediaSettings

LOCAL = MediaSettings()


def s3_store(endpoint: str, **extra):
    return from_settings(MediaSettings(**s3_settings(endpoint, **extra)), "/unused")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return from_settings(LOCAL, str(tmp_path / "media"))
    return s3_store(request.getfixturevalue("moto_s3"))


def test_put_get_exists_delete_and_list(store):
    assert not store.exists("wishes/1/2.jpg")
    with pytest.raises(MediaMissing):
        store.get("wishes/1/2.jpg")
    store.put("wishes/1/2.jpg", b"\xff\xd8photo", "image/jpeg")
    store.put("wishes/1/2.jpg", b"\xff\xd8photo", "image/jpeg")  # a job run twice: the same file
    store.put("help/3/4.mp3", b"ID3voice", "audio/mpeg")
    assert store.exists("wishes/1/2.jpg") and store.get("wishes/1/2.jpg") == b"\xff\xd8photo"
    assert sorted(store.paths()) == ["help/3/4.mp3", "wishes/1/2.jpg"]
    store.delete("wishes/1/2.jpg")
    store.delete("wishes/1/2.jpg")  # gone already: no error
    assert not store.exists("wishes/1/2.jpg") and list(store.paths()) == ["help/3/4.mp3"]


@pytest.mark.parametrize("path", ["../config.toml", "/etc/passwd", "wishes/../../x"])
def test_a_path_outside_the_store_is_refused(store, path):
    with pytest.raises(ValueError):
        store.put(path, b"x", "text/plain")
    with pytest.raises(ValueError):
        store.get(path)


def test_a_signed_url_opens_the_file_and_only_when_asked_for(moto_s3):  # noqa: F811
    store = s3_store(moto_s3, signed_url_seconds=60)
    store.put("makeups/7.jpg", b"\xff\xd8makeup", "image/jpeg")
    plain = f"{moto_s3}/{store.bucket}/wx/makeups/7.jpg"
    url = store.signed_url("makeups/7.jpg")
    assert url.startswith(plain + "?") and "Signature=" in url and "Expires=" in url
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 200 and answer.content == b"\xff\xd8makeup"
    assert answer.headers["Content-Type"] == "image/jpeg"
    assert LocalStorage("/tmp").signed_url("x.jpg") is None
    assert s3_store(moto_s3).signed_url("makeups/7.jpg") is None


def test_copy_all_moves_a_directory_into_the_bucket_and_runs_again_harmlessly(tmp_path, moto_s3):  # noqa: F811
    local = LocalStorage(str(tmp_path / "media"))
    local.put("wishes/1/2.jpg", b"one", "image/jpeg")
    local.put("avatars/5.jpg", b"two", "image/jpeg")
    (tmp_path / "media" / "wishes" / "1" / ".2.jpg.abc.part").write_bytes(b"half")  # a write in progress
    bucket = s3_store(moto_s3)
    assert copy_all(local, bucket) == (2, 0)
    assert copy_all(local, bucket) == (0, 2)
    assert sorted(bucket.paths()) == ["avatars/5.jpg", "wishes/1/2.jpg"] and bucket.get("avatars/5.jpg") == b"two"


def test_the_operator_command_copies_a_directory_into_the_configured_bucket(sqlite_app, tmp_path, moto_s3):  # noqa: F811
    import copy

    from wx_service import create_app

    old = LocalStorage(str(tmp_path / "old-media"))
    old.put("wishes/3/9.jpg", b"wish", "image/jpeg")
    old.put("help/1/2.mp3", b"voice", "audio/mpeg")
    config = copy.deepcopy(sqlite_app.config)
    config["media"] = s3_settings(moto_s3)
    app = create_app(config)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["media-store", "copy", "--from", str(tmp_path / "old-media"), "--remove"])
    assert result.exit_code == 0, result.output
    assert "2 copied, 0 already in the store, 2 removed" in result.output
    with app.app_context():
        from jobs.storage import storage

        assert storage().get("help/1/2.mp3") == b"voice"
    assert list(old.paths()) == []
    again = runner.invoke(args=["media-store", "copy", "--from", str(tmp_path / "old-media")])
    assert again.exit_code == 0 and "0 copied, 0 already in the store" in again.output


def test_pages_answer_a_stored_file_with_its_bytes_or_a_signed_redirect(sqlite_app, moto_s3):  # noqa: F811
    import copy

    from werkzeug.exceptions import NotFound

    from jobs.storage import storage
    from wx_service import create_app
    from wx_service.pages.media_files import send_stored

    for signed in (0, 120):
        config = copy.deepcopy(sqlite_app.config)
        config["media"] = s3_settings(moto_s3, signed_url_seconds=signed)
        app = create_app(config)
        with app.test_request_context("/m/wishes/photos/1"):
            storage().put("wishes/1/1.jpg", b"\xff\xd8wish", "image/jpeg")
            answer = send_stored("wishes/1/1.jpg", "image/jpeg")
            if signed:
                assert answer.status_code == 302 and "Signature=" in answer.location
                assert answer.headers["Cache-Control"] == "no-store"
                assert requests.get(answer.location, timeout=5).content == b"\xff\xd8wish"
            else:
                answer.direct_passthrough = False
                assert answer.status_code == 200 and answer.get_data() == b"\xff\xd8wish"
                assert answer.mimetype == "image/jpeg"
                with pytest.raises(NotFound):
                    send_stored("wishes/1/2.jpg", "image/jpeg")
