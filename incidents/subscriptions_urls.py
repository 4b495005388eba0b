"""Routes of the subscription pages and the history feeds (included by statuspage/urls.py)."""

from django.urls import path

from . import feeds, subscriptions_views

urlpatterns = [
    path("subscribe", subscriptions_views.subscribe, name="subscribe"),
    path("subscribe/sent", subscriptions_views.subscribe_sent, name="subscribe-sent"),
    path("subscriptions/confirm/<str:token>", subscriptions_views.confirm, name="subscription-confirm"),
    path("subscriptions/manage/<str:token>", subscriptions_views.manage, name="subscription-manage"),
    path("subscriptions/unsubscribe/<str:token>", subscriptions_views.unsubscribe, name="subscription-unsubscribe"),
    path("history.atom", feeds.HistoryFeed(), name="history-atom"),
    path("history.rss", feeds.HistoryRssFeed(), name="history-rss"),
    path("components/<str:public_id>/history.atom", feeds.HistoryFeed(), name="component-history-atom"),
    path("components/<str:public_id>/history.rss", feeds.HistoryRssFeed(), name="component-history-rss"),
]
