"""Test data. Components and groups are plain rows; anything with a timeline is made
through the services, as an operator would make it."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents import services
from incidents.models import Component, ComponentGroup


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"operator{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")
    is_staff = True


class ComponentGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComponentGroup

    name = factory.Sequence(lambda n: f"Group {n}")
    position = factory.Sequence(int)


class ComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Component

    name = factory.Sequence(lambda n: f"Component {n}")
    position = factory.Sequence(int)


def open_incident(*, name="Order placement failing", components=None, minutes_ago=30, **kwargs):
    """An incident opened `minutes_ago`, through the service."""
    return services.incident_open(
        actor=services.Actor.system(),
        name=name,
        body=kwargs.pop("body", "We are investigating."),
        components=components or {},
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        **kwargs,
    )


def schedule_maintenance(*, name="Matching engine upgrade", components=(), hours_ahead=24, length_hours=1, **kwargs):
    start = timezone.now() + timedelta(hours=hours_ahead)
    return services.maintenance_schedule(
        actor=services.Actor.system(),
        name=name,
        body=kwargs.pop("body", "We will upgrade the matching engine."),
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=length_hours),
        components=components,
        **kwargs,
    )
