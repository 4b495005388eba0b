"""Example answers for the API docs, taken from the demo (the 2021-01-29 outage at 17:40 HKT,
three minutes in, and the trading system upgrade scheduled after it), trimmed to a few
components and updates. `tests/api/test_schema.py` validates each against its schema."""

PAGE = {
    "id": "okxstatus001",
    "name": "OKX Status",
    "url": "http://127.0.0.1:8000",
    "time_zone": "Asia/Hong_Kong",
    "updated_at": "2021-01-29T17:40:00.000+08:00",
}
STATUS = {"page": PAGE, "status": {"indicator": "critical", "description": "Major System Outage"}}

GROUP = {
    "id": "dcowfa6y8fa1",
    "name": "API",
    "status": "major_outage",
    "created_at": "2020-01-01T09:00:00.000+08:00",
    "updated_at": "2021-01-29T17:40:00.000+08:00",
    "position": 4,
    "description": None,
    "showcase": False,
    "start_date": None,
    "group_id": None,
    "page_id": "okxstatus001",
    "group": True,
    "only_show_if_degraded": False,
    "components": ["cg5w04i1thhm", "h0nsvm5zfuze"],
}
COMPONENT = {
    "id": "cg5w04i1thhm",
    "name": "REST API",
    "status": "major_outage",
    "created_at": "2020-01-01T09:00:00.000+08:00",
    "updated_at": "2021-01-29T17:40:00.000+08:00",
    "position": 1,
    "description": "/api/v5 REST endpoints for trading and accounts",
    "showcase": True,
    "start_date": "2020-01-01",
    "group_id": "dcowfa6y8fa1",
    "page_id": "okxstatus001",
    "group": False,
    "only_show_if_degraded": False,
    "okx_service_type": "5",
    "trading_mode": None,
}
WEBSOCKET = {
    **COMPONENT,
    "id": "h0nsvm5zfuze",
    "name": "WebSocket API",
    "status": "degraded_performance",
    "updated_at": "2021-01-29T17:37:00.000+08:00",
    "position": 2,
    "description": "Public and private WebSocket channels",
    "okx_service_type": "0",
}
SPOT = {
    **COMPONENT,
    "id": "2jwa2or1u5bs",
    "name": "Spot trading",
    "status": "operational",
    "updated_at": "2021-01-29T18:18:00.000+08:00",
    "description": "Spot and margin order placement and matching",
    "group_id": "dy034v8t9ch7",
    "trading_mode": "normal",
}
COMPONENTS = {"page": PAGE, "components": [GROUP, COMPONENT, WEBSOCKET]}

INCIDENT = {
    "id": "bgmqbntjrfj1",
    "name": "Trading disruption: market data, order book and API calls failing",
    "status": "identified",
    "created_at": "2021-01-29T17:37:00.000+08:00",
    "updated_at": "2021-01-29T17:40:00.000+08:00",
    "monitoring_at": None,
    "resolved_at": None,
    "impact": "critical",
    "shortlink": "http://127.0.0.1:8000/incidents/bgmqbntjrfj1",
    "started_at": "2021-01-29T17:37:00.000+08:00",
    "page_id": "okxstatus001",
    "incident_updates": [
        {
            "id": "6w4kq0c3x1ab",
            "status": "identified",
            "body": (
                "We have found the cause: a sudden surge of traffic exceeded the bandwidth of our cache network, "
                "and calls between internal services are timing out. Session validation is among them, which is "
                "why API users see `30012`. Our emergency response procedure is under way."
            ),
            "incident_id": "bgmqbntjrfj1",
            "created_at": "2021-01-29T17:40:00.000+08:00",
            "updated_at": "2021-01-29T17:40:00.000+08:00",
            "display_at": "2021-01-29T17:40:00.000+08:00",
            "affected_components": [
                {
                    "code": "cg5w04i1thhm",
                    "name": "REST API",
                    "old_status": "partial_outage",
                    "new_status": "major_outage",
                }
            ],
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
            "phase": "identified",
            "affected_trading_modes": None,
        },
        {
            "id": "q2n7m5v8s0cd",
            "status": "investigating",
            "body": (
                "Our monitoring raised alarms across several services. Market data and order book depth have "
                "stopped updating on web and app, and API requests are failing with error `30012` "
                '"Invalid Authority". We are investigating.'
            ),
            "incident_id": "bgmqbntjrfj1",
            "created_at": "2021-01-29T17:37:00.000+08:00",
            "updated_at": "2021-01-29T17:37:00.000+08:00",
            "display_at": "2021-01-29T17:37:00.000+08:00",
            "affected_components": [
                {
                    "code": "cg5w04i1thhm",
                    "name": "REST API",
                    "old_status": "operational",
                    "new_status": "partial_outage",
                },
                {
                    "code": "h0nsvm5zfuze",
                    "name": "WebSocket API",
                    "old_status": "operational",
                    "new_status": "degraded_performance",
                },
            ],
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
            "phase": "investigating",
            "affected_trading_modes": None,
        },
    ],
    "components": [COMPONENT, WEBSOCKET],
    "kind": "incident",
    "identified_at": "2021-01-29T17:40:00.000+08:00",
    "durations": {"time_to_identify": 180, "time_to_mitigate": None, "time_to_resolve": None},
    "postmortem_body": None,
    "postmortem_published_at": None,
}
INCIDENTS_UNRESOLVED = {"page": PAGE, "incidents": [INCIDENT]}
INCIDENTS = {"page": PAGE, "incidents": [INCIDENT]}

MAINTENANCE = {
    "id": "zi7j5c4dpvg2",
    "name": "Spot and perpetual trading system upgrade",
    "status": "scheduled",
    "created_at": "2021-01-27T10:00:00.000+08:00",
    "updated_at": "2021-01-27T10:00:00.000+08:00",
    "monitoring_at": None,
    "resolved_at": None,
    "impact": "maintenance",
    "shortlink": "http://127.0.0.1:8000/incidents/zi7j5c4dpvg2",
    "started_at": "2021-02-03T06:00:00.000+08:00",
    "page_id": "okxstatus001",
    "incident_updates": [
        {
            "id": "wmm7hn8hz65y",
            "status": "scheduled",
            "body": (
                "We will upgrade the matching systems for spot and perpetual trading. Orders cannot be placed or "
                "cancelled during the window; open orders are kept. Deposits and withdrawals are not affected."
            ),
            "incident_id": "zi7j5c4dpvg2",
            "created_at": "2021-01-27T10:00:00.000+08:00",
            "updated_at": "2021-01-27T10:00:00.000+08:00",
            "display_at": "2021-01-27T10:00:00.000+08:00",
            "affected_components": None,
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
            "phase": "scheduled",
            "affected_trading_modes": None,
        }
    ],
    "components": [SPOT],
    "kind": "maintenance",
    "identified_at": None,
    "durations": {"time_to_identify": None, "time_to_mitigate": None, "time_to_resolve": None},
    "postmortem_body": None,
    "postmortem_published_at": None,
    "scheduled_for": "2021-02-03T06:00:00.000+08:00",
    "scheduled_until": "2021-02-03T07:00:00.000+08:00",
    "scheduled_remind_prior": True,
    "scheduled_auto_in_progress": True,
    "scheduled_auto_completed": True,
    "reschedule_note": None,
    "phase": "scheduled",
    "pre_open_at": None,
    "auto_pre_open": False,
}
MAINTENANCES = {"page": PAGE, "scheduled_maintenances": [MAINTENANCE]}
MAINTENANCES_ACTIVE = {"page": PAGE, "scheduled_maintenances": []}

SUMMARY = {
    "page": PAGE,
    "components": [GROUP, COMPONENT, WEBSOCKET],
    "incidents": [INCIDENT],
    "scheduled_maintenances": [MAINTENANCE],
    "status": STATUS["status"],
}

INCIDENT_READ = {
    "page": {**PAGE, "updated_at": None},
    "incident": {
        **INCIDENT,
        "status": "postmortem",
        "monitoring_at": "2021-01-29T17:58:00.000+08:00",
        "resolved_at": "2021-01-29T18:18:00.000+08:00",
        "durations": {"time_to_identify": 180, "time_to_mitigate": 1260, "time_to_resolve": 2460},
        "postmortem_body": "## Summary\n\nOn 29 January 2021, from 17:37 to 18:18 HKT, …",
        "postmortem_published_at": "2021-02-01T12:00:00.000+08:00",
    },
}
HISTORY = {"page": {**PAGE, "updated_at": None}, "incidents": [MAINTENANCE, INCIDENT], "next_cursor": None}

UPTIME = {
    "id": "cg5w04i1thhm",
    "name": "REST API",
    "range_start": "2021-01-29",
    "range_end": "2021-01-30",
    "uptime_percentage": 99.208,
    "weights": {
        "operational": 0.0,
        "under_maintenance": 0.0,
        "degraded_performance": 0.0,
        "partial_outage": 0.3,
        "major_outage": 1.0,
    },
    "days": [
        {
            "date": "2021-01-29",
            "uptime_percentage": 98.417,
            "observed_seconds": 86400,
            "degraded_performance_seconds": 420,
            "partial_outage_seconds": 960,
            "major_outage_seconds": 1080,
            "under_maintenance_seconds": 0,
        },
        {
            "date": "2021-01-30",
            "uptime_percentage": 100.0,
            "observed_seconds": 86400,
            "degraded_performance_seconds": 0,
            "partial_outage_seconds": 0,
            "major_outage_seconds": 0,
            "under_maintenance_seconds": 0,
        },
    ],
}

EVENTS = {
    "events": [
        {
            "seq": 26,
            "type": "component.status_changed",
            "created_at": "2021-01-29T17:40:00.000+08:00",
            "data": {
                "component": COMPONENT,
                "component_update": {
                    "id": "12",
                    "component_id": "cg5w04i1thhm",
                    "old_status": "partial_outage",
                    "new_status": "major_outage",
                    "created_at": "2021-01-29T17:40:00.000+08:00",
                    "component_type": "Component",
                },
            },
        },
        {
            "seq": 27,
            "type": "incident.updated",
            "created_at": "2021-01-29T17:40:00.000+08:00",
            "data": {"incident": INCIDENT},
        },
    ],
    "last_seq": 27,
    "reset": False,
    "has_more": False,
}
EVENTS_BAD_SINCE = {"since": ["Give the last seq you saw, a whole number."]}

# OKX: least to most severe, so the last row is the one that counts (ccxt reads it).
OKX = {
    "code": "0",
    "msg": "",
    "data": [
        {
            "id": "zi7j5c4dpvg2",
            "title": "Spot and perpetual trading system upgrade",
            "state": "scheduled",
            "begin": "1612303200000",
            "end": "1612306800000",
            "preOpenBegin": "",
            "href": "http://127.0.0.1:8000/incidents/zi7j5c4dpvg2",
            "serviceType": "5",
            "system": "unified",
            "scheDesc": "",
            "maintType": "1",
            "env": "1",
        },
        {
            "id": "bgmqbntjrfj1",
            "title": "Trading disruption: market data, order book and API calls failing",
            "state": "ongoing",
            "begin": "1611913020000",
            "end": "",
            "preOpenBegin": "",
            "href": "http://127.0.0.1:8000/incidents/bgmqbntjrfj1",
            "serviceType": "0",
            "system": "unified",
            "scheDesc": "",
            "maintType": "3",
            "env": "1",
        },
    ],
}
OKX_BAD_STATE = {"code": "51000", "msg": "Parameter state error", "data": []}

SUBSCRIBER = {
    "id": "hy7yu42slu4n",
    "kind": "email",
    "email": "ops@example.com",
    "endpoint": None,
    "state": "active",
    "owner_email": None,
    "language": "zh-hant",
    "components": [],
    "assets": [],
    "created_at": "2021-01-20T02:15:00.000+00:00",
}
WEBHOOK_SUBSCRIBER = {
    "id": "p4t9r2w6k8jz",
    "kind": "webhook",
    "email": None,
    "endpoint": "https://hooks.example.com/status",
    "state": "active",
    "owner_email": "oncall@example.com",
    "language": "en",
    "components": ["cg5w04i1thhm", "h0nsvm5zfuze"],
    "assets": ["USDT"],
    "created_at": "2021-01-22T08:30:00.000+00:00",
}
WEBHOOK_SUBSCRIBER_CREATED = {**WEBHOOK_SUBSCRIBER, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}

FIELD_ERRORS = {"name": ["This field may not be blank."], "body": ["This field is required."]}
NO_TOKEN = {"detail": "Authentication credentials were not provided."}
READ_TOKEN = {"detail": "This token may only read; writing needs a token with the write scope."}
NOT_FOUND = {"detail": "No Incident matches the given query."}
STATE_CONFLICT = {"status": ["The incident is resolved; open a new incident instead of updating this one."]}
THROTTLED = {"detail": "Request was throttled. Expected available in 42 seconds."}

USDT_ERC20 = {
    "id": "k3v9x2m8q1wd",
    "asset": "USDT",
    "network": "ERC20",
    "name": "Ethereum (ERC20)",
    "deposit": "enabled",
    "withdrawal": "suspended",
    "expected_at": "2021-01-29T20:00:00.000+08:00",
    "note": "Ethereum network congestion: withdrawals are paused until fees settle.",
    "updated_at": "2021-01-29T17:45:00.000+08:00",
}
FUNDING = {
    "page": PAGE,
    "assets": [{"id": "t8r2p6w4n0ac", "symbol": "USDT", "name": "Tether USD", "networks": [USDT_ERC20]}],
}
FUNDING_ISSUES = {"page": PAGE, "networks": [{**USDT_ERC20, "asset_name": "Tether USD"}]}

TEMPLATE = {
    "slug": "market-data-delayed",
    "kind": "incident",
    "title": "Market data delayed",
    "body": "Tickers, candles and order book depth are arriving late on web, app and API. Trading is not affected.",
    "status": "investigating",
    "impact_override": "",
    "duration_minutes": 60,
    "unscheduled": False,
    "components": [
        {"id": "b13yz5g2cw10", "name": "Market data", "status": "degraded_performance", "trading_mode": None}
    ],
    "translations": {"zh-hans": {"title": "行情数据延迟", "body": "…"}},
}

ALERTMANAGER_FIRING = {
    "version": "4",
    "groupKey": '{}:{alertname="ApiLatencyHigh"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "status-page",
    "groupLabels": {"alertname": "ApiLatencyHigh"},
    "commonLabels": {"alertname": "ApiLatencyHigh", "component": "rest-api", "severity": "warning"},
    "commonAnnotations": {"summary": "REST API slow", "description": "p99 latency is above 1 s."},
    "externalURL": "http://alertmanager.example:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "ApiLatencyHigh", "component": "rest-api", "severity": "warning"},
            "annotations": {"summary": "REST API slow", "description": "p99 latency is above 1 s."},
            "startsAt": "2021-01-29T09:37:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": "4b9a6f1a2c3d4e5f",
        }
    ],
}
ALERT_GROUP = {
    "group_key": '{}:{alertname="ApiLatencyHigh"}',
    "state": "draft",
    "name": "REST API slow",
    "proposed": {"b13yz5g2cw10": "degraded_performance"},
    "incident": None,
    "recovery_proposed": False,
}

METRIC_HEAD = {
    "id": "m4x9kq2w7c1z",
    "name": "REST API p99 latency",
    "unit": "ms",
    "decimals": 0,
    "component_id": "b13yz5g2cw10",
    "last_value": 182.0,
    "last_sampled_at": "2021-01-29T18:25:00.000+08:00",
}
METRICS = {"page": PAGE, "metrics": [METRIC_HEAD]}


def _period(interval: int, start: str, end: str, values: list) -> dict:
    first = 1611915300
    known = [v for v in values if v is not None]
    return {
        "interval_seconds": interval,
        "start": start,
        "end": end,
        "summary": {
            "last": known[-1],
            "mean": round(sum(known) / len(known)),
            "min": min(known),
            "max": max(known),
            "count": len(known),
        },
        "gaps": [{"start": "2021-01-29T17:39:00.000+08:00", "end": "2021-01-29T17:41:00.000+08:00"}],
        "data": [{"timestamp": first + i * interval, "value": v} for i, v in enumerate(values)],
    }


METRIC = {
    "metric": METRIC_HEAD,
    "first_sample_at": "2021-01-01T00:00:00.000+08:00",
    "periods": {
        "hour": _period(
            60,
            "2021-01-29T17:35:00.000+08:00",
            "2021-01-29T17:42:00.000+08:00",
            [180, 950, 4200, 5000, None, None, 182],
        ),
        "day": _period(
            300, "2021-01-29T17:10:00.000+08:00", "2021-01-29T17:45:00.000+08:00", [176, 181, 179, 183, 2475, 2600, 182]
        ),
        "week": _period(
            3600, "2021-01-29T12:00:00.000+08:00", "2021-01-29T19:00:00.000+08:00", [178, 180, 179, 181, 177, 860, 182]
        ),
        "month": _period(
            21600, "2021-01-28T02:00:00.000+08:00", "2021-01-29T20:00:00.000+08:00", [179, 178, 180, 181, 180, 311, 182]
        ),
    },
}
