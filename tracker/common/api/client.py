"""The client's IP address, as the per-IP throttles see it: REMOTE_ADDR unless TRUSTED_PROXY_COUNT
proxies append to X-Forwarded-For, then the address the outermost trusted proxy saw (DRF's rule,
REST_FRAMEWORK["NUM_PROXIES"]). A client cannot choose it by sending its own header."""

from rest_framework.throttling import BaseThrottle


def client_ip(request) -> str:
    return BaseThrottle().get_ident(request)
