"""Instrument endpoints: the questionnaires a phone can render, with their scale and items."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.common.api.schema import ERROR_RESPONSES
from tracker.common.errors import NotFound
from tracker.entries.selectors.instruments import instrument_catalog, instrument_get, instrument_versions
from tracker.entries.services.instruments import wording_loaded
from tracker.insights import scoring
from tracker.models import Instrument


class ScaleSerializer(serializers.Serializer):
    min = serializers.IntegerField(help_text="Lowest answer value.")
    max = serializers.IntegerField(help_text="Highest answer value.")
    anchors = serializers.DictField(
        child=serializers.CharField(), help_text='Labels for some values, keyed by the value as a string: {"1": "…"}.'
    )


class ItemSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1-based item number; responses refer to it.")
    text = serializers.CharField(
        help_text="Wording (a placeholder for licensed instruments until a clinic supplies it)."
    )
    dimension = serializers.ChoiceField(
        choices=[*scoring.DIMENSIONS, *scoring.RQ_PROTOTYPES],
        help_text="anxiety / avoidance, or the RQ prototype this item rates.",
    )
    reverse = serializers.BooleanField(help_text="Reverse-keyed: scored as (min + max) - value.")


class DimensionNormSerializer(serializers.Serializer):
    r = serializers.FloatField(help_text="Reliability used for the Reliable Change Index.")
    r_kind = serializers.ChoiceField(
        choices=["test_retest", "internal_consistency", "latent_stability", "stability", "assumed", "unverified"],
        help_text="What kind of coefficient r is (see docs/psychometrics.md).",
    )
    r_interval = serializers.CharField(allow_null=True, help_text="Retest/stability interval, e.g. `30 days`.")
    r_label = serializers.CharField(help_text="The kind of r in plain words.")
    sd = serializers.FloatField(help_text="Norm standard deviation used for the Reliable Change Index.")
    source = serializers.CharField()
    provisional = serializers.BooleanField(help_text="True until confirmed norms exist; results using them say so.")


class CorrelationSerializer(serializers.Serializer):
    r = serializers.FloatField(help_text="Correlation between the anxiety and avoidance scales (joint RCI test).")
    source = serializers.CharField()
    provisional = serializers.BooleanField()


class MetadataSerializer(serializers.Serializer):
    dimensions = serializers.DictField(child=DimensionNormSerializer(), help_text="Keyed by anxiety / avoidance.")
    interscale_correlation = CorrelationSerializer(required=False)
    note = serializers.CharField(required=False)


class InstrumentSummarySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable identifier, e.g. `wmc`, `ecr-r`.")
    version = serializers.IntegerField(help_text="The newest version (check-ins pin the version they used).")
    title = serializers.CharField()
    description = serializers.CharField()
    is_default = serializers.BooleanField(help_text="Used when a check-in names no instrument.")
    scoring = serializers.ChoiceField(choices=scoring.SCORING_METHODS)
    scale = ScaleSerializer()
    item_count = serializers.IntegerField()
    targets = serializers.ListField(
        child=serializers.CharField(), help_text="Relationship targets (ECR-RS); empty for other instruments."
    )
    versions = serializers.ListField(child=serializers.IntegerField(), help_text="Every stored version.")
    wording_loaded = serializers.BooleanField(
        help_text="False for a validated instrument whose licensed item wording has not been loaded: check-ins "
        "against it are refused (409 instrument_wording_missing) and clients are not offered it."
    )

    def to_representation(self, instrument: Instrument) -> dict:
        definition = instrument.definition
        return {
            "code": instrument.code,
            "version": instrument.version,
            "title": instrument.title,
            "description": definition.get("description", ""),
            "is_default": instrument.is_default,
            "scoring": definition.get("scoring", "dimensions"),
            "scale": definition["scale"],
            "item_count": len(definition["items"]),
            "targets": definition.get("targets", []),
            "versions": self.context.get("versions", {}).get(instrument.code, [instrument.version]),
            "wording_loaded": wording_loaded(definition),
        }


class InstrumentSerializer(InstrumentSummarySerializer):
    items = ItemSerializer(many=True)
    metadata = MetadataSerializer()
    citation = serializers.CharField()
    licence = serializers.CharField()

    def to_representation(self, instrument: Instrument) -> dict:
        definition = instrument.definition
        return {
            **super().to_representation(instrument),
            "items": [
                {k: item[k] for k in ("number", "text", "dimension")} | {"reverse": bool(item.get("reverse"))}
                for item in definition["items"]
            ],
            "metadata": definition.get("metadata", {"dimensions": {}}),
            "citation": definition.get("citation", ""),
            "licence": definition.get("licence", ""),
        }


class InstrumentListView(APIView):
    @extend_schema(
        responses={200: InstrumentSummarySerializer(many=True), **ERROR_RESPONSES(401)},
        summary="Available instruments (newest of each, default first; clients see those with wording loaded)",
    )
    def get(self, request):
        catalog = instrument_catalog()
        instruments = sorted(catalog.latest.values(), key=lambda i: (not i.is_default, i.code))
        if not request.user.is_therapist:
            # Clients are only offered instruments they can answer (wording loaded).
            instruments = [i for i in instruments if wording_loaded(i.definition)]
        versions: dict[str, list[int]] = {}
        for code, version in sorted(catalog.by_version):
            versions.setdefault(code, []).append(version)
        return Response(InstrumentSummarySerializer(instruments, many=True, context={"versions": versions}).data)


class InstrumentDetailView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "version",
                {"type": "integer", "minimum": 1},
                required=False,
                description="A specific version; the newest if left out.",
            )
        ],
        responses={200: InstrumentSerializer, **ERROR_RESPONSES(400, 401, 404)},
        summary="One instrument with its items, scale and norms",
    )
    def get(self, request, code: str):
        raw = request.query_params.get("version") or None  # empty = left out, as on every query parameter
        if raw is not None and not raw.isdigit():
            raise serializers.ValidationError({"version": ["A positive integer is required."]})
        instrument = instrument_get(code=code, version=int(raw) if raw else None)
        if instrument is None:
            raise NotFound("No such instrument or version.")
        versions = {code: instrument_versions(code=code)}
        return Response(InstrumentSerializer(instrument, context={"versions": versions}).data)
