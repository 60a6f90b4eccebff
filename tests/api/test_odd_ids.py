"""Ids from a request are ASCII digits within BIGINT: anything else (a superscript digit that
str.isdigit accepts and int refuses, or 20 digits) is a 4xx with a reason, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.api.conftest import SignIn, auth

ODD = ["²", "١٢٣", "99999999999999999999", "9223372036854775808"]
GETS = [
    "/api/v1/statuses/{id}",
    "/api/v1/notifications/{id}",
    "/api/v1/accounts/{id}",
    "/api/v1/accounts/{id}/statuses",
    "/api/v1/notifications?account_id={id}",
    "/api/v1/accounts/relationships?id[]={id}",
    "/api/v1/timelines/home?max_id={id}",
]
POSTS = [
    ("/api/v1/statuses", {"status": "a reply", "in_reply_to_id": "{id}"}),
    ("/api/v1/notifications/dismiss", {"id": "{id}"}),
    ("/api/v1/markers", {"home[last_read_id]": "{id}"}),
]


@pytest.mark.parametrize("odd", ODD)
async def test_odd_ids_get_a_clear_4xx(api: TestClient[Any, Any], sign_in: SignIn, odd: str) -> None:
    headers = auth(await sign_in("alice"))
    for template in GETS:
        resp = await api.get(template.format(id=odd), headers=headers)
        body = await resp.json()
        if resp.status == 200:  # a filter that matches nothing is a fair answer too
            assert body in ([], {}) or "relationships" in template, (template, body)
        else:
            assert 400 <= resp.status < 500 and body["error"], (template, resp.status, body)
    for path, form in POSTS:
        resp = await api.post(path, data={k: v.format(id=odd) for k, v in form.items()}, headers=headers)
        assert 400 <= resp.status < 500 and (await resp.json())["error"], (path, resp.status)
