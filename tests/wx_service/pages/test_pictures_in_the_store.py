"""Pictures that pages store (a gift's, an article's cover and body pictures) live in the media store and come
back through it: with the store in a bucket, nothing lands in the local media directory, and the pages answer
with the bucket's bytes; a refused article leaves nothing in the bucket."""

from __future__ import annotations

import io
import os
import re

import pytest

from jobs import storage as media_storage
from tests.jobs.test_storage import s3_store
from tests.support.s3 import moto_s3  # noqa: F401  (fixture)
from tests.wx_service.pages.test_article_pages import city, text, write  # noqa: F401  (fixture)
from tests.wx_service.pages.test_gift_pages import offer


@pytest.fixture
def bucket(city, moto_s3):  # noqa: F811
    store = s3_store(moto_s3)  # a new bucket of its own
    local = city.app.extensions[media_storage.EXTENSION]
    city.app.extensions[media_storage.EXTENSION] = store
    yield store
    city.app.extensions[media_storage.EXTENSION] = local


def local_files(handle) -> set[str]:
    root = handle.config["app"]["media_dir"]
    return {os.path.join(folder, name) for folder, _dirs, names in os.walk(root) for name in names}


def served(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data()


def test_gift_and_article_pictures_go_to_the_bucket_and_come_back(city, bucket):  # noqa: F811
    before = local_files(city)
    admin, offered = offer(city)
    assert offered.status_code == 302, text(offered)
    gift_id = int(re.search(r"/m/gifts/(\d+)", offered.location).group(1))
    stored = sorted(p for p in bucket.paths() if p.startswith("gifts/"))
    assert len(stored) == 1
    assert served(admin, f"/m/gifts/{gift_id}/picture?account=demo") == bucket.get(stored[0])

    client, written = write(city)
    assert written.status_code == 302, text(written)
    article_id = int(re.search(r"/m/articles/(\d+)", written.location).group(1))
    pictures = sorted(p for p in bucket.paths() if p.startswith("articles/"))
    assert len(pictures) == 2  # the cover and one body picture
    shown = {served(client, f"/m/articles/{article_id}/cover?account=demo"),
             served(client, f"/m/articles/{article_id}/pictures/0?account=demo")}
    assert shown == {bucket.get(p) for p in pictures}
    assert local_files(city) == before


def test_a_refused_article_leaves_nothing_in_the_bucket(city, bucket):  # noqa: F811
    # the cover is stored first, then the body picture is refused: the cover goes again
    _client, refused = write(city, pictures=[(io.BytesIO(b"GIF89a not really"), "p1.gif")])
    assert refused.status_code == 415 and "正文图片" in text(refused)
    assert [p for p in bucket.paths() if p.startswith("articles/")] == []
