"""Alert writes: the rules of a share, the scheduler job that evaluates them, acknowledgment, email.

The evaluation is set-based: shares are read in batches and every figure a rule needs comes from a
constant number of queries per batch (last check-in, latest safety flags, last acknowledgment, and
the trend reports of all the batch's clients), whatever the number of shares. Alerts are rare, so
the writes that open an episode go one rule at a time, each claimed by a conditional UPDATE
(`active_since IS NULL`), which is what makes a re-run or a concurrent tick raise nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.alerts import rules as rule_specs
from tracker.alerts.models import Alert, AlertKind, AlertRule
from tracker.alerts.selectors import live_grants, visible_alerts
from tracker.clinics.models import ClinicMembership, verified_membership_q
from tracker.common.errors import NotFound
from tracker.models import CheckIn, RegulationLog, ShareGrant, User
from tracker.sharing.models import Scope
from tracker.sharing.selectors.shared_data import trend_reports_for_clients

logger = logging.getLogger(__name__)

BATCH = 500


def rules_ensure(*, grants: Iterable[ShareGrant]) -> None:
    """Every share has one rule per kind, on by default (the client's consent to share is the opt-in;
    each rule can be switched off). Missing ones are inserted; concurrent callers do not conflict."""
    grants = list(grants)
    if not grants:
        return
    existing = set(AlertRule.objects.filter(grant__in=grants).values_list("grant_id", "kind"))
    missing = [
        AlertRule(grant_id=g.pk, client_id=g.client_id, kind=kind)
        for g in grants
        for kind in rule_specs.RULES
        if (g.pk, kind) not in existing
    ]
    if missing:
        AlertRule.objects.bulk_create(missing, ignore_conflicts=True)


def rule_set_enabled(*, grant: ShareGrant, kind: str, enabled: bool, now: datetime | None = None) -> AlertRule:
    """The client switches a rule on or off. Off closes any open episode: the rule never fires while off,
    and its alerts are hidden from the therapist (see `visible_alerts`)."""
    if kind not in rule_specs.RULES:
        raise NotFound()
    now = now or timezone.now()
    rules_ensure(grants=[grant])
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().get(grant=grant, kind=kind)
        rule.enabled = enabled
        rule.updated_at = now
        if not enabled and rule.active_since is not None:
            rule.active_since = None
            Alert.objects.filter(rule=rule, episode_ended_at__isnull=True).update(episode_ended_at=now)
        rule.save(update_fields=["enabled", "active_since", "updated_at"])
    return rule


def alert_acknowledge(*, alert: Alert, by: User, now: datetime | None = None) -> Alert:
    """Recorded once (who and when); acknowledging again changes nothing."""
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now or timezone.now(), acknowledged_by=by
    )
    alert.refresh_from_db(fields=["acknowledged_at", "acknowledged_by"])
    return alert


# --- evaluation -------------------------------------------------------------------------------------


def _latest_by_user(model, user_ids, **filters) -> dict:
    return dict(
        model.objects.filter(user_id__in=user_ids, deleted_at__isnull=True, **filters)
        .values("user_id")
        .annotate(latest=Max("occurred_at"))
        .values_list("user_id", "latest")
    )


def _findings(grants: list[ShareGrant], rules: list[AlertRule], now: datetime) -> dict:
    """rule id → the scope whose data makes the rule hold now (absent: it does not hold)."""
    client_ids = {g.client_id for g in grants}
    grants_by_id = {g.pk: g for g in grants}
    lookback = now - timedelta(days=settings.ALERT_SAFETY_LOOKBACK_DAYS)
    flagged = {"occurred_at__gt": lookback, "occurred_at__lte": now, "safety_flag": True}
    flags = {
        Scope.CHECKINS: _latest_by_user(CheckIn, client_ids, **flagged),
        Scope.REGULATION_LOGS: _latest_by_user(RegulationLog, client_ids, **flagged),
    }
    last_checkin = _latest_by_user(CheckIn, client_ids, occurred_at__lte=now)
    last_ack = dict(
        Alert.objects.filter(rule__in=rules, acknowledged_at__isnull=False)
        .values("rule_id")
        .annotate(latest=Max("acknowledged_at"))
        .values_list("rule_id", "latest")
    )
    needs_trends = {
        grants_by_id[r.grant_id].client_id: grants_by_id[r.grant_id].client
        for r in rules
        if r.kind in (AlertKind.RELIABLE_WORSENING, AlertKind.DISTANCE_RISING)
        and grants_by_id[r.grant_id].scope_checkins
    }
    reports = trend_reports_for_clients(clients=needs_trends, now=now)
    no_checkin_after = timedelta(days=settings.ALERT_NO_CHECKIN_DAYS)

    out: dict = {}
    for rule in rules:
        grant = grants_by_id[rule.grant_id]
        if rule.kind == AlertKind.SAFETY_FLAG:
            # A flag counts once the share exists and after the therapist last acknowledged this rule.
            since = max(filter(None, (grant.accepted_at, last_ack.get(rule.pk))))
            for scope in (Scope.REGULATION_LOGS, Scope.CHECKINS):
                latest = flags[scope].get(grant.client_id)
                if grant.allows(scope) and latest is not None and latest > since:
                    out[rule.pk] = scope
                    break
            continue
        if not grant.allows(Scope.CHECKINS):
            continue
        if rule.kind == AlertKind.NO_CHECKIN:
            reference = max(filter(None, (grant.accepted_at, last_checkin.get(grant.client_id))))
            holds = now - reference >= no_checkin_after
        elif rule.kind == AlertKind.RELIABLE_WORSENING:
            holds = rule_specs.reliable_worsening(reports[grant.client_id])
        else:
            holds = rule_specs.distance_rising(reports[grant.client_id], weeks=settings.ALERT_DISTANCE_RISING_WEEKS)
        if holds:
            out[rule.pk] = Scope.CHECKINS
    return out


def _evaluate_batch(grants: list[ShareGrant], now: datetime) -> int:
    rules_ensure(grants=grants)
    rules = list(AlertRule.objects.filter(grant__in=grants))
    # Switched off: never evaluated; an episode left open (e.g. by a race with the switch) is closed.
    closing = [r.pk for r in rules if not r.enabled and r.active_since is not None]
    enabled = [r for r in rules if r.enabled]
    findings = _findings(grants, enabled, now)
    grants_by_id = {g.pk: g for g in grants}
    fired = 0
    for rule in enabled:
        scope = findings.get(rule.pk)
        if scope is None:
            if rule.active_since is not None:
                closing.append(rule.pk)
            continue
        if rule.active_since is not None:
            continue  # the episode is open: it already alerted
        grant = grants_by_id[rule.grant_id]
        with transaction.atomic():
            claimed = AlertRule.objects.filter(pk=rule.pk, enabled=True, active_since__isnull=True).update(
                active_since=now, updated_at=now
            )
            if claimed:
                Alert.objects.create(
                    rule_id=rule.pk,
                    grant_id=grant.pk,
                    therapist_id=grant.therapist_id,
                    client_id=grant.client_id,
                    kind=rule.kind,
                    scope=scope,
                    fired_at=now,
                )
                fired += 1
    if closing:
        with transaction.atomic():
            AlertRule.objects.filter(pk__in=closing).update(active_since=None, updated_at=now)
            Alert.objects.filter(rule_id__in=closing, episode_ended_at__isnull=True).update(episode_ended_at=now)
    return fired


def alerts_evaluate_job(*, now: datetime) -> int:
    """Scheduler job: evaluate every live share's enabled rules. Returns alerts raised."""
    fired = 0
    after = None
    while True:
        batch = live_grants(now=now).select_related("client").order_by("pk")
        if after is not None:
            batch = batch.filter(pk__gt=after)
        grants = list(batch[:BATCH])
        if not grants:
            return fired
        fired += _evaluate_batch(grants, now)
        after = grants[-1].pk


def alert_emails_job(*, now: datetime) -> int:
    """Scheduler job: one email per therapist with new alerts, saying only that there are alerts on
    the dashboard (no client, rule or figure: email is not a channel for health data). Returns emails
    sent. Alerts are claimed (`emailed_at`) before sending; a failed send releases them for the next tick."""
    due = list(
        visible_alerts(now=now)
        # Only therapists who can open the dashboard now (an unverified one could not see the alert).
        .filter(
            Exists(ClinicMembership.objects.filter(verified_membership_q(now), user_id=OuterRef("therapist_id"))),
            emailed_at__isnull=True,
            therapist__is_active=True,
        )
        .order_by("fired_at")
        .values_list("therapist_id", "id")[:1000]
    )
    by_therapist: dict = {}
    for therapist_id, alert_id in due:
        by_therapist.setdefault(therapist_id, []).append(alert_id)
    emails = dict(User.objects.filter(pk__in=list(by_therapist)).values_list("pk", "email"))
    sent = 0
    for therapist_id, alert_ids in by_therapist.items():
        claimed = Alert.objects.filter(id__in=alert_ids, emailed_at__isnull=True).update(emailed_at=now)
        if not claimed or not emails.get(therapist_id):
            continue
        try:
            send_mail(
                subject=_("A new alert on your Securebase dashboard"),
                message=_(
                    "There is a new alert on your Securebase dashboard.\n\n"
                    "Sign in to see it: %(url)s\n\n"
                    "For privacy this email never contains any details."
                )
                % {"url": f"{settings.PUBLIC_BASE_URL}/dashboard/alerts/"},
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[emails[therapist_id]],
            )
        except Exception:  # SMTP down or refusing: release the claim, the next tick tries again
            logger.warning("alert email failed; will retry", exc_info=True)
            Alert.objects.filter(id__in=alert_ids, emailed_at=now).update(emailed_at=None)
            continue
        sent += 1
    return sent
