"""A node serving /scim/v2/ on loopback and a SCIM client of it: what every SCIM test starts from."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from node import scim_tokens
from storage.models import Account, AuditEntry, ScimGroup, ScimUser
from tests.conftest import StartNode
from tests.factory import LocalNode

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Answer:
    status: int
    body: Any
    content_type: str
    headers: dict[str, str]


@dataclass
class Scim:
    """The node, and requests to its SCIM endpoint carrying `token` (unless told otherwise)."""

    node: LocalNode
    token: str
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: Any = None, *, token: str | None = "default",
                   raw: bytes | None = None, params: dict[str, str] | None = None) -> Answer:
        headers = {"Content-Type": "application/scim+json"}
        bearer = self.token if token == "default" else token
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        async with self.http.request(method, f"{self.node.url}/scim/v2{path}", data=data, headers=headers,
                                     params=params) as resp:
            text = await resp.text()
            return Answer(resp.status, json.loads(text) if text else None, resp.content_type, dict(resp.headers))

    async def counts(self) -> tuple[int, int, int]:
        """(local accounts, provisioned users, groups): what a refused request must leave as it was."""
        async with self.node.ctx.db.reader() as s:
            accounts = await s.scalar(select(func.count()).select_from(Account).where(Account.domain.is_(None)))
            users = await s.scalar(select(func.count()).select_from(ScimUser))
            groups = await s.scalar(select(func.count()).select_from(ScimGroup))
        return int(accounts or 0), int(users or 0), int(groups or 0)

    async def account(self, username: str) -> Account:
        async with self.node.ctx.db.reader() as s:
            row = await s.scalar(select(Account).where(Account.username == username, Account.domain.is_(None)))
        assert row is not None, username
        return row

    async def audit_rules(self) -> list[str]:
        async with self.node.ctx.db.reader() as s:
            return list((await s.scalars(select(AuditEntry.rule).where(AuditEntry.rule.like("scim:%"))
                                         .order_by(AuditEntry.id))).all())


@pytest.fixture
async def scim(start_node: StartNode) -> AsyncIterator[Scim]:
    """A node whose `Admins` directory group makes admins, with a SCIM token and alice (a
    password account made on the command line)."""
    node = await start_node(users=("alice",), admin_groups=("Admins",), moderator_groups=("Moderators",))
    _, token = await scim_tokens.create_token(node.ctx, "idp")
    async with aiohttp.ClientSession() as http:
        yield Scim(node, token, http)
