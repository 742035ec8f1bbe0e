"""风采 of a 文明实践 centre (part 4 §三.4, 图4-26: 新闻、风采、平台、随手拍、阵地、视频): the photos its places and
their activities have published, newest first, paged.

Two kinds of photo, both items of the one media pipeline and shown only once stored:
- ``place``: 场所图片 of the centre and every place below it (set by their admins);
- ``snap``: 随手拍 photos of 文明实践 activities held there, once the project's admins approved them (审照).
One UNION over both, ordered by when each was published, so a page is one query whatever the mix.
结项 photos are not among them: the manual (part 2 §三.19) publishes 活动风采（结项） only after the platform's
editors reviewed it, and that review is not built; they show to the project's admins on its 结项 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, literal, select

from .. import media
from ..base import db, label_of
from ..photos import APPROVED, ProjectPhoto
from ..project import APPROVED as PROJECT_APPROVED
from ..project import Project
from .tables import Place, PlacePhoto, PracticeProject, place_subtree

PLACE, SNAP = "place", "snap"
KINDS = (PLACE, SNAP)
KIND_LABELS = {PLACE: "阵地风貌", SNAP: "随手拍"}
PER_PAGE = 12
ON_HOME = 6  # the newest shown on the 微主页


@dataclass(frozen=True)
class Shot:
    """One photo of the 风采: what it shows (a place's or an activity's name) and when it was published."""

    kind: str
    id: int
    item: media.MediaItem
    caption: str
    at: datetime
    place_id: int | None = None
    project_id: int | None = None

    kind_label = label_of("kind", KIND_LABELS)


@dataclass(frozen=True)
class GalleryPage:
    shots: list[Shot]
    page: int
    has_more: bool


def _stored():
    return select(media.MediaItem.id).where(media.MediaItem.state == media.STORED)


def _practice_projects(within: Place | None):
    query = (select(PracticeProject.project_id).join(Place, Place.id == PracticeProject.place_id)
             .join(Project, Project.id == PracticeProject.project_id).where(Project.status == PROJECT_APPROVED))
    return query.where(place_subtree(within)) if within is not None else query


def _sources(within: Place | None):
    places = select(literal(PLACE, String).label("kind"), PlacePhoto.id.label("id"), PlacePhoto.created_at.label("at")
                    ).join(Place, Place.id == PlacePhoto.place_id).where(PlacePhoto.media_item_id.in_(_stored()))
    if within is not None:
        places = places.where(place_subtree(within))
    snaps = select(literal(SNAP, String), ProjectPhoto.id, ProjectPhoto.created_at).where(
        ProjectPhoto.state == APPROVED, ProjectPhoto.project_id.in_(_practice_projects(within)))
    return places.union_all(snaps).subquery()


def of_centre(centre: Place | None, *, page: int = 1, per_page: int = PER_PAGE) -> GalleryPage:
    """风采 of ``centre`` and the places below it (the whole city with None), newest first."""
    page = max(1, page)
    rows = _sources(centre)
    found = db.session.execute(select(rows.c.kind, rows.c.id).order_by(rows.c.at.desc(), rows.c.kind, rows.c.id.desc())
                               .offset((page - 1) * per_page).limit(per_page + 1)).all()
    shots = _shots(found[:per_page])
    return GalleryPage(shots, page, len(found) > per_page)


def _shots(found) -> list[Shot]:
    ids = {kind: [i for k, i in found if k == kind] for kind in KINDS}
    loaded: dict[tuple[str, int], Shot] = {}
    for photo in PlacePhoto.query.filter(PlacePhoto.id.in_(ids[PLACE])) if ids[PLACE] else ():
        loaded[PLACE, photo.id] = Shot(PLACE, photo.id, photo.item, photo.place.name, photo.created_at,
                                       place_id=photo.place_id)
    for photo in ProjectPhoto.query.filter(ProjectPhoto.id.in_(ids[SNAP])) if ids[SNAP] else ():
        loaded[SNAP, photo.id] = Shot(SNAP, photo.id, photo.item, photo.project.name, photo.created_at,
                                      project_id=photo.project_id)
    return [loaded[kind, i] for kind, i in found if (kind, i) in loaded]


def public_item(kind: str, photo_id: int) -> media.MediaItem | None:
    """The stored item of a photo that stands in some 风采 (anyone may see it), else None."""
    if kind not in KINDS:
        return None
    rows = _sources(None)
    if db.session.execute(select(rows.c.id).where(rows.c.kind == kind, rows.c.id == photo_id)).first() is None:
        return None
    model = {PLACE: PlacePhoto, SNAP: ProjectPhoto}[kind]
    return db.session.get(model, photo_id).item
