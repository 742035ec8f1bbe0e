"""A voice from WeChat (AMR from chat, speex from ``wx.uploadVoice``; the sandbox sends a WAV labelled speex)
transcoded with ffmpeg to MP3, so any phone browser plays it, and its duration read with ffprobe."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"
EXTENSIONS = {"audio/amr": "amr", "audio/speex": "speex", "audio/wav": "wav", "audio/x-wav": "wav",
              "audio/mpeg": "mp3", "audio/mp3": "mp3"}


class TranscodeError(Exception):
    pass


def to_mp3(data: bytes, content_type: str) -> tuple[bytes, float | None]:
    """(the MP3's bytes, its duration in seconds)."""
    if not data:
        raise TranscodeError("empty media")
    ext = EXTENSIONS.get((content_type or "").split(";")[0].strip().lower(), "bin")
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, f"in.{ext}")
        with open(source, "wb") as handle:
            handle.write(data)
        out = os.path.join(tmp, "out.mp3")
        # ffmpeg probes the real format (a "speex" upload may be WAV or Ogg Speex).
        proc = subprocess.run([FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", source,
                               "-vn", "-ac", "1", "-ar", "22050", "-b:a", "48k", "-t", "65", out],
                              capture_output=True, timeout=60)
        if proc.returncode != 0 or not os.path.exists(out) or os.path.getsize(out) == 0:
            raise TranscodeError(proc.stderr.decode(errors="replace")[-200:] or "ffmpeg failed")
        with open(out, "rb") as handle:
            return handle.read(), _duration(out)


def _duration(path: str) -> float | None:
    try:
        proc = subprocess.run([FFPROBE, "-v", "error", "-show_entries", "format=duration", "-of",
                               "default=nw=1:nk=1", path], capture_output=True, timeout=20, text=True)
        return round(float(proc.stdout.strip()), 1)
    except (ValueError, OSError, subprocess.SubprocessError):
        return None
