"""The FHIR R4 form of a person's data: one `Bundle` (type `collection`) in FHIR JSON.

The tests validate every bundle the API answers with `fhir.resources` (its R4B models, which are the
R4 definitions of the resources used here); see `fhir_bundle` for why the server builds plain JSON.

Why these resources (HL7 FHIR R4, the exchange format clinics speak, DESIGN §9):
- `Questionnaire` per instrument version the check-ins use: canonical `{FHIR_BASE_URL}/Questionnaire/{code}`
  plus `version`; items with answer options on the instrument's scale. Item wording only where the
  loaded file has real wording (`wording_loaded`): validated instruments ship a scoring key only,
  so their placeholders ("ECR-S item 1") are never presented as the instrument's text.
- `QuestionnaireResponse` per check-in: `questionnaire` is `canonical|version`, `authored` in the
  phone's offset, one answer per item (ECR-RS: one group per relationship target).
- `Observation` per subscale score (category `survey`), coded in our own CodeSystem because no
  LOINC code exists for these scales; `valueQuantity`, `derivedFrom` the response. The quadrant is
  the `interpretation` of the distance-to-secure Observation; ECR-RS per-target scores are components.
- `Observation` per regulation episode with components (trigger, emotions, intensities, strategies…).
- `Consent` per share: active/inactive, the data classes shared, the therapist as the recipient actor.

Free-text notes are not part of the FHIR export (the JSON export is the complete copy): a clinical
exchange carries the coded record, and a note is the most private part of an entry.

Every id is derived (uuid5) from the record's own id and its kind, so exporting twice gives the same
bundle, and two records of different kinds that a phone gave the same UUID never collide. The API's
ids travel as `identifier`s. Built here, not in a view, so the user's and the therapist's exports are
the same document cut to different sources."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings

from tracker.common.api.fields import local_isoformat
from tracker.data_rights.selectors import FhirSource
from tracker.entries import vocabularies
from tracker.entries.services.instruments import wording_loaded
from tracker.models import CheckIn, Instrument, RegulationLog, Scope, ShareGrant, User

# Kinds of record, for uuid5 ids that cannot collide across kinds.
_NAMESPACE = uuid.UUID("5b0f3c1e-7a4d-5e2b-9c61-2f8e4a7d1b30")
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"

# Our codes (system `{base}/CodeSystem/securebase`): the scores and the parts of a regulation episode.
SCORE_CODES = {
    "anxiety": "Attachment anxiety (1-7; a negative model of self)",
    "avoidance": "Attachment avoidance (1-7; a negative model of others)",
    "distance_to_secure": "Distance to the secure quadrant",
    "model_of_self": "RQ model of self (-12 to +12)",
    "model_of_others": "RQ model of others (-12 to +12)",
}
EPISODE_CODES = {
    "regulation-episode": "Emotion-regulation episode",
    "trigger": "Trigger",
    "trigger-target": "Who the trigger involved",
    "emotion": "Emotion and its intensity (0-10)",
    "intensity-before": "Intensity before regulating (0-10)",
    "intensity-after": "Intensity after regulating (0-10)",
    "strategy": "Regulation strategy used",
    "reached-out": "Reached out to someone",
    "reached-out-helped": "Reaching out helped",
    "recovery-minutes": "Minutes until recovered",
}
QUADRANT_LABELS = {
    "secure": "Secure tendency",
    "preoccupied": "Preoccupied tendency",
    "dismissing": "Dismissing tendency",
    "fearful": "Fearful tendency",
}
RQ_SCORES = ("model_of_self", "model_of_others")


def base_url() -> str:
    return settings.FHIR_BASE_URL.rstrip("/")


def system(name: str) -> str:
    """Our CodeSystem URLs: `securebase` (scores, episode parts) and one per value vocabulary."""
    return f"{base_url()}/CodeSystem/{name}"


def questionnaire_url(code: str) -> str:
    return f"{base_url()}/Questionnaire/{code}"


def identifier_system(kind: str) -> str:
    """The `identifier.system` under which the API's own id of a record travels."""
    return f"{base_url()}/id/{kind}"


def derived_id(kind: str, value: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{value}"))


def full_url(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def _resource(resource_type: str, **elements) -> dict:
    """A resource in FHIR JSON: `resourceType` first, absent elements left out (FHIR has no nulls)."""
    return {"resourceType": resource_type, **{name: value for name, value in elements.items() if value is not None}}


def _coding(system_name: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system(system_name), "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system_name: str, code: str, display: str | None = None) -> dict:
    return {"coding": [_coding(system_name, code, display)], **({"text": display} if display else {})}


def _score_quantity(value: float | int) -> dict:
    return {"value": value, "unit": "score", "system": UCUM, "code": "{score}"}


# --- Questionnaires ----------------------------------------------------------------------------------
def _scale_options(instrument: Instrument) -> list[dict]:
    scale = instrument.definition["scale"]
    anchors = scale.get("anchors") or {}
    options = []
    for value in range(int(scale["min"]), int(scale["max"]) + 1):
        coding = _coding(f"{instrument.code}-scale", str(value), anchors.get(str(value)))
        coding["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": value}]
        options.append({"valueCoding": coding})
    return options


def _questionnaire_items(instrument: Instrument) -> list[dict]:
    definition = instrument.definition
    worded = wording_loaded(definition)
    options = _scale_options(instrument)

    def item(number_item: dict, prefix: str = "") -> dict:
        built = {
            "linkId": f"{prefix}{number_item['number']}",
            "type": "choice",
            "required": True,
            "answerOption": options,
            "code": [_coding("securebase-dimension", number_item["dimension"])],
        }
        if worded:
            built["text"] = number_item["text"]
        return built

    items = sorted(definition["items"], key=lambda i: i["number"])
    targets = definition.get("targets") or ()
    if not targets:
        return [item(i) for i in items]
    # ECR-RS: the same items once per relationship target; a response answers one or more targets.
    return [
        {
            "linkId": target,
            "type": "group",
            "text": target.replace("_", " ").capitalize(),
            "required": False,
            "item": [item(i, prefix=f"{target}.") for i in items],
        }
        for target in targets
    ]


def questionnaire(instrument: Instrument) -> dict:
    definition = instrument.definition
    return _resource(
        "Questionnaire",
        id=f"{instrument.code}-v{instrument.version}",
        url=questionnaire_url(instrument.code),
        version=str(instrument.version),
        name="".join(part.capitalize() for part in instrument.code.split("-")) + f"V{instrument.version}",
        title=instrument.title,
        status="active",
        description=definition.get("description"),
        copyright=definition.get("licence"),
        item=_questionnaire_items(instrument),
    )


# --- Check-ins ---------------------------------------------------------------------------------------
def _answer(instrument: Instrument, value: int) -> dict:
    anchors = instrument.definition["scale"].get("anchors") or {}
    return {"valueCoding": _coding(f"{instrument.code}-scale", str(value), anchors.get(str(value)))}


def _response_items(checkin: CheckIn) -> list[dict]:
    instrument = checkin.instrument
    targets = instrument.definition.get("targets") or ()
    responses = sorted(checkin.responses, key=lambda r: (r.get("target") or "", r["item"]))
    if not targets:
        return [{"linkId": str(r["item"]), "answer": [_answer(instrument, r["value"])]} for r in responses]
    groups = []
    for target in targets:
        answered = [r for r in responses if r.get("target") == target]
        if answered:
            groups.append(
                {
                    "linkId": target,
                    "item": [
                        {"linkId": f"{target}.{r['item']}", "answer": [_answer(instrument, r["value"])]}
                        for r in answered
                    ],
                }
            )
    return groups


def questionnaire_response(checkin: CheckIn, patient_ref: dict) -> dict:
    instrument = checkin.instrument
    return _resource(
        "QuestionnaireResponse",
        id=derived_id("checkin", checkin.id),
        identifier={"system": identifier_system("checkin"), "value": str(checkin.id)},
        questionnaire=f"{questionnaire_url(instrument.code)}|{instrument.version}",
        status="completed",
        subject=patient_ref,
        authored=local_isoformat(checkin.occurred_at, checkin.utc_offset_minutes),
        item=_response_items(checkin),
    )


def score_observations(checkin: CheckIn, patient_ref: dict, response_ref: dict) -> list[dict]:
    """One Observation per subscale score of the check-in (the values the API's `scores` shows)."""
    effective = local_isoformat(checkin.occurred_at, checkin.utc_offset_minutes)
    targets = checkin.extra_scores.get("targets") or {}
    values: dict[str, float | int] = {
        "anxiety": checkin.anxiety,
        "avoidance": checkin.avoidance,
        "distance_to_secure": checkin.distance_to_secure,
    }
    values.update({name: checkin.extra_scores[name] for name in RQ_SCORES if name in checkin.extra_scores})
    observations = []
    for name, value in values.items():
        resource: dict = {
            "id": derived_id(f"score:{name}", checkin.id),
            "identifier": [{"system": identifier_system("checkin-score"), "value": f"{checkin.id}/{name}"}],
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
            "code": _concept("securebase", name, SCORE_CODES[name]),
            "subject": patient_ref,
            "effectiveDateTime": effective,
            "valueQuantity": _score_quantity(value),
            "derivedFrom": [response_ref],
        }
        if name == "distance_to_secure":
            resource["interpretation"] = [
                _concept("securebase-quadrant", checkin.quadrant, QUADRANT_LABELS.get(checkin.quadrant))
            ]
        if name in ("anxiety", "avoidance") and targets:
            # ECR-RS: the headline is the mean over answered targets; each target's own score follows.
            resource["component"] = [
                {
                    "code": _concept("securebase-relationship-target", target),
                    "valueQuantity": _score_quantity(scores[name]),
                }
                for target, scores in sorted(targets.items())
            ]
        observations.append(_resource("Observation", **resource))
    return observations


# --- Regulation episodes -----------------------------------------------------------------------------
def _component(code: str, **value) -> dict:
    return {"code": _concept("securebase", code, EPISODE_CODES[code]), **value}


def regulation_observation(log: RegulationLog, patient_ref: dict) -> dict:
    components = [
        _component(
            "trigger",
            valueCodeableConcept=_concept("securebase-trigger", log.trigger, vocabularies.TRIGGERS.get(log.trigger)),
        )
    ]
    if log.trigger_target:
        label = vocabularies.TRIGGER_TARGETS.get(log.trigger_target)
        components.append(
            _component(
                "trigger-target", valueCodeableConcept=_concept("securebase-trigger-target", log.trigger_target, label)
            )
        )
    for emotion in log.emotions or ():
        label = vocabularies.EMOTIONS.get(emotion.get("label"))
        component = {"code": _concept("securebase-emotion", emotion["label"], label)}
        if emotion.get("intensity") is not None:
            component["valueInteger"] = emotion["intensity"]
        components.append(component)
    if log.intensity_before is not None:
        components.append(_component("intensity-before", valueInteger=log.intensity_before))
    if log.intensity_after is not None:
        components.append(_component("intensity-after", valueInteger=log.intensity_after))
    for strategy in log.strategies or ():
        label = vocabularies.STRATEGIES.get(strategy, (None, None))[1]
        components.append(_component("strategy", valueCodeableConcept=_concept("securebase-strategy", strategy, label)))
    if log.reached_out is not None:
        components.append(_component("reached-out", valueBoolean=log.reached_out))
    if log.reached_out_helped is not None:
        components.append(_component("reached-out-helped", valueBoolean=log.reached_out_helped))
    if log.recovery_minutes is not None:
        quantity = {"value": log.recovery_minutes, "unit": "min", "system": UCUM, "code": "min"}
        components.append(_component("recovery-minutes", valueQuantity=quantity))
    return _resource(
        "Observation",
        id=derived_id("regulation-log", log.id),
        identifier=[{"system": identifier_system("regulation-log"), "value": str(log.id)}],
        status="final",
        category=[{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        code=_concept("securebase", "regulation-episode", EPISODE_CODES["regulation-episode"]),
        subject=patient_ref,
        effectiveDateTime=local_isoformat(log.occurred_at, log.utc_offset_minutes),
        component=components,
    )


# --- People and consent ------------------------------------------------------------------------------
def _person(user: User) -> dict:
    person: dict = {
        "id": derived_id("user", user.id),
        "identifier": [{"system": identifier_system("user"), "value": str(user.id)}],
    }
    if user.display_name:
        person["name"] = [{"text": user.display_name}]
    return person


def consent(grant: ShareGrant, patient_ref: dict, therapist_ref: dict, now: datetime) -> dict:
    """A share as a privacy consent: the client permits the therapist to access the shared classes."""
    active = grant.effective_status(now) == ShareGrant.Status.ACTIVE
    end = grant.revoked_at or grant.expires_at
    period = {"start": grant.accepted_at.isoformat(), **({"end": end.isoformat()} if end else {})}
    return _resource(
        "Consent",
        id=derived_id("share", grant.id),
        identifier=[{"system": identifier_system("share"), "value": str(grant.id)}],
        status="active" if active else "inactive",
        scope={
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                    "display": "Privacy Consent",
                }
            ]
        },
        category=[{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        patient=patient_ref,
        dateTime=grant.accepted_at.isoformat(),
        performer=[patient_ref],
        policyRule={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        provision={
            "type": "permit",
            "period": period,
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                                "display": "information recipient",
                            }
                        ]
                    },
                    "reference": therapist_ref,
                }
            ],
            "action": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
            ],
            "class": [_coding("securebase-share-scope", scope, Scope(scope).label) for scope in grant.scopes],
        },
    )


# --- The bundle --------------------------------------------------------------------------------------
def _entry(resource: dict) -> dict:
    return {"fullUrl": full_url(resource["id"]), "resource": resource}


def _ref(resource: dict) -> dict:
    return {"reference": full_url(resource["id"])}


def _instruments(checkins: Iterable[CheckIn]) -> list[Instrument]:
    seen: dict[int, Instrument] = {}
    for checkin in checkins:
        seen.setdefault(checkin.instrument_id, checkin.instrument)
    return sorted(seen.values(), key=lambda i: (i.code, i.version))


def fhir_bundle(*, source: FhirSource, now: datetime) -> dict:
    """The source's records as one R4 `collection` Bundle, in FHIR JSON.

    Plain dicts, not fhir.resources models: validating and serialising every element through the
    models took 50 s for 1,000 check-ins + 500 logs on our shared 2-core machine (past the 60 s web
    timeout with any more history), plain JSON about 2 s, like the JSON export. The shape is proven
    instead by the tests, which parse every bundle the API answers with fhir.resources
    (tests/data_rights/test_fhir_export.py)."""
    patient = _resource("Patient", **_person(source.patient))
    patient_ref = _ref(patient)
    entries = [_entry(patient)]
    entries += [_entry(questionnaire(instrument)) for instrument in _instruments(source.checkins)]
    for checkin in source.checkins:
        response = questionnaire_response(checkin, patient_ref)
        entries.append(_entry(response))
        entries += [_entry(o) for o in score_observations(checkin, patient_ref, _ref(response))]
    entries += [_entry(regulation_observation(log, patient_ref)) for log in source.regulation_logs]
    practitioners: dict = {}
    for grant in source.grants:
        practitioner = practitioners.get(grant.therapist_id)
        if practitioner is None:
            practitioner = practitioners[grant.therapist_id] = _resource("Practitioner", **_person(grant.therapist))
            entries.append(_entry(practitioner))
        entries.append(_entry(consent(grant, patient_ref, _ref(practitioner), now)))
    return _resource(
        "Bundle",
        id=derived_id("export", f"{source.patient.id}:{now.isoformat()}"),
        type="collection",
        timestamp=now.isoformat(),
        entry=entries,
    )
