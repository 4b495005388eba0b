"""Routes of the public HTML: the pages, the history feeds and the subscription pages."""

from django.urls import path

from . import choices, feeds, subscriptions, views

urlpatterns = [
    path("", views.status_page, name="status-page"),
    path("history", views.history, name="history"),
    path("funding", views.funding, name="funding"),
    path("zone", choices.choose_zone, name="choose-zone"),
    path("live/state", views.live_state, name="live-state"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident-detail"),
    path("subscribe", subscriptions.subscribe, name="subscribe"),
    path("subscribe/sent", subscriptions.subscribe_sent, name="subscribe-sent"),
    path("subscribe/sent-channel", subscriptions.subscribe_sent_channel, name="subscribe-sent-channel"),
    path("subscriptions/confirm/<str:token>", subscriptions.confirm, name="subscription-confirm"),
    path("subscriptions/manage/<str:token>", subscriptions.manage, name="subscription-manage"),
    path("subscriptions/unsubscribe/<str:token>", subscriptions.unsubscribe, name="subscription-unsubscribe"),
    path("history.atom", feeds.history_feed, {"fmt": "atom"}, name="history-atom"),
    path("history.rss", feeds.history_feed, {"fmt": "rss"}, name="history-rss"),
    path("components/<str:public_id>/history.atom", feeds.history_feed, {"fmt": "atom"}, name="component-history-atom"),
    path("components/<str:public_id>/history.rss", feeds.history_feed, {"fmt": "rss"}, name="component-history-rss"),
]
