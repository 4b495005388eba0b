"""The demo: an exchange's components and its 2021-01-29 outage, told update by update.

Facts from the exchange's own report (shared/seed): detection 17:37 HKT, cause identified
17:40, core functions back on web and app 17:58, perpetual-contract API still timing out
18:05, fully restored 18:18. Everything goes through the services, like an operator's
work, so the audit log, the events and the snapshot are what a real incident leaves.

Two more things make the demo look alive: a few small incidents and a maintenance in the
last 90 days, so the uptime bars show what they are for (`load_demo(recent=True)`, what
`manage.py load_demo` does), and `replay`, which posts the 2021 timeline again on today's
date, compressed in time, for someone watching the page (`load_demo --replay`, `make demo`),
trading reopening through a pre-open phase with its countdown.

Every text is written in English with its Simplified and Traditional Chinese beside it
(`tr`) and handed to the services as their `translations`, so the page shows the story in
each of its languages.
"""

from __future__ import annotations

import math
import random
import time as clock
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from . import rules, services
from .models import Asset, Component, ComponentGroup, Incident, Metric, OkxServiceType, Template

HKT = ZoneInfo("Asia/Hong_Kong")
SYSTEM = services.Actor.system()

# --- languages -----------------------------------------------------------------------------

ENGLISH = "en"
CHINESE = ("zh-hans", "zh-hant")
# English text -> {language: its version}, filled by tr().
_TRANSLATED: dict[str, dict[str, str]] = {}


def tr(en: str, hans: str, hant: str) -> str:
    """`en`, remembered with its Simplified (`hans`) and Traditional (`hant`) Chinese.

    It gives back the English, so the data below keeps its shape (and the English text
    where it is used), with the other two languages right beside it."""
    versions = dict(zip(CHINESE, (hans, hant), strict=True))
    if _TRANSLATED.setdefault(en, versions) != versions:
        raise ValueError(f"Two translations of {en!r}")
    return en


def _in(language: str, en: str) -> str:
    """A text written with tr(), in `language`."""
    return en if language == ENGLISH else _TRANSLATED[en][language]


def translations(**fields: str) -> dict[str, dict[str, str]]:
    """The `translations` of a service call, from the English texts it is given:
    translations(name=n, body=b) -> {"zh-hans": {"name": …, "body": …}, "zh-hant": {…}}."""
    return {language: {field: _in(language, en) for field, en in fields.items()} for language in CHINESE}


# --- the 2021-01-29 outage -----------------------------------------------------------------

# (group, [(component, description, OKX serviceType)])
COMPONENTS = [
    (
        tr("Platform", "平台", "平台"),
        [
            (
                tr("Website", "网站", "網站"),
                tr("okx.com trading and account pages", "okx.com 交易及账户页面", "okx.com 交易及帳戶頁面"),
                OkxServiceType.OTHERS,
            ),
            (
                tr("Mobile app", "手机 App", "手機 App"),
                tr("iOS and Android apps", "iOS 及 Android App", "iOS 及 Android App"),
                OkxServiceType.OTHERS,
            ),
        ],
    ),
    (
        tr("Market data", "行情数据", "行情資料"),
        [
            (
                tr("Market data", "行情数据", "行情資料"),
                tr("Tickers, candles and trade history", "实时行情、K线及成交记录", "即時行情、K線及成交紀錄"),
                OkxServiceType.WEBSOCKET,
            ),
            (
                tr("Order book", "订单簿", "訂單簿"),
                tr(
                    "Order book depth on web, app and API",
                    "网页端、App 及 API 的订单簿深度",
                    "網頁版、App 及 API 的訂單簿深度",
                ),
                OkxServiceType.WEBSOCKET,
            ),
        ],
    ),
    (
        tr("Trading", "交易", "交易"),
        [
            (
                tr("Spot trading", "现货交易", "現貨交易"),
                tr(
                    "Spot and margin order placement and matching",
                    "现货及杠杆交易的下单与撮合",
                    "現貨及槓桿交易的下單與撮合",
                ),
                OkxServiceType.TRADING,
            ),
            (
                tr("Perpetual contracts", "永续合约", "永續合約"),
                tr("Perpetual swap trading", "永续合约交易", "永續合約交易"),
                OkxServiceType.PERPETUAL,
            ),
        ],
    ),
    (
        tr("API", "API", "API"),
        [
            (
                tr("REST API", "REST API", "REST API"),
                tr(
                    "/api/v5 REST endpoints for trading and accounts",
                    "交易及账户相关的 /api/v5 REST 接口",
                    "交易及帳戶相關的 /api/v5 REST 端點",
                ),
                OkxServiceType.TRADING,
            ),
            (
                tr("WebSocket API", "WebSocket API", "WebSocket API"),
                tr(
                    "Public and private WebSocket channels",
                    "WebSocket 公共频道及私有频道",
                    "WebSocket 公共頻道及私有頻道",
                ),
                OkxServiceType.WEBSOCKET,
            ),
        ],
    ),
    (
        tr("Account", "账户", "帳戶"),
        [
            (
                tr("Authentication", "身份验证", "身份驗證"),
                tr(
                    "Login, API keys and session validation",
                    "登录、API Key 及会话验证",
                    "登入、API 金鑰及工作階段驗證",
                ),
                OkxServiceType.OTHERS,
            ),
            (
                tr("Deposits and withdrawals", "充币与提币", "充幣與提幣"),
                tr("On-chain deposits and withdrawals", "链上充币与提币", "鏈上充幣與提幣"),
                OkxServiceType.OTHERS,
            ),
        ],
    ),
]

# The trading products (components with a trading mode).
TRADING = (tr("Spot trading", "现货交易", "現貨交易"), tr("Perpetual contracts", "永续合约", "永續合約"))

# The trading modes each TIMELINE update sets, by its index: order processing stalled at
# 17:37 (no order could be placed or cancelled), and trading worked again at 17:58.
TIMELINE_MODES = {
    0: {"Spot trading": "halted", "Perpetual contracts": "halted"},
    2: {"Spot trading": "normal", "Perpetual contracts": "normal"},
}

INCIDENT_NAME = tr(
    "Trading disruption: market data, order book and API calls failing",
    "交易服务中断：行情、订单簿及 API 调用异常",
    "交易服務中斷：行情、訂單簿及 API 呼叫異常",
)
INCIDENT_START = datetime(2021, 1, 29, 17, 37, tzinfo=HKT)


def _at(hour: int, minute: int) -> datetime:
    return datetime(2021, 1, 29, hour, minute, tzinfo=HKT)


# (time, status, body, {component: status})
TIMELINE = [
    (
        _at(17, 37),
        "investigating",
        tr(
            "Our monitoring raised alarms across several services. Market data and order book "
            "depth have stopped updating on web and app, and API requests are failing with error "
            '`30012` "Invalid Authority". We are investigating.',
            "我们的监控系统在多项服务上触发告警。网页端和 App 的行情及订单簿深度已停止更新，"
            "API 请求返回错误码 `30012`“Invalid Authority”。我们正在调查中。",
            "我們的監控系統在多項服務觸發警報。網頁版及 App 的行情與訂單簿深度已停止更新，"
            "API 請求回傳錯誤碼 `30012`「Invalid Authority」。我們正在調查中。",
        ),
        {
            "Market data": "major_outage",
            "Order book": "major_outage",
            "REST API": "partial_outage",
            "Authentication": "partial_outage",
            "WebSocket API": "degraded_performance",
            "Spot trading": "partial_outage",
            "Perpetual contracts": "partial_outage",
            "Website": "degraded_performance",
            "Mobile app": "degraded_performance",
        },
    ),
    (
        _at(17, 40),
        "identified",
        tr(
            "We have found the cause: a sudden surge of traffic exceeded the bandwidth of our "
            "cache network, and calls between internal services are timing out. Session "
            "validation is among them, which is why API users see `30012`. Our emergency "
            "response procedure is under way.",
            "我们已查明原因：流量突然激增，超出了缓存网络的带宽，导致内部服务之间的调用超时。"
            "受影响的调用包括会话验证，因此 API 用户会收到错误码 `30012`。我们已启动应急响应流程。",
            "我們已查明原因：流量突然激增，超出了快取網路的頻寬，導致內部服務之間的呼叫逾時。"
            "受影響的呼叫包括工作階段驗證，因此 API 用戶會收到錯誤碼 `30012`。我們已啟動緊急應變程序。",
        ),
        {"REST API": "major_outage"},
    ),
    (
        _at(17, 58),
        "monitoring",
        tr(
            "Core functions are restored: market data, order book depth and trading work again "
            "on web and app. Perpetual contract API requests can still time out; we are "
            "watching them closely.",
            "核心功能已恢复：网页端和 App 的行情、订单簿深度及交易均已正常运行。"
            "永续合约 API 请求仍可能超时，我们正在密切监控。",
            "核心功能已恢復：網頁版及 App 的行情、訂單簿深度與交易均已正常運作。"
            "永續合約 API 請求仍可能逾時，我們正密切監控。",
        ),
        {
            "Market data": "operational",
            "Order book": "operational",
            "Spot trading": "operational",
            "Website": "operational",
            "Mobile app": "operational",
            "WebSocket API": "operational",
            "Authentication": "operational",
            "REST API": "degraded_performance",
        },
    ),
    (
        _at(18, 5),
        "identified",
        tr(
            "The perpetual contract API is still timing out: internal events delayed during the "
            "disruption built up a backlog that is being processed. Other services are working "
            "normally.",
            "永续合约 API 请求仍然超时：中断期间延迟的内部事件形成积压，目前正在处理。其他服务运行正常。",
            "永續合約 API 請求仍然逾時：中斷期間延遲的內部事件形成積壓，目前正在處理。其他服務運作正常。",
        ),
        {"REST API": "partial_outage"},
    ),
    (
        _at(18, 18),
        "resolved",
        tr(
            "The event backlog has cleared and the perpetual contract API answers normally. All "
            "services are fully restored. No balances or records were affected. A postmortem "
            "follows.",
            "积压的事件已处理完毕，永续合约 API 响应恢复正常。所有服务已全面恢复。"
            "账户余额及交易记录均未受影响。事故复盘报告将随后发布。",
            "積壓的事件已處理完畢，永續合約 API 回應恢復正常。所有服務已全面恢復。"
            "帳戶餘額及交易紀錄均未受影響。事故檢討報告將於稍後發布。",
        ),
        {"REST API": "operational", "Perpetual contracts": "operational"},
    ),
]

POSTMORTEM = tr(
    """\
## Summary

On 29 January 2021, from 17:37 to 18:18 HKT, users could not rely on market data, order
book depth or trading through web, app and API. Critical trading functions were back
after **21 minutes**; everything, including the perpetual contract API, after
**41 minutes**. No funds or records were affected: this was a loss of availability, not of
data.

## What happened

A sudden spike in user traffic went beyond the throughput our cache layer was designed
for. The cache cluster's outbound bandwidth saturated, so services that depend on it
answered late, and calls between internal services began to time out.

* Authentication timed out while validating sessions, so API users received `30012`
  "Invalid Authority" although their keys were valid.
* Order processing and market data publishing stalled, so prices and depth froze on web
  and app.
* Events delayed during the disruption queued up; after the rest recovered, the
  perpetual contract API kept timing out until that backlog was processed (18:18).

The load pattern had not been covered by our capacity tests: an edge case under extreme
load that we now test for.

## Timeline (HKT)

| time | what happened |
|---|---|
| 17:37 | Monitoring alerts; market data stops updating; API errors `30012` |
| 17:40 | Cause identified: cache network bandwidth saturated; emergency response started |
| 17:58 | Market data, order book and trading restored on web and app |
| 18:05 | Perpetual contract API still timing out from an event backlog |
| 18:18 | Backlog cleared; all services fully restored |

## What we are changing

1. **Engineering quality and testing.** New features are tested longer in a simulated
   trading environment before release; every release runs automated regression and
   performance benchmarks; regular chaos-engineering drills look for weak points before
   users find them.
2. **Architecture for high availability.** We are moving to a multi-node, multi-region
   design: redundant systems in separate data centres, load balancing and failover, and
   isolation of critical components such as the matching engine and risk management.
3. **Hot updates and stateless services.** Non-critical logic can be patched without
   restarts, and services are made stateless where possible, so upgrades need no
   maintenance window.
4. **Capacity.** Infrastructure now handles higher traffic volumes, with predictive
   scaling that adds resources ahead of demand spikes.

## Staying informed

This page, its API (`/api/v2/` and OKX's `/api/v5/system/status`) and the `status`
WebSocket channel carry every incident and maintenance as it happens.
""",
    """\
## 概述

2021 年 1 月 29 日 17:37 至 18:18（香港时间），用户无法通过网页端、App 及 API 稳定获取行情数据、订单簿深度或进行交易。关键交易功能在 **21 分钟**后恢复；包括永续合约 API 在内的全部服务在 **41 分钟**后全面恢复。资金及记录均未受到影响：本次事故仅影响服务可用性，未造成任何数据丢失。

## 事件经过

用户流量突然激增，超出了缓存层的设计吞吐量。缓存集群的出口带宽被占满，依赖它的服务响应变慢，内部服务之间的调用随之开始超时。

* 身份验证服务在验证会话时超时，因此即使 API Key 有效，API 用户仍收到错误码 `30012`“Invalid Authority”。
* 订单处理与行情推送停滞，网页端和 App 上的价格及深度因此停止更新。
* 中断期间延迟的事件不断积压；其他服务恢复后，永续合约 API 仍持续超时，直至积压处理完毕（18:18）。

此前的容量测试未覆盖这种负载模式：这是极端负载下的一个边界情况，现已纳入我们的测试范围。

## 时间线（香港时间）

| 时间 | 事件 |
|---|---|
| 17:37 | 监控告警；行情停止更新；API 返回错误码 `30012` |
| 17:40 | 查明原因：缓存网络带宽饱和；启动应急响应 |
| 17:58 | 网页端和 App 的行情、订单簿及交易恢复 |
| 18:05 | 永续合约 API 因事件积压仍有超时 |
| 18:18 | 积压处理完毕；所有服务全面恢复 |

## 改进措施

1. **工程质量与测试。** 新功能上线前须在模拟交易环境中经过更长时间的测试；每次发布均运行自动化回归测试及性能基准测试；定期开展混沌工程演练，赶在用户发现之前找出薄弱环节。
2. **高可用架构。** 我们正在向多节点、多地域架构迁移：在不同数据中心部署冗余系统，采用负载均衡与故障转移，并隔离撮合引擎、风控系统等关键组件。
3. **热更新与无状态服务。** 非关键逻辑可在不重启服务的情况下修补，服务也尽可能设计为无状态，升级无需停机维护窗口。
4. **容量。** 基础设施现已能承载更高的流量，并通过预测式扩容在需求高峰到来之前提前增加资源。

## 获取最新状态

本页面、其 API（`/api/v2/` 及 OKX 的 `/api/v5/system/status`）以及 `status` WebSocket 频道会实时发布每一次事故与维护。
""",
    """\
## 概述

2021 年 1 月 29 日 17:37 至 18:18（香港時間），用戶無法透過網頁版、App 及 API 穩定取得行情資料、訂單簿深度或進行交易。關鍵交易功能於 **21 分鐘**後恢復；包括永續合約 API 在內的所有服務於 **41 分鐘**後全面恢復。資金及紀錄均未受影響：本次事故僅影響服務可用性，並未造成任何資料遺失。

## 事件經過

用戶流量突然激增，超出了快取層的設計吞吐量。快取叢集的對外頻寬被佔滿，依賴它的服務回應變慢，內部服務之間的呼叫隨之開始逾時。

* 身份驗證服務在驗證工作階段時逾時，因此即使 API 金鑰有效，API 用戶仍收到錯誤碼 `30012`「Invalid Authority」。
* 訂單處理與行情推送停滯，網頁版及 App 上的價格與深度因此停止更新。
* 中斷期間延遲的事件不斷積壓；其他服務恢復後，永續合約 API 仍持續逾時，直到積壓處理完畢（18:18）。

先前的容量測試並未涵蓋這種負載模式：這是極端負載下的一個邊界情況，現已納入我們的測試範圍。

## 時間軸（香港時間）

| 時間 | 事件 |
|---|---|
| 17:37 | 監控警報；行情停止更新；API 回傳錯誤碼 `30012` |
| 17:40 | 查明原因：快取網路頻寬飽和；啟動緊急應變 |
| 17:58 | 網頁版及 App 的行情、訂單簿與交易恢復 |
| 18:05 | 永續合約 API 因事件積壓仍有逾時 |
| 18:18 | 積壓處理完畢；所有服務全面恢復 |

## 改善措施

1. **工程品質與測試。** 新功能上線前須在模擬交易環境中經過更長時間的測試；每次發布均執行自動化回歸測試及效能基準測試；定期進行混沌工程演練，搶在用戶發現之前找出弱點。
2. **高可用性架構。** 我們正轉向多節點、多區域架構：在不同資料中心部署備援系統，採用負載平衡與容錯移轉，並隔離撮合引擎、風險管理系統等關鍵元件。
3. **熱更新與無狀態服務。** 非關鍵邏輯可在不重新啟動服務的情況下修補，服務亦盡可能設計為無狀態，升級時無需停機維護時段。
4. **容量。** 基礎設施現已能承載更高的流量，並透過預測式擴展在需求高峰來臨之前預先增加資源。

## 掌握最新狀態

本頁面、其 API（`/api/v2/` 及 OKX 的 `/api/v5/system/status`）以及 `status` WebSocket 頻道會即時發布每一次事故與維護。
""",
)

MAINTENANCE_NAME = tr(
    "Spot and perpetual trading system upgrade", "现货及永续合约交易系统升级", "現貨及永續合約交易系統升級"
)


def _components() -> dict[str, Component]:
    by_name = {c.name: c for c in Component.objects.all()}
    for group_position, (group_name, items) in enumerate(COMPONENTS, start=1):
        group = ComponentGroup.objects.filter(name=group_name).first()
        if group is None:
            group = services.group_save(
                actor=SYSTEM, name=group_name, position=group_position, translations=translations(name=group_name)
            )
        for position, (name, description, service_type) in enumerate(items, start=1):
            if name not in by_name:
                by_name[name] = services.component_create(
                    actor=SYSTEM,
                    name=name,
                    description=description,
                    translations=translations(name=name, description=description),
                    group=group,
                    position=position,
                    okx_service_type=service_type,
                    start_date=datetime(2020, 1, 1).date(),
                    trading=name in TRADING,
                )
            elif name in TRADING and not by_name[name].trading:  # a demo loaded by an older release
                by_name[name] = services.component_edit(component=by_name[name], actor=SYSTEM, trading=True)
    return by_name


def _modes(components: dict[str, Component], index: int) -> dict[Component, str]:
    return {components[n]: mode for n, mode in TIMELINE_MODES.get(index, {}).items()}


def _incident(components: dict[str, Component]) -> Incident:
    incident = Incident.objects.filter(name=INCIDENT_NAME, started_at=INCIDENT_START).first()
    if incident is not None:
        return incident
    (first_at, first_status, first_body, first_changes), *rest = TIMELINE
    incident = services.incident_open(
        actor=SYSTEM,
        name=INCIDENT_NAME,
        body=first_body,
        translations=translations(name=INCIDENT_NAME, body=first_body),
        status=first_status,
        components={components[n]: s for n, s in first_changes.items()},
        trading_modes=_modes(components, 0),
        started_at=first_at,
        deliver_notifications=False,
    )
    for index, (at, status, body, changes) in enumerate(rest, start=1):
        services.incident_post_update(
            incident=incident,
            actor=SYSTEM,
            status=status,
            body=body,
            translations=translations(body=body),
            components={components[n]: s for n, s in changes.items()},
            trading_modes=_modes(components, index),
            display_at=at,
            deliver_notifications=False,
        )
    services.postmortem_save(
        incident=incident,
        actor=SYSTEM,
        body=POSTMORTEM,
        translations=translations(body=POSTMORTEM),
        publish=True,
        deliver_notifications=False,
    )
    incident.refresh_from_db()
    return incident


def _maintenance(components: dict[str, Component], now: datetime) -> Incident:
    upcoming = Incident.objects.filter(name=MAINTENANCE_NAME, status="scheduled", scheduled_for__gt=now).first()
    if upcoming is not None:
        return upcoming
    day = (now.astimezone(HKT) + timedelta(days=3)).date()
    start = datetime.combine(day, time(6, 0), tzinfo=HKT)
    body = tr(
        "We will upgrade the matching systems for spot and perpetual trading. Orders "
        "cannot be placed or cancelled during the window; open orders are kept. Deposits and "
        "withdrawals are not affected.",
        "我们将升级现货及永续合约的撮合系统。维护期间将无法下单或撤单，未成交订单将予以保留。充币与提币不受影响。",
        "我們將升級現貨及永續合約的撮合系統。維護期間將無法下單或取消訂單，未成交訂單將予以保留。充幣與提幣不受影響。",
    )
    return services.maintenance_schedule(
        actor=SYSTEM,
        name=MAINTENANCE_NAME,
        body=body,
        translations=translations(name=MAINTENANCE_NAME, body=body),
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[components["Spot trading"], components["Perpetual contracts"], components["REST API"]],
        auto_start=True,
        auto_complete=True,
        deliver_notifications=False,
    )


# Small incidents of the last 90 days, relative to when the demo is loaded, so the uptime
# bars have something to show: (name, days ago, HKT start, minutes to identify, length,
# {component: status}, first update, resolution). Clearly marked as demo data.
RECENT = [
    (
        tr("[Demo] Delayed withdrawals on TRC20", "【演示】TRC20 提币延迟", "【示範】TRC20 提幣延遲"),
        71,
        time(9, 12),
        6,
        timedelta(minutes=25),
        {"Deposits and withdrawals": "degraded_performance"},
        tr(
            "TRC20 withdrawals are taking longer than usual to reach the chain. Deposits and "
            "other networks are not affected.",
            "TRC20 提币上链耗时较平时更长。充币及其他网络不受影响。",
            "TRC20 提幣上鏈時間較平時更長。充幣及其他網路不受影響。",
        ),
        tr(
            "A stuck signing queue was restarted; every delayed TRC20 withdrawal has been sent.",
            "已重启卡住的签名队列，所有延迟的 TRC20 提币均已发出。",
            "已重新啟動卡住的簽章佇列，所有延遲的 TRC20 提幣均已送出。",
        ),
    ),
    (
        tr("[Demo] Slow REST API responses", "【演示】REST API 响应缓慢", "【示範】REST API 回應緩慢"),
        38,
        time(21, 3),
        4,
        timedelta(minutes=12),
        {"REST API": "degraded_performance"},
        tr(
            "Some REST API requests take several seconds to answer. Orders placed are executed.",
            "部分 REST API 请求的响应时间长达数秒。已提交的订单均正常执行。",
            "部分 REST API 請求的回應時間長達數秒。已送出的訂單均正常執行。",
        ),
        tr(
            "A slow database replica was taken out of rotation; response times are back to normal.",
            "已将一个响应缓慢的数据库副本移出服务，响应时间已恢复正常。",
            "已將一個回應緩慢的資料庫副本移出服務，回應時間已恢復正常。",
        ),
    ),
    (
        tr("[Demo] Order book lag", "【演示】订单簿延迟", "【示範】訂單簿延遲"),
        23,
        time(15, 41),
        2,
        timedelta(minutes=8),
        {"Order book": "partial_outage", "Market data": "degraded_performance"},
        tr(
            "Order book depth on web and app lags behind trading by up to a minute.",
            "网页端和 App 的订单簿深度落后于实际成交，最长达一分钟。",
            "網頁版及 App 的訂單簿深度落後於實際成交，最長達一分鐘。",
        ),
        tr(
            "The order book publishers caught up after a failover; depth is live again.",
            "故障切换后，订单簿推送服务已追上最新数据，深度已恢复实时更新。",
            "容錯移轉後，訂單簿推送服務已追上最新資料，深度已恢復即時更新。",
        ),
    ),
    (
        tr(
            "[Demo] Brief WebSocket API disconnections",
            "【演示】WebSocket API 短暂断连",
            "【示範】WebSocket API 短暫斷線",
        ),
        9,
        time(3, 27),
        0,
        timedelta(seconds=40),
        {"WebSocket API": "major_outage"},
        tr(
            "Public and private WebSocket connections were dropped; clients are reconnecting.",
            "公共及私有 WebSocket 连接已断开，客户端正在重新连接。",
            "公共及私有 WebSocket 連線已中斷，用戶端正在重新連線。",
        ),
        tr(
            "A load balancer restarted; connections recovered within a minute.",
            "一台负载均衡器发生重启，连接在一分钟内恢复。",
            "一台負載平衡器重新啟動，連線於一分鐘內恢復。",
        ),
    ),
]

# A completed maintenance in the same window: (name, days ago, HKT start, planned, taken, components).
RECENT_MAINTENANCE = (
    tr(
        "[Demo] Database upgrade for spot and perpetual trading",
        "【演示】现货及永续合约交易数据库升级",
        "【示範】現貨及永續合約交易資料庫升級",
    ),
    52,
    time(6, 0),
    timedelta(hours=1),
    timedelta(minutes=45),
    ("Spot trading", "Perpetual contracts"),
)


def _page_day(now: datetime, days_ago: int, at: time) -> datetime:
    day = now.astimezone(HKT).date() - timedelta(days=days_ago)
    return datetime.combine(day, at, tzinfo=HKT)


def _recent(components: dict[str, Component], now: datetime) -> list[Incident]:
    """The small demo incidents and maintenance of the last 90 days; each made once."""
    made = []
    identified = tr(
        "We have found the cause and are working on a fix.",
        "我们已查明原因，正在进行修复。",
        "我們已查明原因，正在進行修復。",
    )
    for name, days_ago, at, identify, length, changes, first, last in RECENT:
        if Incident.objects.filter(name=name).exists():
            continue
        start = _page_day(now, days_ago, at)
        # Only components that are fine now: resolving puts them back to operational.
        hit = {components[n]: s for n, s in changes.items() if components[n].status == rules.OPERATIONAL}
        if not hit:
            continue
        incident = services.incident_open(
            actor=SYSTEM,
            name=name,
            body=first,
            translations=translations(name=name, body=first),
            components=hit,
            started_at=start,
            deliver_notifications=False,
        )
        if identify:
            services.incident_post_update(
                incident=incident,
                actor=SYSTEM,
                status="identified",
                body=identified,
                translations=translations(body=identified),
                display_at=start + timedelta(minutes=identify),
                deliver_notifications=False,
            )
        services.incident_resolve(
            incident=incident,
            actor=SYSTEM,
            body=last,
            translations=translations(body=last),
            components=dict.fromkeys(hit, rules.OPERATIONAL),
            display_at=start + length,
            deliver_notifications=False,
        )
        made.append(incident)

    name, days_ago, at, planned, taken, names = RECENT_MAINTENANCE
    if not Incident.objects.filter(name=name).exists():
        start = _page_day(now, days_ago, at)
        body = tr(
            "We will upgrade the databases behind spot and perpetual trading. Orders cannot be "
            "placed or cancelled during the window; open orders are kept.",
            "我们将升级支撑现货及永续合约交易的数据库。维护期间将无法下单或撤单，未成交订单将予以保留。",
            "我們將升級支撐現貨及永續合約交易的資料庫。維護期間將無法下單或取消訂單，未成交訂單將予以保留。",
        )
        maintenance = services.maintenance_schedule(
            actor=SYSTEM,
            name=name,
            body=body,
            translations=translations(name=name, body=body),
            scheduled_for=start,
            scheduled_until=start + planned,
            components=[components[n] for n in names],
            remind_before_minutes=None,
            announced_at=start - timedelta(days=3),
            deliver_notifications=False,
        )
        services.maintenance_start(maintenance=maintenance, actor=SYSTEM, at=start, deliver_notifications=False)
        services.maintenance_complete(
            maintenance=maintenance, actor=SYSTEM, at=start + taken, deliver_notifications=False
        )
        made.append(maintenance)
    return made


# The demo finds its rows by their default-language names, whatever language is active.
# Deposits and withdrawals: (symbol, name, [(network code, network name)]), all enabled.
FUNDING = [
    (
        "BTC",
        tr("Bitcoin", "比特币", "比特幣"),
        [("BTC", tr("Bitcoin", "比特币", "比特幣")), ("Lightning", tr("Lightning Network", "闪电网络", "閃電網路"))],
    ),
    (
        "ETH",
        tr("Ethereum", "以太坊", "以太坊"),
        [
            ("ERC20", tr("Ethereum (ERC20)", "以太坊 (ERC20)", "以太坊 (ERC20)")),
            ("Arbitrum One", tr("Arbitrum One", "Arbitrum One", "Arbitrum One")),
        ],
    ),
    (
        "USDT",
        tr("Tether USD", "泰达币", "泰達幣"),
        [
            ("ERC20", tr("Ethereum (ERC20)", "以太坊 (ERC20)", "以太坊 (ERC20)")),
            ("TRC20", tr("TRON (TRC20)", "波场 (TRC20)", "波場 (TRC20)")),
            ("Solana", tr("Solana", "Solana", "Solana")),
        ],
    ),
]


def _funding() -> None:
    known = {a.symbol: a for a in Asset.objects.all()}
    for position, (symbol, name, networks) in enumerate(FUNDING, start=1):
        asset = known.get(symbol) or services.asset_save(
            actor=SYSTEM, symbol=symbol, name=name, position=position, translations=translations(name=name)
        )
        codes = set(asset.networks.values_list("code", flat=True))
        for index, (code, network_name) in enumerate(networks, start=1):
            if code not in codes:
                services.network_save(
                    actor=SYSTEM,
                    asset=asset,
                    code=code,
                    name=network_name,
                    position=index,
                    translations=translations(name=network_name),
                )


# --- templates -------------------------------------------------------------------------------

# The first posts an exchange needs most, ready to open in one step (issue #14):
# (slug, kind, title, body, first status, {component: (status, trading mode)}, emergency)
TEMPLATES = [
    (
        "market-data-delayed",
        Incident.Kind.INCIDENT,
        tr("Market data delayed", "行情数据延迟", "行情資料延遲"),
        tr(
            "Tickers, candles and order book depth are arriving late on web, app and API. Orders are "
            "placed and matched normally. We are investigating.",
            "网页端、App 及 API 的实时行情、K线及订单簿深度出现延迟。下单与撮合不受影响。我们正在调查中。",
            "網頁版、App 及 API 的即時行情、K線及訂單簿深度出現延遲。下單與撮合不受影響。我們正在調查中。",
        ),
        "investigating",
        {"Market data": ("degraded_performance", ""), "Order book": ("degraded_performance", "")},
        False,
    ),
    (
        "order-placement-failing-on-api",
        Incident.Kind.INCIDENT,
        tr("Order placement failing on API", "API 下单失败", "API 下單失敗"),
        tr(
            "Placing orders through the REST and WebSocket APIs fails or times out for some users. "
            "Trading on web and app works, and orders already on the book are not affected. We are "
            "investigating.",
            "部分用户通过 REST 及 WebSocket API 下单失败或超时。网页端和 App 交易正常，"
            "已挂出的订单不受影响。我们正在调查中。",
            "部分用戶透過 REST 及 WebSocket API 下單失敗或逾時。網頁版及 App 交易正常，"
            "已掛出的訂單不受影響。我們正在調查中。",
        ),
        "investigating",
        {"REST API": ("partial_outage", ""), "WebSocket API": ("degraded_performance", "")},
        False,
    ),
    (
        "withdrawals-paused-on-a-network",
        Incident.Kind.INCIDENT,
        tr("Withdrawals paused on a network", "某网络提币暂停", "某網路提幣暫停"),
        tr(
            "Withdrawals on one network are paused while we look into delayed confirmations; the "
            "deposits and withdrawals list on this page names it. Other networks are not affected, and "
            "all funds are safe.",
            "由于链上确认延迟，某一网络的提币已暂停，具体网络见本页的充提列表。其他网络不受影响，所有资金安全。",
            "由於鏈上確認延遲，某一網路的提幣已暫停，具體網路見本頁的充提列表。其他網路不受影響，所有資金安全。",
        ),
        "identified",
        {"Deposits and withdrawals": ("degraded_performance", "")},
        False,
    ),
    (
        "emergency-maintenance",
        Incident.Kind.MAINTENANCE,
        tr("Emergency maintenance", "紧急维护", "緊急維護"),
        tr(
            "We are carrying out emergency maintenance on the trading system. Orders cannot be placed "
            "or cancelled until it ends; trading reopens through a pre-open phase, announced here.",
            "我们正在对交易系统进行紧急维护。维护结束前无法下单或撤单；交易将通过预开盘阶段恢复，届时会在此公告。",
            "我們正在對交易系統進行緊急維護。維護結束前無法下單或撤單；交易將透過預開盤階段恢復，屆時會在此公告。",
        ),
        "investigating",
        {"Spot trading": ("under_maintenance", ""), "Perpetual contracts": ("under_maintenance", "")},
        True,
    ),
]


# --- public metrics ----------------------------------------------------------------------------
# What Prometheus would have given over the last month (the demo has no Prometheus: from
# `make run` on, the sampler finds PROMETHEUS_URL unset, and the charts show the gap since).
# (name, component, PromQL, unit, scale, decimals, baseline, spread)
METRICS = (
    (
        tr("REST API p99 latency", "REST API p99 延迟", "REST API p99 延遲"),
        "REST API",
        'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="rest-api"}[5m])))',
        "ms",
        1000.0,
        0,
        0.18,
        0.03,
    ),
    (
        tr("WebSocket message lag", "WebSocket 消息延迟", "WebSocket 訊息延遲"),
        "WebSocket API",
        'max(ws_message_lag_seconds{channel="tickers"})',
        "ms",
        1000.0,
        0,
        0.045,
        0.01,
    ),
    (
        tr("Orders accepted", "订单受理率", "訂單受理率"),
        None,
        "100 * sum(rate(orders_accepted_total[5m])) / sum(rate(orders_received_total[5m]))",
        "%",
        1.0,
        2,
        99.97,
        0.02,
    ),
)


def _metric_history(index: int, baseline: float, spread: float, now: datetime) -> list[tuple[datetime, float]]:
    """A month of samples, as often as each chart needs them (every minute for the last
    hour, every five for the day, hourly before): a day's slow wave, noise, one bad hour
    four days ago, and two hours with no data (Prometheus restarted) nine days ago."""
    rng = random.Random(index)  # noqa: S311 - a demo's noise
    end = now.replace(second=0, microsecond=0)
    points = []
    at = end - timedelta(days=30)
    while at <= end:
        hours_ago = (end - at).total_seconds() / 3600
        if not 9 * 24 - 2 <= hours_ago < 9 * 24:
            wave = math.sin(at.timestamp() / 86400 * 2 * math.pi)
            value = baseline + spread * (0.6 * wave + rng.uniform(-0.4, 0.4))
            if 4 * 24 - 1 <= hours_ago < 4 * 24:
                value = baseline * 6 if baseline < 50 else baseline - 2.5
            points.append((at, max(value, 0.0)))
        at += timedelta(minutes=1 if hours_ago <= 1.2 else 5 if hours_ago <= 25 else 60)
    return points


def _metrics(components: dict[str, Component], now: datetime) -> None:
    known = set(Metric.objects.values_list("name", flat=True))
    for index, (name, component, query, unit, scale, decimals, baseline, spread) in enumerate(METRICS):
        if name in known:
            continue
        metric = services.metric_save(
            actor=SYSTEM,
            name=name,
            component=components[component] if component else None,
            query=query,
            unit=unit,
            scale=scale,
            decimals=decimals,
            position=index,
            translations=translations(name=name),
        )
        history = _metric_history(index, baseline, spread, now)
        services.metric_history_add(metric=metric, points=[(at, value * scale) for at, value in history])


def _templates(components: dict[str, Component]) -> None:
    known = set(Template.objects.values_list("slug", flat=True))
    for position, (slug, kind, title, body, status, rows, emergency) in enumerate(TEMPLATES, start=1):
        if slug in known:
            continue
        services.template_save(
            actor=SYSTEM,
            slug=slug,
            kind=kind,
            title=title,
            body=body,
            status=status,
            rows={components[name]: row for name, row in rows.items()},
            unscheduled=emergency,
            position=position,
            translations={
                language: {"title": _in(language, title), "body": _in(language, body)} for language in CHINESE
            },
        )


@translation.override(settings.LANGUAGE_CODE)
def load_demo(now: datetime | None = None, *, recent: bool = False, metrics: bool = False) -> tuple[Incident, Incident]:
    """Create what is missing of the demo; running it again changes nothing.

    `recent` adds the small incidents and the maintenance of the last 90 days (RECENT),
    dated from `now`; `manage.py load_demo` asks for them, tests mostly do not. `metrics`
    adds the public metrics with a month of history (`make run`, the page's own tests).
    """
    now = now or timezone.now()
    with transaction.atomic():
        components = _components()
        incident = _incident(components)
        maintenance = _maintenance(components, now)
        _funding()
        _templates(components)
        if metrics:
            _metrics(components, now)
        if recent:
            _recent(components, now)
    return incident, maintenance


# --- the replay ----------------------------------------------------------------------------

REPLAY_NAME = tr(
    f"Replay of 2021-01-29: {INCIDENT_NAME}",
    f"2021-01-29 故障回放：{_in('zh-hans', INCIDENT_NAME)}",
    f"2021-01-29 故障重播：{_in('zh-hant', INCIDENT_NAME)}",
)
REPLAY_NOTE = tr(
    "*A demo: the outage of 2021-01-29 (17:37–18:18 HKT) replayed on today's date, {length} instead of 41 minutes.*\n\n",
    "*演示：2021-01-29 的故障（香港时间 17:37–18:18）以今天的日期回放，历时 {length}，而非实际的 41 分钟。*\n\n",
    "*示範：2021-01-29 的故障（香港時間 17:37–18:18）以今天的日期重播，歷時 {length}，而非實際的 41 分鐘。*\n\n",
)
# In the replay, trading does not come straight back at 17:58: the products reopen through a
# pre-open phase, a short unscheduled maintenance over them opened right after that update
# (REOPENING_FROM) and completed with the next (REOPENING_UNTIL), so a trader on the page
# sees each product halted, then in pre-open with the countdown to matching, then trading
# normally. The demo's 2021 history keeps TIMELINE_MODES as they are.
REOPENING_FROM, REOPENING_UNTIL = 2, 3
REOPENING_NAME = tr(
    "Trading reopens through a pre-open phase",
    "交易经预开盘阶段恢复",
    "交易經預開盤階段恢復",
)
REOPENING_BODY = tr(
    "Spot trading and perpetual contracts reopen in stages. You can cancel orders and place "
    "post-only orders; nothing is matched until matching resumes.",
    "现货交易及永续合约分阶段恢复。您可以撤单及挂只做 Maker 单；恢复撮合前不会撮合任何订单。",
    "現貨交易及永續合約分階段恢復。您可以撤單及掛只做 Maker 單；恢復撮合前不會撮合任何訂單。",
)
REOPENING_STARTED = tr("The reopening has begun.", "恢复交易程序已开始。", "恢復交易程序已開始。")
REOPENING_DONE = tr(
    "Matching has resumed: spot trading and perpetual contracts trade normally again.",
    "撮合已恢复：现货交易及永续合约已恢复正常交易。",
    "撮合已恢復：現貨交易及永續合約已恢復正常交易。",
)
# The replay's length, as REPLAY_NOTE says it.
MINUTES = tr("{:g} minutes", "{:g} 分钟", "{:g} 分鐘")
SECONDS = tr("{:.3g} seconds", "{:.3g} 秒", "{:.3g} 秒")
# From the first update to the last, in the real outage.
REPLAY_SPAN = TIMELINE[-1][0] - TIMELINE[0][0]


def replay_offsets(seconds: float) -> list[float]:
    """Seconds after the replay's start at which each TIMELINE update is posted, when the
    whole 41 minutes take `seconds`."""
    scale = seconds / REPLAY_SPAN.total_seconds()
    return [(at - TIMELINE[0][0]).total_seconds() * scale for at, *_ in TIMELINE]


def _length(seconds: float, language: str = ENGLISH) -> str:
    if seconds >= 90:
        return _in(language, MINUTES).format(seconds / 60)
    return _in(language, SECONDS).format(seconds)


def _replay_opening(language: str, seconds: float, body: str) -> str:
    """The replay's first update in `language`: what it is, then the outage's first update."""
    return _in(language, REPLAY_NOTE).format(length=_length(seconds, language)) + _in(language, body)


def _reopen(components: dict[str, Component], seconds: float) -> Incident:
    """The replay's reopening: a maintenance over the trading products, in its pre-open
    phase at once (the products in the pre-open mode) until `seconds` from now.

    One transaction: a reader sees the products go from halted to pre-open, and a stop
    never leaves the maintenance half opened."""
    now = timezone.now()
    with transaction.atomic():
        maintenance = services.maintenance_schedule(
            actor=SYSTEM,
            name=REOPENING_NAME,
            body=REOPENING_BODY,
            translations=translations(name=REOPENING_NAME, body=REOPENING_BODY),
            scheduled_for=now,
            scheduled_until=now + timedelta(seconds=max(seconds, 0.1)),  # the window must not be empty
            components=[components[name] for name in TRADING],
            unscheduled=True,
            components_to_maintenance=True,
            notify_at_transitions=False,
            remind_before_minutes=None,
            deliver_notifications=False,
        )
        services.maintenance_start(
            maintenance=maintenance,
            actor=SYSTEM,
            body=REOPENING_STARTED,
            translations=translations(body=REOPENING_STARTED),
            deliver_notifications=False,
        )
        # Its own words (rules.DEFAULT_BODIES, in every language): what pre-open allows.
        return services.maintenance_pre_open(maintenance=maintenance, actor=SYSTEM, deliver_notifications=False)


def _close_unfinished_replays(body: str) -> None:
    """End what a stopped replay left open: its reopening (completed: no product stays in
    pre-open or under maintenance), then its incident."""
    reopenings = Incident.objects.filter(
        kind=Incident.Kind.MAINTENANCE, name=REOPENING_NAME, status__in=rules.MAINTENANCE_ACTIVE
    )
    for left in reopenings:
        services.maintenance_complete(
            maintenance=left, actor=SYSTEM, body=body, translations=translations(body=body), deliver_notifications=False
        )
    for left in Incident.objects.filter(name=REPLAY_NAME, status__in=rules.INCIDENT_OPEN):
        services.incident_resolve(
            incident=left, actor=SYSTEM, body=body, translations=translations(body=body), deliver_notifications=False
        )


@translation.override(settings.LANGUAGE_CODE)
def replay(seconds: float = 120.0, *, report: Callable[[int, str, float], None] | None = None) -> Incident:
    """Post the 2021-01-29 timeline again, now, through the services: each update at its
    offset scaled to `seconds` (display_at is the real moment it is posted), so a page
    watched meanwhile changes as the real one did, then recovers.

    Trading reopens through a pre-open phase: after the update REOPENING_FROM (17:58) the
    products stay halted, a maintenance over them (REOPENING_NAME) enters its pre-open
    phase until the next update's moment, and is completed with it, so the products go
    halted -> pre_open -> normal.

    A reader of another process's page sees it within LIVE_POLL_SECONDS. `report(index,
    status, elapsed)` is called after each update (and what goes with it). Interrupted
    (Ctrl-C), it completes the reopening and resolves the replay, so every component it
    took down is operational again and trades normally.
    """
    components = _components()
    _close_unfinished_replays(
        tr(
            "An earlier replay was stopped before its end; this closes it.",
            "先前的一次回放在结束前被中止，现将其关闭。",
            "先前的一次重播在結束前遭中止，現將其關閉。",
        )
    )
    offsets = replay_offsets(seconds)
    started = clock.monotonic()
    incident = reopening = None
    held: dict[Component, str] = {}
    try:
        for index, ((_, status, body, changes), offset) in enumerate(zip(TIMELINE, offsets, strict=True)):
            delay = started + offset - clock.monotonic()
            if delay > 0:
                clock.sleep(delay)
            statuses = {components[n]: s for n, s in changes.items()}
            # Trading comes back through the reopening, not with this update.
            modes = {} if index == REOPENING_FROM else _modes(components, index)
            if index == REOPENING_UNTIL:
                # What the outage still had down before the reopening took the products
                # over (perpetual contracts until 18:18) stays so after it.
                statuses = {**held, **statuses}
            if incident is None:
                incident = services.incident_open(
                    actor=SYSTEM,
                    name=REPLAY_NAME,
                    body=_replay_opening(ENGLISH, seconds, body),
                    translations={
                        language: {"name": _in(language, REPLAY_NAME), "body": _replay_opening(language, seconds, body)}
                        for language in CHINESE
                    },
                    status=status,
                    components=statuses,
                    trading_modes=modes,
                    deliver_notifications=False,
                )
            else:
                services.incident_post_update(
                    incident=incident,
                    actor=SYSTEM,
                    status=status,
                    body=body,
                    translations=translations(body=body),
                    components=statuses,
                    trading_modes=modes,
                    deliver_notifications=False,
                )
            if index == REOPENING_FROM:
                down = Component.objects.filter(name__in=TRADING).exclude(status=rules.OPERATIONAL)
                held = {components[c.name]: c.status for c in down}
                reopening = _reopen(components, started + offsets[REOPENING_UNTIL] - clock.monotonic())
            elif index == REOPENING_UNTIL and reopening is not None:
                # The products trade normally again; those it put under maintenance are
                # operational (the others keep the status the update above gave them).
                services.maintenance_complete(
                    maintenance=reopening,
                    actor=SYSTEM,
                    body=REOPENING_DONE,
                    translations=translations(body=REOPENING_DONE),
                    deliver_notifications=False,
                )
            if report:
                report(index, status, clock.monotonic() - started)
    except BaseException:
        _close_unfinished_replays(
            tr(
                "The replay was stopped before its end; every component is back to operational.",
                "回放在结束前被中止；所有组件均已恢复正常运行。",
                "重播在結束前遭中止；所有元件均已恢復正常運作。",
            )
        )
        raise
    incident.refresh_from_db()
    return incident
