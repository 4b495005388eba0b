"""The API docs describe the API: every route with its methods, real answers and every
example valid against the schema, one summary per operation, lists as arrays; and the
public reads described without DRF changing a byte of what they serve."""

import json
import re

import pytest
from django.test import RequestFactory, TestCase
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from incidents import services
from incidents.api import urls
from incidents.publish import documents, site

from ..factories import open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# The docs' own pages (schema, Swagger UI, ReDoc) are not part of the API they describe.
DOCS_ROUTES = {"api/schema/", "api/docs/", "api/redoc/"}
# Headers the project's middleware adds to every answer, whatever the view (and Content-Length).
MIDDLEWARE_HEADERS = {
    "Content-Security-Policy",
    "Cross-Origin-Opener-Policy",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
}


@pytest.fixture
def spec(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def openapi_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def routes():
    """(OpenAPI path, methods) of every route under api/ that `incidents.api.urls` serves."""
    for pattern in urls.urlpatterns:
        route = str(pattern.pattern)
        if route in DOCS_ROUTES:
            continue
        view_class = getattr(pattern.callback, "cls", None)
        methods = {m for m in METHODS if view_class is not None and hasattr(view_class, m)}
        yield openapi_path(route), methods or {"(a plain Django view the schema cannot see)"}


def response_schema(spec, path, method, code="200"):
    return spec["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]


def resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def assert_valid(spec, schema, instance, where):
    """The instance against the schema, `$ref`s resolved in the whole document, formats checked."""
    validator = OAS30Validator(
        {"allOf": [schema], "components": spec["components"]}, format_checker=OAS30Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{where}: " + "; ".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5])


# --- the schema covers the API ---------------------------------------------------------------


def test_every_route_is_in_the_schema_with_its_methods(spec):
    documented = {path: {m for m in item if m in METHODS} for path, item in spec["paths"].items()}
    missing = {path: methods - documented.get(path, set()) for path, methods in routes()}
    assert {path: methods for path, methods in missing.items() if methods} == {}
    # Nothing in the schema that is not served either.
    assert set(documented) == {path for path, _ in routes()}


def test_the_schema_validates_and_every_operation_has_its_own_summary(spec):
    validate(spec)
    summaries = [(operation.get("summary"), f"{method.upper()} {path}") for path, method, operation in operations(spec)]
    assert all(summary for summary, _ in summaries), [where for summary, where in summaries if not summary]
    seen = {}
    for summary, where in summaries:
        seen.setdefault(summary, []).append(where)
    assert {s: w for s, w in seen.items() if len(w) > 1} == {}


def test_each_maintenance_transition_has_its_own_summary_and_shapes(spec):
    transitions = {
        action: spec["paths"][f"/api/v1/maintenances/{{public_id}}/{action}"]["post"]
        for action in ("start", "verify", "complete", "cancel")
    }
    assert len({op["summary"] for op in transitions.values()}) == 4
    assert transitions["start"]["summary"].startswith("Start")
    assert transitions["verify"]["summary"].startswith("Mark a maintenance as verifying")
    assert transitions["complete"]["summary"].startswith("Complete")
    assert transitions["cancel"]["summary"].startswith("Cancel")
    for action, op in transitions.items():
        assert op["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/MaintenanceTransition"
        }, action
        assert response_schema(spec, f"/api/v1/maintenances/{{public_id}}/{action}", "post") == {
            "$ref": "#/components/schemas/ScheduledMaintenance"
        }


def test_list_endpoints_are_arrays(spec):
    for path in ("/api/v1/components", "/api/v1/subscribers"):
        schema = response_schema(spec, path, "get")
        assert schema["type"] == "array", path
        assert resolve(spec, schema["items"])["properties"], path


def test_every_answer_is_described_with_properties_and_an_example(spec):
    undescribed = []
    for path, method, operation in operations(spec):
        for code, response in operation["responses"].items():
            if code == "204":
                continue
            content = response.get("content", {}).get("application/json")
            if content is None:
                undescribed.append(f"{method.upper()} {path} {code}: no body described")
                continue
            schema = resolve(spec, content["schema"])
            shape = resolve(spec, schema.get("items", {})) if schema.get("type") == "array" else schema
            if not (shape.get("properties") or shape.get("additionalProperties") or shape.get("oneOf")):
                undescribed.append(f"{method.upper()} {path} {code}: no properties")
            if not content.get("examples"):
                undescribed.append(f"{method.upper()} {path} {code}: no example")
    assert undescribed == []


def test_every_example_matches_its_schema(spec):
    checked = 0
    for path, method, operation in operations(spec):
        for code, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json", {})
            for name, example in content.get("examples", {}).items():
                assert_valid(spec, content["schema"], example["value"], f"{method.upper()} {path} {code} {name}")
                checked += 1
    assert checked > 40


def test_the_okx_example_is_okx_shaped(spec):
    content = spec["paths"]["/api/v5/system/status"]["get"]["responses"]
    example = content["200"]["content"]["application/json"]["examples"]["Example"]["value"]
    assert example["code"] == "0" and example["msg"] == ""
    assert all(isinstance(value, str) for row in example["data"] for value in row.values())
    # ccxt reads the last row: the ongoing one comes last.
    assert example["data"][-1]["state"] == "ongoing"
    error = content["400"]["content"]["application/json"]["examples"]["Example"]["value"]
    assert error == {"code": "51000", "msg": "Parameter state error", "data": []}


# --- real answers match the schema ----------------------------------------------------------


@pytest.fixture
def busy_page(demo, operator):
    """The demo plus an open incident, a maintenance in progress, subscribers and a write token."""
    api = demo["incident"].components.get(name="REST API")
    open_incident(name="Withdrawals delayed", components={api: "degraded_performance"})
    ongoing = schedule_maintenance(name="Wallet upgrade", components=[api], hours_ahead=1)
    services.maintenance_start(maintenance=ongoing, actor=services.Actor.system())
    services.subscriber_create(actor=services.Actor.system(), email="ops@example.com", confirmed=True)
    services.subscriber_create(actor=services.Actor.system(), endpoint="https://1.1.1.1/hook", components=[api])
    site.refresh()
    token = services.api_token_create(user=operator, name="docs", scope="write")[1]
    return {**demo, "api": api, "ongoing": ongoing, "token": token}


def call(client, method, path, token=None, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    with TestCase.captureOnCommitCallbacks(execute=True):
        if method in ("get", "delete"):
            return getattr(client, method)(path, **headers)
        return getattr(client, method)(path, data=json.dumps(body or {}), content_type="application/json", **headers)


def check(client, spec, method, template, path=None, code="200", token=None, body=None):
    response = call(client, method, path or template, token, body)
    assert str(response.status_code) == code, (path or template, response.content[:300])
    assert_valid(spec, response_schema(spec, template, method, code), response.json(), f"{method} {path or template}")
    return response.json()


def test_every_public_read_answers_what_the_schema_says(client, spec, busy_page):
    incident, maintenance, api = busy_page["incident"], busy_page["maintenance"], busy_page["api"]
    for suffix in documents.STATUSPAGE_PATHS:
        body = check(client, spec, "get", f"/api/v2/{suffix}")
        assert body["page"]["id"] == "okxstatus001"
    summary = check(client, spec, "get", "/api/v2/summary.json")
    assert summary["incidents"] and len(summary["scheduled_maintenances"]) == 2
    assert check(client, spec, "get", "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"]
    for thing in (incident, maintenance):
        check(client, spec, "get", "/api/v2/incidents/{public_id}.json", f"/api/v2/incidents/{thing.public_id}.json")
    check(client, spec, "get", "/api/v2/incidents/{public_id}.json", "/api/v2/incidents/nope.json", code="404")
    uptime = "/api/v2/components/{public_id}/uptime.json"
    check(
        client, spec, "get", uptime, f"/api/v2/components/{api.public_id}/uptime.json?start=2021-01-01&end=2021-02-01"
    )
    check(client, spec, "get", uptime, f"/api/v2/components/{api.public_id}/uptime.json?start=soon", code="400")
    first = check(client, spec, "get", "/api/v2/history.json")
    assert {i["kind"] for i in first["incidents"]} == {"incident", "maintenance"}
    check(client, spec, "get", "/api/v2/history.json", "/api/v2/history.json?kind=maintenance")
    check(client, spec, "get", "/api/v2/history.json", "/api/v2/history.json?kind=outage", code="400")
    events = check(client, spec, "get", "/api/v2/events.json", "/api/v2/events.json?since=0")
    assert {e["type"] for e in events["events"]} >= {"incident.created", "component.status_changed"}
    check(client, spec, "get", "/api/v2/events.json", "/api/v2/events.json?since=x", code="400")
    okx = check(client, spec, "get", "/api/v5/system/status")
    assert [row["state"] for row in okx["data"]][-1] == "ongoing"
    check(client, spec, "get", "/api/v5/system/status", "/api/v5/system/status?state=completed")
    error = check(client, spec, "get", "/api/v5/system/status", "/api/v5/system/status?state=later", code="400")
    assert error["code"] == "51000"


def test_v1_answers_match_the_schema(client, spec, busy_page):
    token, api, maintenance = busy_page["token"], busy_page["api"], busy_page["maintenance"]
    components = check(client, spec, "get", "/api/v1/components", token=token)
    assert isinstance(components, list) and any(c["group"] for c in components)
    check(client, spec, "get", "/api/v1/components/{public_id}", f"/api/v1/components/{api.public_id}", token=token)
    subscribers = check(client, spec, "get", "/api/v1/subscribers", token=token)
    assert isinstance(subscribers, list) and {s["kind"] for s in subscribers} == {"email", "webhook"}
    created = check(
        client, spec, "post", "/api/v1/subscribers", code="201", token=token, body={"endpoint": "https://1.1.1.1/x"}
    )
    assert created["secret"].startswith("whsec_")
    check(client, spec, "get", "/api/v1/incidents/{public_id}", f"/api/v1/incidents/{busy_page['incident'].public_id}",
          token=token)  # fmt: skip
    for action in ("start", "verify", "complete"):
        body = check(
            client,
            spec,
            "post",
            f"/api/v1/maintenances/{{public_id}}/{action}",
            f"/api/v1/maintenances/{maintenance.public_id}/{action}",
            token=token,
        )
        assert body["kind"] == "maintenance"
    check(client, spec, "get", "/api/v1/components", code="401")
    check(client, spec, "post", "/api/v1/incidents", code="400", token=token, body={"name": ""})
    check(client, spec, "get", "/api/v1/incidents/{public_id}", "/api/v1/incidents/nope", code="404", token=token)


# --- described without changing what is served ----------------------------------------------


PUBLIC_READS = [f"/api/v2/{suffix}" for suffix in documents.STATUSPAGE_PATHS] + [
    "/api/v5/system/status",
    "/api/v5/system/status?state=completed",
    "/api/v5/system/status?state=later",
]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_ACCEPT": "text/html"},
        {"HTTP_ACCEPT": "application/xml"},
        {"HTTP_ACCEPT_ENCODING": "gzip, br"},
    ],
)
def test_public_reads_are_the_prepared_bytes_and_headers_exactly(client, busy_page, headers):
    """What `documents.serve` makes of the published file is what leaves: no 406 for an `Accept`, no `Allow`, no
    `Vary: Accept`; the same bytes, gzipped or not, and 304 on a matching ETag."""
    factory = RequestFactory()
    for path in PUBLIC_READS:
        query = dict(p.split("=") for p in path.split("?")[1:])
        response = client.get(path, **headers)  # first: the documents are published
        relpath = documents.published_path(path.split("?")[0], query)
        request = factory.get(path, **headers)
        if relpath:  # the published file, as nginx and the hot path send it
            expected = documents.serve(request, relpath, lambda: None)
        else:  # OKX's parameter error, from memory
            expected = documents.respond(request, documents.get(documents.document_name(path.split("?")[0], query)))
        assert response.status_code == expected.status_code, path
        assert response.content == expected.content, path
        assert dict(response.headers) == {
            **{k: v for k, v in response.headers.items() if k in MIDDLEWARE_HEADERS},
            **expected.headers,
            "Content-Length": str(len(expected.content)),
        }, path
        again = client.get(path, HTTP_IF_NONE_MATCH=response["ETag"], **headers)
        assert again.status_code == (304 if expected.status_code == 200 else expected.status_code), path


def test_public_reads_keep_get_and_head_only(client, busy_page):
    for path in (*PUBLIC_READS[:1], "/api/v5/system/status", "/api/v2/events.json"):
        head = client.head(path)
        assert head.status_code == 200 and head.content == b"", path
        for method in ("post", "put", "delete", "options"):
            response = getattr(client, method)(path)
            assert response.status_code == 405 and response["Allow"] == "GET, HEAD", (method, path)
