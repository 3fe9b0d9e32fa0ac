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
