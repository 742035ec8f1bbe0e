"""An S3-compatible store for the tests: moto in server mode, as a process of its own on loopback.

``moto_s3`` (session) starts ``python -m moto.server`` on a free port and gives its endpoint;
``s3_settings`` gives a ``[media]`` table for a fresh bucket of it.  Import both into a test module.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
import requests

from tests.support.appfactory import free_port
from tests.support.processes import wait_for

KEY_ID, SECRET = "testing-key-id", "testing-secret-key"


@pytest.fixture(scope="session")
def moto_s3():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    endpoint = f"http://127.0.0.1:{port}"

    def answering():
        try:
            return requests.get(endpoint + "/moto-api/", timeout=1).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(answering, "moto's S3 server answers", timeout=60, processes=[proc])
        yield endpoint
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def s3_settings(endpoint: str, **extra) -> dict:
    """A ``[media]`` table for a new, private bucket of the moto server at ``endpoint``."""
    import boto3

    bucket = f"wx-media-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
                 aws_secret_access_key=SECRET).create_bucket(Bucket=bucket)
    return {"backend": "s3", "dir": "", "endpoint_url": endpoint, "bucket": bucket, "region": "us-east-1",
            "access_key_id": KEY_ID, "secret_access_key": SECRET, "prefix": "wx/", "addressing_style": "path",
            "signed_url_seconds": 0, **extra}
