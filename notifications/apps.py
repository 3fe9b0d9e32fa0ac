from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Plug into `tracker` without `tracker` importing this app: its timezone signal, the
        adherence count insights reads, and this app's sections of the user's export."""
        from notifications.export import export_sections_register
        from notifications.selectors.notifications import nudges_asked_subquery
        from notifications.services.schedules import schedule_reschedule
        from tracker.accounts.signals import user_timezone_changed
        from tracker.insights.prompts import prompts_asked_register

        def reschedule_on_timezone_change(sender, *, user, **kwargs) -> None:
            schedule_reschedule(user=user)

        user_timezone_changed.connect(
            reschedule_on_timezone_change, weak=False, dispatch_uid="notifications-timezone-reschedule"
        )
        prompts_asked_register(nudges_asked_subquery)
        export_sections_register()
