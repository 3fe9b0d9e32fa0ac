"""gunicorn settings shared by docker-compose and the drills (`gunicorn -c config/gunicorn.py`).

The access log carries the path only (`%(U)s`), never the query string (`%(q)s`, `%(r)s`) or the
referrer, which can hold health data (`?trigger=uncertainty&strategy=breathing`)."""

import os

bind = os.getenv("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.getenv("GUNICORN_WORKERS", "3"))
timeout = int(os.getenv("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
accesslog = os.getenv("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# Only the loopback proxy may set X-Forwarded-Proto (the client IP is decided by TRUSTED_PROXY_COUNT).
forwarded_allow_ips = os.getenv("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No request-line limit here: Django answers an over-long URL with a JSON 414 in the API's error
# shape (config.middleware.BodySizeLimitMiddleware, MAX_REQUEST_URI_BYTES); gunicorn's own limit
# answers with an HTML page no client can parse. The fronting proxy caps the bytes it accepts.
limit_request_line = 0
