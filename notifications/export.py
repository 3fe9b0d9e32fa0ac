"""This app's sections of the user's export (`GET /me/export`), registered in `ready()`.

Each section is read in one query and rendered in the shape the rest of the API uses; push tokens
are masked (a full token lets anyone with it push to the phone). Transport internals (dispatch
claims, retry attempts) are not part of the export."""

from __future__ import annotations

from rest_framework import serializers

from notifications.api.serializers import InboxItemSerializer, ReminderScheduleSerializer
from notifications.models import Delivery, Device, InboxItem, ReminderSchedule


def mask_push_token(token: str) -> str:
    """Enough of a push token to recognise a device in the export, not enough to push to it."""
    visible = 6 if len(token) >= 24 else 0
    return "…" + token[-visible:] if visible else "…"


class ExportDeviceSerializer(serializers.ModelSerializer):
    token = serializers.SerializerMethodField(help_text="Masked: only the last characters of the push token.")

    class Meta:
        model = Device
        fields = ["id", "platform", "token", "app_version", "enabled", "disabled_reason", "created_at", "updated_at"]
        read_only_fields = fields

    def get_token(self, device) -> str:
        return mask_push_token(device.token)


class ExportDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["kind", "slot", "status", "skip_reason", "title", "body", "deep_link", "created_at"]
        read_only_fields = fields


def reminder_schedule_collect(*, user) -> ReminderSchedule | None:
    schedule = ReminderSchedule.objects.filter(user=user).first()
    if schedule is not None:
        schedule.user = user  # the serializer reads the profile timezone: no extra query
    return schedule


def export_sections_register() -> None:
    from tracker.data_rights.sections import export_section_register

    export_section_register(
        name="reminder_schedule",
        collect=reminder_schedule_collect,
        serializer=lambda **kw: ReminderScheduleSerializer(allow_null=True, help_text="null: never set.", **kw),
    )
    export_section_register(
        name="devices",
        collect=lambda *, user: list(Device.objects.filter(user=user).order_by("created_at", "id")),
        serializer=lambda **kw: ExportDeviceSerializer(many=True, help_text="Push devices; tokens masked.", **kw),
    )
    export_section_register(
        name="inbox",
        collect=lambda *, user: list(InboxItem.objects.filter(user=user).order_by("created_at", "id")),
        serializer=lambda **kw: InboxItemSerializer(many=True, **kw),
    )
    export_section_register(
        name="deliveries",
        collect=lambda *, user: list(Delivery.objects.filter(user=user).order_by("slot", "id")),
        serializer=lambda **kw: ExportDeliverySerializer(
            many=True, help_text="Nudges and summary notices sent or skipped.", **kw
        ),
    )
