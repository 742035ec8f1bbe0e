"""The migrations, run to head on each engine, give exactly the schema the models declare; a migration that
moves data is run up and down over rows of the old shape."""

import uuid
from contextlib import contextmanager
from datetime import date, datetime

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import Migrate, downgrade, upgrade

from models import db
from wx_service import MIGRATIONS_DIR


def test_migrations_match_the_models(any_app):
    with any_app.app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_a_single_head(any_app):
    from alembic.script import ScriptDirectory
    from flask import current_app

    with any_app.app.app_context():
        config = current_app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


# ------------------------------------------------------------------ e0450370ea93: media_item, with data
BEFORE_MEDIA, MEDIA = "5a4ebac57f44", "e0450370ea93"
T0, T1 = "2026-11-30 10:00:00", "2026-11-30 10:01:00"
OLD_WISH_PHOTOS = [  # id, wish_id, account, media_id, state, path, content_type, attempts, last_error, created, stored
    (1, 10, "demo", "w1", "stored", "wishes/10/1.png", "image/png", 1, None, T0, T1),
    (2, 11, "demo", "w1", "stored", "wishes/10/1.png", "image/png", 1, None, T0, T1),  # the same media again
    (3, 10, "demo", "w2", "failed", None, None, 1, "errcode 40007", T0, None),
]
OLD_MAKEUP = (5, 1, 2, "2026-11-30", "both", "手机没电", "demo", "k1", "pending", None, None, 2, "errcode -1",
              "pending", T0)
OLD_VOICE = (7, 3, "demo", "v1", "jssdk", "ready", 1, None, "help/3/7.mp3", 3.2, T0, T1)
WISH_PHOTO_COLUMNS = "id, wish_id, account, media_id, state, path, content_type, attempts, last_error, created_at, stored_at"
MAKEUP_COLUMNS = ("id, project_id, volunteer_id, day, kind, reason, account, media_id, photo_state, photo_path, "
                  "photo_content_type, photo_attempts, photo_error, state, submitted_at")
VOICE_COLUMNS = ("id, request_id, account, media_id, source, state, attempts, last_error, mp3_path, duration, "
                 "created_at, ready_at")


@pytest.fixture(params=["postgres", "sqlite"])
def empty_database(request, tmp_path):
    """A database of its own (the migrations under test run against it), dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    admin = request.getfixturevalue("postgres_url").replace("postgresql+psycopg://", "postgresql://")
    name = f"wx_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield "postgresql+psycopg://" + admin.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rows(connection, table: str, columns: str) -> list[tuple]:
    return [tuple(str(v) if isinstance(v, datetime | date) else v for v in row)
            for row in connection.execute(sa.text(f"SELECT {columns} FROM {table} ORDER BY id"))]


@contextmanager
def _migrating(database_url: str, start: str):
    """A bare app on ``database_url`` migrated up to ``start``, its context pushed; ``_up``/``_down`` move on."""
    app = Flask("migrations_under_test")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    db.init_app(app)
    Migrate(app, db, directory=MIGRATIONS_DIR)
    with app.app_context():
        _up(start)
        yield


@contextmanager
def _old_rows():
    """A connection for rows of the old shape, committed at the end; without foreign key checks, so that the
    rows they point at can be left out."""
    with db.engine.begin() as connection:
        connection.execute(sa.text("SET session_replication_role = replica" if connection.dialect.name == "postgresql"
                                   else "PRAGMA foreign_keys = OFF"))
        yield connection


def _up(revision: str) -> None:
    upgrade(directory=MIGRATIONS_DIR, revision=revision)


def _down(revision: str) -> None:
    downgrade(directory=MIGRATIONS_DIR, revision=revision)


def _insert(connection, table: str, columns: str, rows) -> None:
    """Rows of the old shape, each a tuple in the order of ``columns``."""
    for row in rows:
        names = [f"v{i}" for i in range(len(row))]
        connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + n for n in names)})"),
                           dict(zip(names, row, strict=True)))


def test_media_items_take_over_the_rows_state_and_give_it_back(empty_database):
    with _migrating(empty_database, BEFORE_MEDIA):
        with _old_rows() as conn:
            # the wishes, projects and requests themselves are left out
            _insert(conn, "wish_photo", WISH_PHOTO_COLUMNS, OLD_WISH_PHOTOS)
            _insert(conn, "makeup_request", MAKEUP_COLUMNS, [OLD_MAKEUP])
            _insert(conn, "help_voice_note", VOICE_COLUMNS, [OLD_VOICE])

        _up(MEDIA)
        with db.engine.connect() as conn:
            items = {row[1]: row for row in _rows(conn, "media_item", "id, media_id, kind, purpose, state, reason, "
                                                                      "tries, path, content_type, seconds")}
            assert {m: row[2:] for m, row in items.items()} == {
                "w1": ("image", "wish_photo", "stored", None, 1, "wishes/10/1.png", "image/png", None),
                "w2": ("image", "wish_photo", "failed", "errcode 40007", 1, None, None, None),
                "k1": ("image", "makeup_photo", "pending", "errcode -1", 2, None, None, None),
                "v1": ("jssdk_voice", "help_voice", "stored", None, 1, "help/3/7.mp3", "audio/mpeg", 3.2)}
            assert _rows(conn, "wish_photo", "id, wish_id, media_item_id") == [
                (1, 10, items["w1"][0]), (2, 11, items["w1"][0]), (3, 10, items["w2"][0])]
            assert _rows(conn, "makeup_request", "id, photo_id") == [(5, items["k1"][0])]
            assert _rows(conn, "help_voice_note", "id, request_id, media_item_id, created_at") == [
                (7, 3, items["v1"][0], T0)]

        _down(BEFORE_MEDIA)
        with db.engine.connect() as conn:
            assert _rows(conn, "wish_photo", WISH_PHOTO_COLUMNS) == OLD_WISH_PHOTOS
            assert _rows(conn, "makeup_request", MAKEUP_COLUMNS) == [OLD_MAKEUP]
            assert _rows(conn, "help_voice_note", VOICE_COLUMNS) == [OLD_VOICE]
            assert "media_item" not in sa.inspect(conn).get_table_names()


# ------------------------------------- 4b1e7c2d9a60 + 7c3f9a1d5e42: certificate scope keys, national exports moved
BEFORE_RECORDS, RECORDS = "7c1e2d9a4b60", "7c3f9a1d5e42"
CERT_COLUMNS = ("id, number, kind, volunteer_id, issuer_org_id, project_id, period_start, period_end, cycle_count, "
                "total_hours, content_json, state, issued_at")
OLD_CERTS = [  # two valid duplicates of one scope (the race), a revoked one of it, a period certificate
    (1, "AAAA-AAAA-AAAA-AAAA", "project", 7, 3, 9, None, None, 2, 4, "{}", "valid", T0),
    (2, "BBBB-BBBB-BBBB-BBBB", "project", 7, 3, 9, None, None, 2, 4, "{}", "valid", T0),
    (3, "CCCC-CCCC-CCCC-CCCC", "project", 7, 3, 9, None, None, 2, 4, "{}", "revoked", T0),
    (4, "DDDD-DDDD-DDDD-DDDD", "period", 7, 1, None, "2026-01-01", "2026-11-30", 1, 2, "{}", "valid", T1),
]
OLD_CERT_CYCLES = [(1, 20), (1, 21), (2, 21), (2, 20), (3, 20), (3, 21), (4, 20)]
EXPORT_COLUMNS = ("id, requested_by_id, org_id, with_id_numbers, state, done_rows, total_rows, path, error, "
                  "requested_at, finished_at, downloaded_at")
OLD_EXPORTS = [(5, 7, 1, True, "done", 40, 40, "exports/national-5-ab.zip", None, T0, T1, T1),
               (6, 7, 1, False, "running", 3, 40, None, None, T1, None, None)]


def test_certificates_get_their_scope_and_national_exports_move_onto_data_export(empty_database):
    from models.records.certificates import scope_key

    with _migrating(empty_database, BEFORE_RECORDS):
        with _old_rows() as conn:
            _insert(conn, "certificate", CERT_COLUMNS, OLD_CERTS)
            for certificate_id, cycle_id in OLD_CERT_CYCLES:
                conn.execute(sa.text("INSERT INTO certificate_cycle (certificate_id, cycle_id) VALUES (:c, :y)"),
                             {"c": certificate_id, "y": cycle_id})
            _insert(conn, "national_export", EXPORT_COLUMNS, OLD_EXPORTS)

        _up(RECORDS)
        project_scope = scope_key(7, 3, "project", 9, None, {20, 21})
        period_scope = scope_key(7, 1, "period", None, (date(2026, 1, 1), date(2026, 11, 30)), {20})
        with db.engine.begin() as conn:
            assert _rows(conn, "certificate", "id, scope_key") == [
                (1, project_scope), (2, None), (3, project_scope), (4, period_scope)]  # the later duplicate: none
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():  # a second valid one of the scope
                conn.execute(sa.text("UPDATE certificate SET scope_key = :k WHERE id = 2"), {"k": project_scope})
            assert _rows(conn, "data_export", "kind, fmt, org_id, whole_ids, requested_by_id, state, rows_total, "
                                              "rows_done, path, error, created_at, downloaded_at, downloads") == [
                ("national", "csv", 1, True, 7, "done", 40, 40, "exports/national-5-ab.zip", None, T0, T1, 1),
                ("national", "csv", 1, False, 7, "failed", 40, 3, None, "系统升级，请重新导出。", T1, None, 0)]
            assert "national_export" not in sa.inspect(conn).get_table_names()

        _down(BEFORE_RECORDS)
        with db.engine.connect() as conn:
            assert _rows(conn, "national_export", EXPORT_COLUMNS) == [
                OLD_EXPORTS[0], (6, 7, 1, False, "failed", 3, 40, None, "系统升级，请重新导出。", T1, None, None)]
            assert _rows(conn, "data_export", "id") == []
            assert "scope_key" not in {c["name"] for c in sa.inspect(conn).get_columns("certificate")}


# ------------------------------------------------------------------ b7c41d2e9a60: 结项 photos onto media items
BEFORE_PHOTOS, PHOTOS = "7c3f9a1d5e42", "b7c41d2e9a60"
CLOSURE_COLUMNS = "id, project_id, account, media_id, state, path, content_type, attempts, error"
OLD_CLOSURE_PHOTOS = [
    (1, 40, "demo", "c1", "stored", "closures/40/1.jpg", "image/jpeg", 1, None),
    (2, 40, "demo", "c2", "failed", None, None, 5, "errcode 40007"),
    (3, 41, "demo", "c3", "pending", None, None, 2, "ConnectionError"),
    (4, 40, "demo", "c1", "stored", "closures/40/1.jpg", "image/jpeg", 1, None),  # c1 sent twice: one photo
]


def test_closure_photos_become_media_items_and_come_back(empty_database):
    with _migrating(empty_database, BEFORE_PHOTOS):
        with _old_rows() as conn:  # the projects themselves are left out
            for project_id in (40, 41):
                conn.execute(sa.text("INSERT INTO project_closure (project_id, summary, closed_at) VALUES "
                                     "(:p, '小结', :t)"), {"p": project_id, "t": T0})
            _insert(conn, "project_closure_photo", CLOSURE_COLUMNS, OLD_CLOSURE_PHOTOS)

        _up(PHOTOS)
        with db.engine.connect() as conn:
            items = {row[1]: row for row in _rows(conn, "media_item", "id, media_id, kind, purpose, state, reason, "
                                                                      "tries, path, content_type, created_at, "
                                                                      "stored_at, failed_at")}
            assert {m: row[2:] for m, row in items.items()} == {
                "c1": ("image", "closure_photo", "stored", None, 1, "closures/40/1.jpg", "image/jpeg", T0, T0, None),
                "c2": ("image", "closure_photo", "failed", "errcode 40007", 5, None, None, T0, None, T0),
                "c3": ("image", "closure_photo", "pending", "ConnectionError", 2, None, None, T0, None, None)}
            assert _rows(conn, "project_closure_photo", "id, project_id, media_item_id") == [
                (1, 40, items["c1"][0]), (2, 40, items["c2"][0]), (3, 41, items["c3"][0])]
            assert {"practice_place_photo"} <= set(sa.inspect(conn).get_table_names())
            assert "photo_item_id" in {c["name"] for c in sa.inspect(conn).get_columns("practice_need")}

        _down(BEFORE_PHOTOS)
        with db.engine.connect() as conn:
            assert _rows(conn, "project_closure_photo", CLOSURE_COLUMNS) == OLD_CLOSURE_PHOTOS[:3]
            assert _rows(conn, "media_item", "id") == []
            assert "practice_place_photo" not in sa.inspect(conn).get_table_names()
