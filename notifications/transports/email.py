"""Email through Django's mail framework (SMTP in production, locmem in tests)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from notifications.transports.base import Message, TransportError


class EmailTransport:
    channel = "email"
    label = "Email"
    via_outbox = True
    per_device = False

    def configured(self) -> bool:
        return True  # Django always has a mail backend (console in development)

    def send(self, message: Message) -> None:
        link = f"\n\nOpen the app: {message.deep_link}" if message.deep_link else ""
        email = EmailMessage(
            subject=message.title, body=message.body + link, from_email=settings.DEFAULT_FROM_EMAIL, to=[message.email]
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused:
            raise TransportError("recipient refused", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            # 5xx SMTP replies are permanent, 4xx temporary (RFC 5321).
            raise TransportError(f"smtp {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"smtp unavailable: {type(exc).__name__}", permanent=False) from None
