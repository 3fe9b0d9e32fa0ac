"""Reminders, devices and inbox endpoints: thin; rules live in notifications.services."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.api.serializers import (
    DeviceInputSerializer,
    DeviceSerializer,
    DeviceTokenSerializer,
    InboxItemSerializer,
    MarkedSerializer,
    PromptSerializer,
    ReminderScheduleInputSerializer,
    ReminderScheduleSerializer,
)
from notifications.models import Delivery, Device, InboxItem
from notifications.selectors.notifications import device_list, inbox_list, prompt_list, schedule_for
from notifications.services import devices, inbox, schedules
from tracker.common.api.idempotency import IDEMPOTENCY_KEY, idempotent
from tracker.common.api.pagination import CursorPagination
from tracker.common.api.schema import ERROR_RESPONSES, delete_with_body
from tracker.common.errors import Invalid, NotFound


class NewestFirstPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class RemindersView(APIView):
    @extend_schema(responses={200: ReminderScheduleSerializer, **ERROR_RESPONSES(401)}, summary="The reminder schedule")
    def get(self, request):
        return Response(ReminderScheduleSerializer(schedule_for(user=request.user)).data)

    @extend_schema(
        request=ReminderScheduleInputSerializer,
        responses={200: ReminderScheduleSerializer, **ERROR_RESPONSES(400, 401, 413)},
        summary="Replace the reminder schedule",
        description=(
            "Times are local wall times in the profile's timezone. A time inside quiet hours moves to "
            "their end, or is dropped if that end is on the next day. A nonexistent local time (DST "
            "spring forward) moves to the next valid minute; an ambiguous one fires once. `next_due_at` "
            "is recomputed on every change. A window entry `13:00-17:00` "
            "sends that day's nudge at a random minute inside it and outside quiet hours, drawn once per "
            "day (the same on every recomputation)."
        ),
    )
    def put(self, request):
        data = ReminderScheduleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        quiet = values.pop("quiet_hours")
        schedule = schedules.schedule_update(
            user=request.user,
            quiet_start=quiet["start"] if quiet else None,
            quiet_end=quiet["end"] if quiet else None,
            times=values.pop("times"),
            **values,
        )
        return Response(ReminderScheduleSerializer(schedule).data)


class DevicesView(generics.ListAPIView):
    serializer_class = DeviceSerializer
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Device.objects.none()
        return device_list(user=self.request.user)

    @extend_schema(responses={200: DeviceSerializer(many=True), **ERROR_RESPONSES(401, 404)}, summary="My devices")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=DeviceInputSerializer,
        responses={201: DeviceSerializer, 200: DeviceSerializer, **ERROR_RESPONSES(400, 401, 413, 422)},
        summary="Register a push token (201 new, 200 re-registered; a token moves to the current user)",
    )
    @idempotent
    def post(self, request):
        data = DeviceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device, created = devices.device_register(user=request.user, **data.validated_data)
        return Response(
            DeviceSerializer(device).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        request=DeviceTokenSerializer,
        responses={204: None, **ERROR_RESPONSES(400, 401, 404)},
        summary="Remove my device by its push token (e.g. on logout)",
        description="404 when you have no device with this token, including when the token now belongs to "
        "another account (it moved there); that device is never touched.",
    )
    @delete_with_body
    def delete(self, request):
        data = DeviceTokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not devices.device_delete_by_token(user=request.user, token=data.validated_data["token"]):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceDetailView(APIView):
    @extend_schema(request=None, responses={204: None, **ERROR_RESPONSES(401, 404)}, summary="Remove a device")
    def delete(self, request, pk):
        if not devices.device_delete(user=request.user, device_id=pk):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class InboxView(generics.ListAPIView):
    serializer_class = InboxItemSerializer
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InboxItem.objects.none()
        raw = self.request.query_params.get("unread") or None  # empty = left out, as on every query parameter
        if raw not in (None, "true", "false"):
            raise Invalid({"unread": ["Must be true or false."]}, "unread must be true or false.")
        return inbox_list(user=self.request.user, unread=None if raw is None else raw == "true")

    @extend_schema(
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread (true) or read (false).")],
        responses={200: InboxItemSerializer(many=True), **ERROR_RESPONSES(400, 401, 404)},
        summary="In-app notifications, newest first",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PromptPagination(CursorPagination):
    ordering = ("-slot", "-id")


class PromptsView(generics.ListAPIView):
    serializer_class = PromptSerializer
    pagination_class = PromptPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        return prompt_list(user=self.request.user, now=timezone.now())

    @extend_schema(
        responses={200: PromptSerializer(many=True), **ERROR_RESPONSES(401, 404)},
        summary="My check-in prompts (sent nudges), newest first, with open / answered / missed",
        description="A prompt expires PROMPT_EXPIRY_SECONDS (2 h) after it was sent. A check-in after that "
        "is stored as usual and shows as `late_at` on the prompt, which stays `missed`.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class InboxMarkView(APIView):
    opened = False

    def post(self, request, pk):
        item = inbox.inbox_item_mark(user=request.user, item_id=pk, opened=self.opened)
        if item is None:
            raise NotFound()
        return Response(InboxItemSerializer(item).data)


class InboxReadView(InboxMarkView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={200: InboxItemSerializer, **ERROR_RESPONSES(400, 401, 404, 422)},
        summary="Mark read",
    )
    @idempotent
    def post(self, request, pk):
        return super().post(request, pk)


class InboxOpenedView(InboxMarkView):
    opened = True

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={200: InboxItemSerializer, **ERROR_RESPONSES(400, 401, 404, 422)},
        summary="Opened receipt: the user tapped the push for this item",
        description="Send the `inbox_id` from the push's data payload. Also marks the item read.",
    )
    @idempotent
    def post(self, request, pk):
        return super().post(request, pk)


class InboxReadAllView(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={200: MarkedSerializer, **ERROR_RESPONSES(400, 401, 422)},
        summary="Mark all read",
    )
    @idempotent
    def post(self, request):
        return Response({"marked": inbox.inbox_mark_all_read(user=request.user)})
