"""Notification delivery: the job that sends outbox rows, the after-commit hook and the sweep.

``models.notify`` / ``notify_many`` note new row ids for after the commit; :func:`submit_committed`
turns them into :func:`deliver_notifications` jobs of at most ``BATCH`` ids once the transaction
has committed.  The job is idempotent: each row is claimed with a conditional UPDATE before it is sent
and finished with another, and template messages carry a ``client_msg_id`` derived from the row's
key, so a job run twice (or a worker killed between sending and recording) never delivers twice.

Errors: 43004/43101 → ``failed_permanent`` and the follower marked not following; 40037, 40003,
47003 (and other configuration/data errors) → ``failed_permanent``, logged with the kind; 45009,
system busy and network errors → the row stays pending and the job raises so rq retries it with
exponential back-off, until ``[notifications] max_attempts`` turns the row ``failed``.  40001/42001
are handled by ``AccountClient`` (token refresh and one retry).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import requests
from flask import current_app
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from models import Follower, Notification, chat_text, clock, db
from models import notification as outbox
from models.notification_kinds import lines, template_data, title

from . import job
from . import settings as current_settings
from .metrics import DELIVERIES

log = logging.getLogger(__name__)

BATCH = 100
CLAIM_CHUNK = 25  # rows claimed by one UPDATE while a batch is sent
NOT_FOLLOWING = (43004, 43101)
PERMANENT = (40003, 40037, 47003, 47001, 40048, 40008, 48001, 43019)
WINDOW_CLOSED = (45015, 45047)  # customer-service message outside the 48 h window: inbox only


class DeliveryDeferred(Exception):
    """Some rows met a transient error and stay pending: rq retries the job with back-off."""


def retry_policy(settings=None) -> tuple[int, list[int]] | None:
    """(retries, intervals) for rq's ``Retry``: ``retry_base_seconds`` doubling each time."""
    conf = (settings or current_settings()).notifications
    retries = max(conf.max_attempts - 1, 0)
    if not retries:
        return None
    return retries, [conf.retry_base_seconds * 2**i for i in range(retries)]


def submit(ids) -> int:
    """Submit delivery jobs for ``ids`` in batches at once (no transaction involved); jobs submitted."""
    ids = sorted(set(int(i) for i in ids))
    submitted = 0
    for start in range(0, len(ids), BATCH):
        if deliver_notifications.now(ids[start:start + BATCH]):
            submitted += 1
    return submitted


def submit_committed(notes: dict[str, list]) -> None:
    """After a commit: the rows its transaction wrote leave in batches (a failure here: the sweep's)."""
    submit(notes[outbox.PENDING_DELIVERY])


# ---------------------------------------------------------------------------- rate limit
def reserve_sends(account: str, rate: int, wanted: int) -> int:
    """Wait for send slots and take up to ``wanted`` of them in one count; how many were taken.

    At most ``rate`` sends per second per account, counted across every worker in the shared store
    (Redis when configured, else the database).  One reservation takes at most a tenth of a second's
    slots, so a group sent across the edge of a second cannot push the next second far over the rate.
    """
    if rate <= 0:
        return wanted
    wanted = max(1, min(wanted, rate // 10))
    store = current_app.extensions["wx_store"]
    while True:
        second = int(time.time())
        count = store.incr(f"notify:rate:{account}:{second}", 2, wanted)
        granted = min(wanted, rate - (count - wanted))
        if granted > 0:
            return granted
        time.sleep(max(second + 1 - time.time(), 0.005))


# ---------------------------------------------------------------------------- the job
@job(retry=retry_policy)
def deliver_notifications(ids: list[int]) -> dict:
    """Deliver the outbox rows ``ids`` (a batch).  Idempotent; raises DeliveryDeferred to be retried.

    The batch is read in two queries (rows, then every recipient's bindings and follower state),
    rows with no way to a phone are marked inbox-only together, and the others are claimed a chunk at
    a time (one conditional UPDATE … RETURNING) and sent as :func:`_send_claimed` says.  All these
    transactions run on one database connection held for the batch.
    """
    outcomes: dict[str, int] = {}
    deferred = 0
    threads = max(1, current_settings().notifications.send_threads)
    with _one_connection(), ThreadPoolExecutor(threads, thread_name_prefix="wechat-send") as senders:
        for outcome in _deliver_batch([int(i) for i in ids], senders):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            deferred += outcome == "deferred"
    for outcome, count in outcomes.items():
        DELIVERIES.labels(outcome).inc(count)
    if deferred:
        raise DeliveryDeferred(f"{deferred} of {len(ids)} notifications deferred after a transient error")
    return outcomes


@contextmanager
def _one_connection():
    """``db.session`` on one pooled connection held for the whole batch: its many short transactions
    then cost no pool checkout each (with ``pool_pre_ping``, a round trip to the database each)."""
    db.session.remove()
    with db.engine.connect() as connection:
        db.session.registry.set(Session(bind=connection))
        try:
            yield
        finally:
            db.session.remove()


def _claim_chunk(conf) -> int:
    """Rows claimed at once: as many as the rate limit lets us send in half the lease, 1 to CLAIM_CHUNK."""
    rate = conf.rate_per_second
    if rate <= 0:
        return CLAIM_CHUNK
    return max(1, min(CLAIM_CHUNK, rate * conf.lease_seconds // 2))


def _deliver_batch(ids: list[int], senders: ThreadPoolExecutor):
    settings = current_settings()
    conf = settings.notifications
    rows = Notification.pending_of(ids)
    yield from ["skipped"] * (len(set(ids)) - len(rows))
    if not rows:
        db.session.rollback()
        return
    contacts = outbox.contacts_of_many(row.volunteer_id for row in rows if row.volunteer_id is not None)
    followers = outbox.contacts_of_followers((row.account, row.openid) for row in rows if row.volunteer_id is None)
    templates = {name: account.templates for name, account in settings.accounts.items()}
    now = clock.now()

    def contacts_for(row):
        return contacts.get(row.volunteer_id, []) if row.volunteer_id is not None else followers[(row.account, row.openid)]

    routed = [(row, outbox.choose_route(row.kind, contacts_for(row), settings.main_account.name,
                                        templates, now)) for row in rows]
    db.session.rollback()  # end the read transaction: claims and results are short transactions of their own

    inbox = [(row, route) for row, route in routed if route.channel == outbox.INBOX]
    if inbox:
        for row, route in inbox:
            yield outbox.INBOX_ONLY if Notification.mark_inbox_only(row.id, now, account=route.account) else "skipped"
        db.session.commit()
    sendable = [(row, route) for row, route in routed if route.channel != outbox.INBOX]
    chunk = _claim_chunk(conf)
    for start in range(0, len(sendable), chunk):
        part = sendable[start:start + chunk]
        claimed = Notification.claim_many([row.id for row, _route in part], clock.now(), conf.lease_seconds)
        db.session.commit()
        yield from ["skipped"] * sum(row.id not in claimed for row, _route in part)
        yield from _send_claimed(settings, senders, [pair for pair in part if pair[0].id in claimed])


def _send_claimed(settings, senders: ThreadPoolExecutor, claimed: list):
    """Send claimed rows in groups of reserved rate-limit slots, a group's sends in flight together,
    and record what was sent.

    Template messages are recorded ``sent`` a group at a time (one UPDATE and COMMIT): a worker killed
    between a send and that record leaves the group's rows to be sent again once their lease runs out,
    and the ``client_msg_id`` makes WeChat drop those repeats (it honours one for 10 minutes, longer than
    the lease plus the sweep's minute).  Customer-service texts carry no such id, so each is recorded
    as soon as its answer is read.
    """
    app = current_app._get_current_object()
    clients = app.extensions["wechat"]
    rate = settings.notifications.rate_per_second
    while claimed:
        account = claimed[0][1].account
        run = next((i for i, (_row, route) in enumerate(claimed) if route.account != account), len(claimed))
        granted = reserve_sends(account, rate, run)
        group, claimed = claimed[:granted], claimed[granted:]
        client = clients.client(account)
        posts = [senders.submit(_post, app, client, *_message(settings, row, route)) for row, route in group]
        sent = []
        for (row, route), post in zip(group, posts, strict=True):
            outcome = _outcome(row, route, post.exception())
            if outcome == outbox.SENT and route.channel == outbox.CUSTOM:
                Notification.mark_sent([row.id], account, route.channel, clock.now())
                db.session.commit()
            elif outcome == outbox.SENT:
                sent.append(row.id)
            yield outcome
        Notification.mark_sent(sent, account, outbox.TEMPLATE, clock.now())
        db.session.commit()


def _message(settings, row, route) -> tuple[str, dict]:
    """The API endpoint and body that deliver ``row`` along ``route``."""
    data = dict(row.data or {})
    url = _message_url(settings, row, route.account)
    if route.channel == outbox.TEMPLATE:
        return "message/template/send", {
            "touser": route.openid, "template_id": route.template_id, "url": url,
            "data": template_data(row.kind, data), "client_msg_id": outbox.client_msg_id(row.key)}
    return "message/custom/send", {
        "touser": route.openid, "msgtype": "text", "text": {"content": custom_text(row.kind, data, url)}}


def _post(app, client, endpoint: str, body: dict) -> None:
    """One send, on a sender thread: only the HTTP call (and the token from the shared store, which
    without Redis is the database: hence the app context)."""
    with app.app_context():
        client.post(endpoint, data=body)


def _outcome(row, route, error: BaseException | None) -> str:
    """``sent``, or the outcome of the send's error (recorded by :func:`_failed`)."""
    if error is None:
        return outbox.SENT
    extra = {"kind": row.kind, "account": route.account, "notification": row.id, "channel": route.channel}
    if isinstance(error, WeChatClientException):
        return _failed(row.id, route, error.errcode, f"{error.errcode}: {error.errmsg}", extra)
    if isinstance(error, (requests.RequestException, OSError)):
        return _failed(row.id, route, None, f"network: {error.__class__.__name__}: {error}"[:500], extra)
    # e.g. the token lock timed out: release the row for a retry, keep the trace
    log.error("notification of kind %s: unexpected error while sending", row.kind, exc_info=error, extra=extra)
    return _failed(row.id, route, None, f"{error.__class__.__name__}: {error}"[:500], extra)


def _failed(notification_id: int, route, errcode, error: str, extra: dict) -> str:
    now = clock.now()
    conf = current_settings().notifications
    if errcode in NOT_FOLLOWING:
        Notification.mark_failed_permanent(notification_id, route.account, route.channel, error)
        Follower.mark_not_following(route.account, route.openid, now)
        db.session.commit()
        log.info("notification not delivered, the user does not follow: %s", error, extra=extra)
        return outbox.FAILED_PERMANENT
    if route.channel == outbox.CUSTOM and errcode in WINDOW_CLOSED:
        Notification.mark_inbox_only(notification_id, now, account=route.account, reason=error)
        db.session.commit()
        return outbox.INBOX_ONLY
    if errcode in PERMANENT:
        Notification.mark_failed_permanent(notification_id, route.account, route.channel, error)
        db.session.commit()
        log.error("notification of kind %s refused by WeChat (configuration or data): %s", extra["kind"], error,
                  extra=extra)
        return outbox.FAILED_PERMANENT
    row = db.session.get(Notification, notification_id, populate_existing=True)
    attempt = row.attempts if row else 1
    retry_in = conf.retry_base_seconds * 2 ** max(attempt - 1, 0)
    state = Notification.defer(notification_id, route.account, route.channel, error, now, conf.max_attempts,
                               retry_in)
    db.session.commit()
    if state == outbox.FAILED:
        log.error("notification of kind %s failed after %d attempts: %s", extra["kind"], attempt, error, extra=extra)
        return outbox.FAILED
    log.warning("notification of kind %s deferred (attempt %d): %s", extra["kind"], attempt, error, extra=extra)
    return "deferred"


def _message_url(settings, row, account: str | None) -> str:
    """Messages open the inbox entry (marking it read), which goes on to the notification's link; a
    follower without a volunteer account has no inbox and goes to the link itself."""
    base = settings.app.base_url.rstrip("/")
    if row.volunteer_id is None and row.link:
        if row.link.startswith(("http://", "https://")):
            return row.link
        return f"{base}{row.link}{'&' if '?' in row.link else '?'}account={account}"
    return f"{base}/m/me/inbox/{row.id}?account={account}&go=1"


def custom_text(kind: str, data: dict, url: str) -> str:
    """The customer-service text: our labels and link, the values (names, titles, notes…) neutralised."""
    return chat_text.join([chat_text.compose("【{title}】", title=title(kind)),
                           *(chat_text.compose("{label}：{value}", label=label, value=value[:200])
                             for label, value in lines(kind, data)),
                           chat_text.link(url, "查看详情")])


# ---------------------------------------------------------------------------- the sweep
@job()
def sweep_notifications(now=None, older_than: int = 60) -> int:
    """Re-enqueue rows still pending a minute after they were written (or due for a retry):
    a notification written while Redis was down, or held by a worker that died, is delivered later."""
    ids = Notification.due_for_sweep(now or clock.now(), older_than)
    db.session.commit()
    if ids:
        submit(ids)
        log.info("sweep re-enqueued %d pending notifications", len(ids), extra={"job": "sweep_notifications"})
    return len(ids)
