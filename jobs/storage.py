"""Where media files live: one interface, a local directory or an S3-compatible object store.

Every stored file (a wish photo, a 补签 photo, a voice note, an avatar, a logo …) is named by a path
relative to the store (``wishes/12/40.jpg``), kept in its row; code never builds a filesystem path
itself.  ``[media] backend`` picks the store:

- ``local`` (the embedded default): files under ``[media] dir`` (default ``[app] media_dir``).  Put the
  directory on a mount every host shares (NFS, CephFS) and several hosts can use it.
- ``s3``: a bucket of an S3-compatible store (Tencent COS, Aliyun OSS, MinIO, AWS) through boto3.  The
  bucket stays private: files reach people only through the service's pages, which check who may see
  them, and either pass the bytes on or answer with a redirect to a URL signed for
  ``[media] signed_url_seconds`` (0: never; the service passes the bytes on).

Writes are whole-file and idempotent: the same path written twice holds the same bytes, so a job that
runs twice stores nothing twice.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator

from flask import current_app

EXTENSION = "wx_media_storage"


class MediaMissing(LookupError):
    """No file is stored at this path."""


class LocalStorage:
    """Files in a directory (one host, or a mount every host shares)."""

    name = "local"

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def _path(self, path: str) -> str:
        full = os.path.abspath(os.path.join(self.root, path))
        if not full.startswith(self.root + os.sep):
            raise ValueError(f"media path outside the store: {path!r}")
        return full

    def put(self, path: str, data: bytes, content_type: str) -> None:
        """Write atomically (a temporary file renamed into place): a reader never sees half a file."""
        target = self._path(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temp = f"{os.path.dirname(target)}/.{os.path.basename(target)}.{secrets.token_hex(6)}.part"
        with open(temp, "wb") as fh:
            fh.write(data)
        os.replace(temp, target)

    def put_file(self, path: str, source: str, content_type: str) -> None:
        """Store the local file ``source`` (a large export), copied in chunks and renamed into place."""
        target = self._path(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temp = f"{os.path.dirname(target)}/.{os.path.basename(target)}.{secrets.token_hex(6)}.part"
        shutil.copyfile(source, temp)
        os.replace(temp, target)

    def local_path(self, path: str) -> str | None:
        """Where the file lies on this host's disk, for sending it without reading it into memory."""
        full = self._path(path)
        return full if os.path.isfile(full) else None

    def get(self, path: str) -> bytes:
        try:
            with open(self._path(path), "rb") as fh:
                return fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise MediaMissing(path) from exc

    def exists(self, path: str) -> bool:
        return os.path.isfile(self._path(path))

    def delete(self, path: str) -> None:
        try:
            os.remove(self._path(path))
        except FileNotFoundError:
            pass

    def signed_url(self, path: str) -> str | None:
        return None  # a directory has no URLs of its own: the service passes the bytes on

    def paths(self) -> Iterator[str]:
        """Every stored file's path (temporary files of a write in progress left out)."""
        for folder, _dirs, files in os.walk(self.root):
            for name in sorted(files):
                if not name.startswith("."):
                    yield os.path.relpath(os.path.join(folder, name), self.root).replace(os.sep, "/")


class S3Storage:
    """Objects in a private bucket of an S3-compatible store (boto3)."""

    name = "s3"

    def __init__(self, *, bucket: str, endpoint_url: str = "", region: str = "", access_key_id: str = "",
                 secret_access_key: str = "", prefix: str = "", addressing_style: str = "auto",
                 signed_url_seconds: int = 0, client=None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.signed_url_seconds = signed_url_seconds
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None,
            config=Config(s3={"addressing_style": addressing_style}, connect_timeout=5, read_timeout=20,
                          retries={"max_attempts": 3, "mode": "standard"}))

    def _key(self, path: str) -> str:
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"media path outside the store: {path!r}")
        return self.prefix + path

    def put(self, path: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data, ContentType=content_type)

    def put_file(self, path: str, source: str, content_type: str) -> None:
        """Store the local file ``source`` (a large export), uploaded in parts by boto3."""
        self.client.upload_file(source, self.bucket, self._key(path), ExtraArgs={"ContentType": content_type})

    def local_path(self, path: str) -> str | None:
        return None

    def get(self, path: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(path))["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise MediaMissing(path) from exc

    def exists(self, path: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(path))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def delete(self, path: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(path))

    def signed_url(self, path: str) -> str | None:
        """A GET URL valid for ``signed_url_seconds`` (None when 0: the service passes the bytes on)."""
        if not self.signed_url_seconds:
            return None
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": self._key(path)},
                                                  ExpiresIn=self.signed_url_seconds)

    def paths(self) -> Iterator[str]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix):]


def from_settings(media, default_dir: str):
    """The store ``[media]`` (``settings.media``) describes; ``default_dir`` (``[app] media_dir``) when its
    ``dir`` is empty."""
    if media.backend == "s3":
        return S3Storage(bucket=media.bucket, endpoint_url=media.endpoint_url, region=media.region,
                         access_key_id=media.access_key_id, secret_access_key=media.secret_access_key,
                         prefix=media.prefix, addressing_style=media.addressing_style,
                         signed_url_seconds=media.signed_url_seconds)
    return LocalStorage(media.dir or default_dir)


def storage():
    """The current app's media store (installed by ``create_app``)."""
    return current_app.extensions[EXTENSION]


def copy_all(source, target, *, overwrite: bool = False) -> tuple[int, int]:
    """Copy every file of ``source`` to ``target`` (the operator's move to an object store); (copied, skipped).

    A file already in ``target`` is skipped unless ``overwrite``: a copy cut short is simply run again.
    """
    import mimetypes

    copied = skipped = 0
    for path in source.paths():
        if not overwrite and target.exists(path):
            skipped += 1
            continue
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        target.put(path, source.get(path), content_type)
        copied += 1
    return copied, skipped
