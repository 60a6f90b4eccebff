"""The role a person's identity-provider groups give them here: one rule for OpenID Connect
sign-in (the group claim, re-read at each sign-in) and SCIM provisioning (Groups)."""

from __future__ import annotations

from collections.abc import Iterable

from storage.models import ROLES


def role_for_groups(groups: Iterable[str], *, admin_groups: Iterable[str], moderator_groups: Iterable[str]) -> str:
    """`admin` for a member of any admin group, else `moderator` for a member of any
    moderator group, else `user`. Group names compare exactly (IdPs send ids or names as
    configured; a case-folded match could promote the wrong group)."""
    member = set(groups)
    if member & set(admin_groups):
        return "admin"
    if member & set(moderator_groups):
        return "moderator"
    return "user"


assert {"admin", "moderator", "user"} <= set(ROLES)
