"""This node's published site: every public read written as a file after every change.

`publish()` brings the directory (`store`) up to the current snapshot:

- the documents drawn from the snapshot (the page, the first history page, the
  Statuspage v2 reads, OKX) from memory, the same bytes every process makes;
- the incident pages (HTML, `/api/v2/incidents/<id>.json` and the live region their
  sockets are sent) of the incidents the changes since the last publish touched, and the
  feeds and uptime documents, from the database, once per change on each node.

It runs after every commit in the writer (services), in every web process's hub when it
hears of a change (pub/sub or its poll), and with the periodic refresh; a lock and the
marker (the snapshot last published) make all but the first a no-op. Older incidents are
published on their first read (`incident`) and kept until a change touches them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .. import languages, selectors
from ..models import Component, Incident, PageState, PublicEvent
from ..wire import metrics, page
from ..wire import statuspage as v2
from ..wire.time import page_tz
from . import documents, feeds, regions, snapshot, store

# Bumped when what is published changes shape: the directory is then published afresh.
FORMAT = 1
# More changes than this since the last publish: publish the recent set afresh.
CATCH_UP_LIMIT = 1000
# The incident documents published with every fresh start: the open ones and the newest.
RECENT_INCIDENTS = 50
# Directories of documents drawn from the database (emptied on a fresh start).
DERIVED_DIRS = ("incidents", "api/v2/incidents", "components", "api/v2/components", "api/v2/metrics", store.PRIVATE)

logger = logging.getLogger(__name__)


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _modified(data: dict) -> int:
    return int(datetime.fromisoformat(data["built_at"]).timestamp())


# --- the documents drawn from the database -------------------------------------------------


def incident_page_path(public_id: str, code: str | None = None) -> str:
    return f"{_dir(code)}incidents/{public_id}.html"


def incident_json_path(public_id: str, code: str | None = None) -> str:
    return f"{_dir(code)}api/v2/incidents/{public_id}.json"


def incident_live_path(public_id: str, code: str | None = None) -> str:
    return f"{store.PRIVATE}/{_dir(code)}incidents/{public_id}.json"


def uptime_path(public_id: str, code: str | None = None) -> str:
    return f"{_dir(code)}api/v2/components/{public_id}/uptime.json"


def _dir(code: str | None) -> str:
    return languages.directory(code or languages.default())


def incident_files(incident: Incident, seq: int) -> dict[str, bytes]:
    """An incident's page, its JSON read and its live region (`regions.incident_message`),
    in every language."""
    files: dict[str, bytes] = {}
    for code in languages.codes():
        with translation.override(code):
            entry = v2.incident_json(incident)
            context = {
                "incident": entry,
                "status_page": settings.STATUS_PAGE,
                "page_path": f"/incidents/{incident.public_id}",
                "untranslated": set(page.untranslated([incident, *incident.components.all()])),
            }
            article = render_to_string("status/_incident_article.html", context)
            title = f"{incident.name} · {settings.STATUS_PAGE['NAME']}"
            # The seq it shows, read before the incident: its live client replaces the
            # article only on a later change.
            files[incident_page_path(incident.public_id, code)] = render_to_string(
                "status/incident.html", {**context, "live_seq": seq}
            ).encode()
            files[incident_json_path(incident.public_id, code)] = _json({"page": v2.page_json(None), "incident": entry})
            files[incident_live_path(incident.public_id, code)] = _json(
                {"html": article, "title": title, "untranslated": sorted(context["untranslated"])}
            )
    return files


def uptime_files(components: list[Component], now: datetime) -> dict[str, bytes]:
    """Each component's default uptime range (the last 90 days, page time zone), in every
    language (the component's name)."""
    tz = page_tz()
    end = now.astimezone(tz).date()
    start = end - timedelta(days=snapshot.UPTIME_DAYS - 1)
    days = selectors.daily_uptime(components, first_day=start, last_day=end, now=now, tz=tz)
    files = {}
    for code in languages.codes():
        with translation.override(code):
            for c in components:
                files[uptime_path(c.public_id, code)] = _json(v2.uptime_json(c, start, end, days[c.pk]))
    return files


def metric_path(public_id: str, code: str | None = None) -> str:
    return f"{_dir(code)}api/v2/metrics/{public_id}.json"


def metric_files(data: dict) -> dict[str, bytes]:
    """Each public metric's charts (`/api/v2/metrics/<id>.json`), in every language (its
    name), drawn from the snapshot: no query."""
    files = {}
    spelled = {
        head["id"]: metrics.periods_spelled(data["metric_periods"][head["id"]], head["decimals"])
        for head in data["metrics"]
    }
    for code in languages.codes():
        for head in snapshot.in_language(data, code)["metrics"]:
            prepared = data["metric_periods"][head["id"]]
            files[metric_path(head["id"], code)] = _json(metrics.metric_json(head, prepared, spelled[head["id"]]))
    return files


def _remove_unlisted_metrics(files: dict[str, bytes]) -> None:
    """A metric no longer published: its document goes (the rest are rewritten)."""
    for code in languages.codes():
        folder = store.root() / languages.directory(code) / "api/v2/metrics"
        for path in folder.glob("*.json") if folder.is_dir() else ():
            relpath = f"{_dir(code)}api/v2/metrics/{path.name}"
            if relpath not in files:
                store.remove(relpath)


def feed_files(components: list[Component], *, whole_page: bool) -> dict[str, bytes]:
    """The history feeds (the page's, each component's), in every language."""
    targets: list[Component | None] = [None] if whole_page else []
    targets += components
    files = {}
    for c in targets:
        items = feeds.entries(c)  # read once: both formats, every language
        for code in languages.codes():
            with translation.override(code):
                for fmt in feeds.FEEDS:
                    files[_dir(code) + feeds.feed_path(fmt, c)] = feeds.render(fmt, c, items)
    return files


# --- publishing ----------------------------------------------------------------------------


def incident(public_id: str) -> dict[str, bytes] | None:
    """Publish one incident's documents if they are not there yet (its first read); they
    are returned. None when there is no such incident."""
    seq = snapshot.current()["seq"]
    found = selectors.incident_detail(public_id)
    if found is None:
        return None
    files = incident_files(found, seq)
    modified = int(timezone.now().timestamp())
    with contextlib.suppress(OSError):
        for relpath, body in files.items():
            # Never over a newer copy the publisher may have written meanwhile.
            store.write(relpath, body, modified, replace=False)
    return files


def missing(relpath: str) -> bytes | None:
    """A document drawn from the database that is not published yet (a first read, or a
    new node): published now; None when it names nothing."""
    code, inner = languages.split_path("/" + relpath)
    inner = inner[1:]
    if inner.startswith("api/v2/metrics/"):
        return metric_files(snapshot.current()).get(relpath)
    if inner.startswith(("incidents/", "api/v2/incidents/")):
        public_id = relpath.rsplit("/", 1)[1].rsplit(".", 1)[0]
        files = incident(public_id)
        return None if files is None else files[relpath]
    # Uptime and feeds are published with every change: only a component that is not
    # visible (or a directory that cannot be written) gets here.
    component_id = inner.split("/")[-2] if inner.startswith(("components/", "api/v2/components/")) else None
    component = None
    if component_id is not None:
        component = Component.objects.filter(public_id=component_id, is_hidden=False).first()
        if component is None:
            return None
    if inner.endswith("uptime.json"):
        return uptime_files([component], timezone.now()).get(relpath)
    return feed_files([component] if component else [], whole_page=component is None).get(relpath)


_failed: dict[str, float] = {}
RETRY_AFTER_FAILURE = 10.0


def ensure_published() -> None:
    """Publish now unless a publish failed moments ago (a reader's request must not
    re-run a failing publish for every reader)."""
    if time.monotonic() - _failed.get("at", -RETRY_AFTER_FAILURE) >= RETRY_AFTER_FAILURE:
        publish()


def publish(data: dict | None = None) -> bool:
    """Bring this node's directory up to the current snapshot; False if it already was.
    Never raises: the published files stay as they were, and the next change or the
    periodic refresh tries again."""
    try:
        with store.exclusive():
            return _publish(data or snapshot.current())
    except Exception:
        _failed["at"] = time.monotonic()
        logger.exception("publishing the documents failed; the files stay as they were")
        return False


def _publish(data: dict) -> bool:
    marker = store.read_json(store.MARKER) or {}
    key = [data["seq"], data["built_at"]]
    fresh = marker.get("format") != FORMAT
    if not fresh and marker.get("key") == key:
        return False
    if not fresh and _is_older(key, marker["key"]):
        # Another process of this node published a newer snapshot while this one was on
        # its way (a hub that heard of a change before the writer's rebuild): nothing to
        # do. Only a database that went back (restored, reset) starts the files afresh.
        if marker["seq"] <= (PageState.objects.filter(pk=1).values_list("seq", flat=True).first() or 0):
            return False
        fresh = True
    if not fresh and data["seq"] - marker["seq"] > CATCH_UP_LIMIT:
        fresh = True
    now = timezone.now()
    modified = _modified(data)
    files: dict[str, bytes] = {
        relpath: doc.body for relpath, doc in documents.snapshot_files(documents.all_languages(data)).items()
    }
    visible = selectors.visible_components()
    if fresh:
        for code in languages.codes():
            for directory in DERIVED_DIRS:
                shutil.rmtree(store.root() / languages.directory(code) / directory, ignore_errors=True)
        incidents = _recent_incidents(data)
        components = visible
    else:
        incidents, components = _touched(marker["seq"], data["seq"], visible)
    found = {i.public_id: i for i in selectors.with_timeline(Incident.objects.filter(public_id__in=incidents))}
    for public_id in incidents:
        if public_id in found:
            files.update(incident_files(found[public_id], data["seq"]))
        else:
            for code in languages.codes():
                for relpath in (
                    incident_page_path(public_id, code),
                    incident_json_path(public_id, code),
                    incident_live_path(public_id, code),
                ):
                    store.remove(relpath)
    # Uptime moves with the clock (today's observed seconds): a change republishes the
    # components it touched, the periodic refresh (nothing touched) every one.
    files.update(uptime_files(components or visible, now))
    metric_docs = metric_files(data)
    files.update(metric_docs)
    _remove_unlisted_metrics(metric_docs)
    if incidents or components:
        files.update(feed_files(components, whole_page=bool(incidents) or fresh))
    written = sum(store.write(relpath, body, modified) for relpath, body in files.items())
    store.write_json(store.MARKER, {"format": FORMAT, "seq": data["seq"], "key": key})
    logger.info("published seq %s: %d of %d files changed", data["seq"], written, len(files))
    return True


def _is_older(key: list, than: list) -> bool:
    """Is the snapshot `key` ([seq, built_at]) older than `than`?"""
    return (key[0], datetime.fromisoformat(key[1])) < (than[0], datetime.fromisoformat(than[1]))


def _recent_incidents(data: dict) -> set[str]:
    """What readers open during an incident: every open one and the newest of each kind."""
    ids = {i["id"] for i in data["incidents"] + data["scheduled_maintenances"] + data["history"]["incidents"]}
    ids |= {i["id"] for i in data["incidents_recent"][:RECENT_INCIDENTS]}
    ids |= {i["id"] for i in data["maintenances_recent"][:RECENT_INCIDENTS]}
    return ids


def _touched(after: int, upto: int, visible: list[Component]) -> tuple[set[str], list[Component]]:
    """The incidents and components the changes `after` < seq <= `upto` touched."""
    events = PublicEvent.objects.filter(seq__gt=after, seq__lte=upto)
    incident_ids = set(events.exclude(incident=None).values_list("incident__public_id", flat=True))
    component_pks = set(events.exclude(component=None).values_list("component_id", flat=True))
    if incident_ids:
        component_pks |= set(
            Incident.components.through.objects.filter(incident__public_id__in=incident_ids).values_list(
                "component_id", flat=True
            )
        )
    return incident_ids, [c for c in visible if c.pk in component_pks]


def snapshot_document(name: str, code: str | None = None) -> documents.Document:
    """A snapshot document whose file is missing (a new node, a first start): published
    now, and its bytes from memory meanwhile."""
    ensure_published()
    return documents.get(name, code)


def serve_snapshot(request, name: str, code: str | None = None):
    """A snapshot document in the request's language (`documents.language_of`)."""
    code = code or languages.default()
    relpath = languages.directory(code) + documents.SNAPSHOT_FILES[name]
    return documents.serve(request, relpath, lambda: snapshot_document(name, code))


def serve_derived(request, relpath: str, not_found: str):
    """A document drawn from the database: the file, else published now, else a 404."""

    def fallback():
        made = missing(relpath)
        if made is None:
            raise Http404(not_found)
        return made

    return documents.serve(request, relpath, fallback)


# --- what a live page socket is sent ------------------------------------------------------


def incident_message(public_id: str, data: dict, code: str | None = None) -> str | None:
    """One incident's article for its watchers in one language, from its published live
    region (published now on a first read): no render per socket or per connect."""
    if not documents.is_id(public_id):
        return None
    region = store.read_json(incident_live_path(public_id, code))
    if region is None:
        files = incident(public_id)
        if files is None:
            return None
        region = json.loads(files[incident_live_path(public_id, code)])
    return json.dumps(
        {
            "type": "update",
            "view": f"incident:{public_id}",
            "seq": data["seq"],
            "regions": {"incident": region["html"]},
            "title": region["title"],
            **regions.tab(data),
        }
    )


def zoned_incident(public_id: str, code: str, tz) -> documents.Document | None:
    """An incident's page in `code` with times in `tz`, from its published JSON and live
    region (no query once published): for readers who chose a zone, once per change."""
    entry_file, live_file = incident_json_path(public_id, code), incident_live_path(public_id, code)
    if store.read(entry_file) is None and incident(public_id) is None:
        return None
    found, live = store.read(entry_file), store.read_json(live_file)
    if found is None or live is None:
        return None
    key = ("incident", public_id, code, tz.key, found.variants[""].etag)
    cached = _zoned_incidents.get(key)
    if cached is None:
        entry = json.loads(found.variants[""].body)["incident"]
        context = {
            "incident": entry,
            "status_page": settings.STATUS_PAGE,
            "page_path": f"/incidents/{public_id}",
            "untranslated": set(live.get("untranslated", ())),
            "live_seq": snapshot.current()["seq"],
        }
        with translation.override(code), timezone.override(tz):
            html = render_to_string("status/incident.html", context)
        cached = documents.Document.of_bytes(html.encode(), documents.HTML, timezone.now())
        if len(_zoned_incidents) >= documents.ZONED_KEEP:
            _zoned_incidents.clear()
        _zoned_incidents[key] = cached
    return cached


_zoned_incidents: dict[tuple, documents.Document] = {}


def has_live_region(view: str) -> bool:
    public_id = view.removeprefix("incident:")
    return documents.is_id(public_id) and (store.root() / incident_live_path(public_id)).exists()


def state_message(view: str, data: dict, code: str | None = None) -> str | None:
    """The current state of a view in one language: what a client gets on connect or
    when polling."""
    if view == "home":
        return regions.page_message(data, code)
    if view.startswith("incident:"):
        return incident_message(view.removeprefix("incident:"), data, code)
    if view in REFETCHED_VIEWS:
        return regions.history_message(data, view)
    return None


# The pages that refetch themselves when told of a change, rather than being sent regions.
REFETCHED_VIEWS = ("history", "funding")
LIVE_VIEWS = ("home", *REFETCHED_VIEWS)


def refresh() -> dict:
    """Rebuild the snapshot from the database and publish this node's files: what follows
    every committed change and the periodic refresh. Returns the snapshot."""
    data = snapshot.rebuild()
    publish(data)
    return data
