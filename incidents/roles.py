"""The two operator roles: responders post, viewers read. Used by a data migration (and by
tests after a flush), with whichever model classes the caller has."""

RESPONDER_MODELS = (
    "component",
    "componentgroup",
    "incident",
    "incidentupdate",
    "maintenance",
    "asset",
    "network",
    "template",
    "alertrule",
    "alertgroup",
    "metric",
)
# Responders may also redeliver a notification and reactivate a quarantined subscriber.
RESPONDER_CHANGE_ONLY = ("delivery", "subscriber")
VIEWER_MODELS = RESPONDER_MODELS + (
    "componentstatuschange",
    "tradingmodechange",
    "publicevent",
    "subscriber",
    "notification",
    "delivery",
    "deliveryattempt",
)


def grant_roles(Group, Permission) -> None:  # noqa: N803 - model classes, historical or real
    def perms(actions, models):
        codenames = [f"{action}_{model}" for action in actions for model in models]
        return Permission.objects.filter(content_type__app_label="incidents", codename__in=codenames)

    responders, _ = Group.objects.get_or_create(name="responders")
    responders.permissions.set(
        perms(("view", "add", "change"), RESPONDER_MODELS)
        | perms(("change",), RESPONDER_CHANGE_ONLY)
        | perms(("view",), VIEWER_MODELS)
    )
    viewers, _ = Group.objects.get_or_create(name="viewers")
    viewers.permissions.set(perms(("view",), VIEWER_MODELS))
