def assert_error(response, status: int, code: str | None = None, fields: list[str] | None = None) -> dict:
    """The response is an error in the one documented shape, with this status (and code, fields)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    if fields is not None:
        assert set(fields) <= set(error.get("fields", {})), error
        for messages in error["fields"].values():
            assert messages and all(isinstance(m, str) for m in messages)
    return error


def api_routes() -> list[tuple[str, object]]:
    """Every route under /api/v1/, as (pattern string without the prefix, view callback)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry.callback

    return [
        (route.removeprefix("api/v1/"), view)
        for route, view in walk(get_resolver().url_patterns)
        if route.startswith("api/v1/")
    ]


def at_once(call, clients) -> list:
    """Run `call(client)` for every client in its own thread, released together by a barrier, and
    return the results (in completion order). Each thread closes its database connections."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(clients))
    results = []

    def run(client):
        try:
            barrier.wait()
            results.append(call(client))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def load_licensed_wording(tmp_path, codes=("ecr-r", "ecr-s", "ecr-rs", "rq")) -> None:
    """What a deploying clinic does: copy the shipped scoring keys, put its licensed wording in, and
    load them with `manage.py load_instruments --path DIR`."""
    import json

    from django.core.management import call_command

    from tracker.entries.services.instruments import definitions_read

    folder = tmp_path / "clinic-wording"
    folder.mkdir(exist_ok=True)
    for definition in definitions_read():
        if definition["code"] in codes:
            for item in definition["items"]:
                item["text"] = f"Clinic wording of {definition['code']} statement {item['number']}"
            (folder / f"{definition['code']}.json").write_text(json.dumps(definition))
    call_command("load_instruments", path=folder)


def totp_code(user, *, at: float | None = None) -> str:
    """The code the user's authenticator app would show now (or at `at`), from their confirmed device,
    computed with django-otp's RFC 6238 implementation."""
    import time

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user).order_by("-confirmed", "-id").first()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def allow_code_reuse(user) -> None:
    """Forget the last accepted TOTP step, so a test can sign the same user in twice within 30 s.
    (The replay guard itself is tested in tests/accounts/test_second_factor.py.)"""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).update(last_t=-1)


def web_login(browser, user):
    """A dashboard session that passed both steps, like TwoStepLoginView + login_code leave it
    (force_login plus django-otp's session key for the user's authenticator)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    browser.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = browser.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return browser
