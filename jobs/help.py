"""一喊就来 jobs: fetch a call's voice from WeChat and keep it as MP3; escalate unclaimed requests.

The callback (or the page's upload) answers at once and the request is announced in the same
transaction; :func:`fetch_voice` then downloads the media — ``media/get`` for a chat voice (AMR),
``media/get/jssdk`` for ``wx.uploadVoice`` (speex; the sandbox sends a WAV labelled speex) — well
before WeChat's 3-day expiry, and transcodes it with ffmpeg to MP3 so any phone browser plays it.
A failed download raises, so rq retries it (its declared retry); ``sweep_voice_notes`` re-enqueues
notes still pending later (Redis down at commit, retries exhausted by a long outage).
Both jobs are idempotent: a note already ready is left alone; escalation happens once per request.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile

from models import clock, db
from models import help_request as hr

from . import job, media, settings

log = logging.getLogger(__name__)

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"
EXTENSIONS = {"audio/amr": "amr", "audio/speex": "speex", "audio/wav": "wav", "audio/x-wav": "wav",
              "audio/mpeg": "mp3", "audio/mp3": "mp3"}


class VoiceNotYet(Exception):
    """The media could not be fetched this time; rq retries the job."""


@job(retry=(5, [3, 10, 30, 120, 600]))
def fetch_voice(note_id: int) -> str:
    """Download, transcode and store one voice note; its state afterwards."""
    try:
        note = db.session.get(hr.VoiceNote, note_id)
        if note is None:
            return "missing"
        if note.state != hr.V_PENDING:
            return note.state
        kind = media.JSSDK_VOICE if note.source == hr.JSSDK else media.CHAT_VOICE
        account, media_id, request_id = note.account, note.media_id, note.request_id
        if not hr.VoiceNote.start_attempt(note_id):
            db.session.commit()
            return "skipped"
        db.session.commit()
        try:
            data, content_type = media.fetch(account, media_id, kind=kind)
        except media.MediaFailure as exc:
            hr.VoiceNote.record_error(note_id, exc.reason, permanent=exc.permanent)
            db.session.commit()
            if exc.permanent:
                log.error("voice note %s cannot be fetched: %s", note_id, exc.reason)
                return hr.V_FAILED
            raise VoiceNotYet(f"media download failed: {exc.reason}") from exc
        try:
            relative, duration = store_mp3(data, content_type, request_id, note_id)
        except TranscodeError as exc:
            hr.VoiceNote.record_error(note_id, f"transcode: {exc}", permanent=True)
            db.session.commit()
            log.error("voice note %s could not be transcoded: %s", note_id, exc)
            return hr.V_FAILED
        hr.VoiceNote.mark_ready(note_id, relative, duration, clock.now())
        db.session.commit()
        return hr.V_READY
    finally:
        db.session.remove()


class TranscodeError(Exception):
    pass


def store_mp3(data: bytes, content_type: str, request_id: int, note_id: int) -> tuple[str, float | None]:
    """Write ``help/<request>/<note>.mp3`` under the media dir; (relative path, duration seconds)."""
    if not data:
        raise TranscodeError("empty media")
    folder = os.path.join(settings().app.media_dir, "help", str(request_id))
    os.makedirs(folder, exist_ok=True)
    ext = EXTENSIONS.get((content_type or "").split(";")[0].strip().lower(), "bin")
    relative = f"help/{request_id}/{note_id}.mp3"
    target = os.path.join(settings().app.media_dir, relative)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
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
        os.replace(out, target)
    return relative, _duration(target)


def _duration(path: str) -> float | None:
    try:
        proc = subprocess.run([FFPROBE, "-v", "error", "-show_entries", "format=duration", "-of",
                               "default=nw=1:nk=1", path], capture_output=True, timeout=20, text=True)
        return round(float(proc.stdout.strip()), 1)
    except (ValueError, OSError, subprocess.SubprocessError):
        return None


@job()
def sweep_voice_notes(now=None) -> int:
    """Re-enqueue voice notes still pending a few minutes after the call."""
    ids = hr.VoiceNote.due_for_sweep(now or clock.now())
    db.session.commit()
    for note_id in ids:
        fetch_voice.now(note_id)
    if ids:
        log.info("sweep re-enqueued %d voice notes", len(ids), extra={"job": "sweep_voice_notes"})
    return len(ids)


@job()
def escalate_help_requests(now=None) -> list[int]:
    """Periodic: requests unclaimed for 24 hours → escalated, station admins told again (once)."""
    ids = hr.escalate_due(now or clock.now(), tz=settings().app.timezone)
    db.session.commit()
    if ids:
        log.info("escalated %d help requests", len(ids), extra={"job": "escalate_help_requests"})
    return ids
