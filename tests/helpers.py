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
