"""A community's settings, changed by its moderators (and this node's admins): its display
name, description, rules, way of joining, avatar and header.

All or nothing: the texts and the mode are checked, and the pictures processed as a person's
are (node/media.py `upload`: the same confined processing, limits and crop), before anything
of the community changes; then one transaction writes it all and queues the Update of the
community's actor, which node/outbox.py sends to its members' nodes the community's audience
admits. The audience itself is not a setting: the posts written under one audience would be
re-exposed or stranded by another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from node import accounts, communities, media
from node.avatars import ROLE_POINTERS
from node.context import NodeContext
from node.federate import queue_fanout
from node.media import Upload
from node.queues import ActorUpdated
from storage.errors import Forbidden, Invalid, NotFound
from storage.models import Account, CommunityMode, MediaAttachment, MediaRole


@dataclass(frozen=True)
class Settings:
    """What a moderator sends. `pictures`: a role to a new file, or None to remove it; a role
    not named stays as it is."""

    display_name: str
    description: str
    rules: str
    mode: str
    pictures: Mapping[MediaRole, Upload | None] = field(default_factory=dict)


def check(settings: Settings) -> CommunityMode:
    """`Invalid` for a text or mode the change would refuse (before any file is processed)."""
    mode = communities.parse_mode(settings.mode)
    accounts.check_profile(display_name=settings.display_name, bio=settings.description)
    if not settings.display_name.strip():
        raise Invalid("a community needs a display name")
    if "\x00" in settings.rules:
        raise Invalid("the rules may not contain a NUL character")
    if len(settings.rules) > communities.MAX_RULES:
        raise Invalid(f"rules too long: at most {communities.MAX_RULES} characters")
    return mode


async def _may_change(ctx: NodeContext, actor: Account, community_id: int) -> Account:
    async with ctx.db.reader() as s:
        group = await s.get(Account, community_id)
        community = await communities.community_of(s, community_id)
        if group is None or community is None or group.deleted_at is not None:
            raise NotFound("no such community")
        if not await communities.may_moderate(s, community_id, actor):
            raise Forbidden("only the community's moderators may change its settings")
    return group


async def _discard(ctx: NodeContext, rows: list[MediaAttachment]) -> None:
    """Pictures processed for a change that did not happen: their rows and bytes go."""
    async with ctx.db.session() as s:
        for row in rows:
            found = await s.get(MediaAttachment, row.id)
            if found is not None:
                await s.delete(found)
    if ctx.media is not None:
        for row in rows:
            for key in (row.storage_key, row.preview_key):
                if key:
                    await ctx.media.delete(key)


async def update(ctx: NodeContext, actor: Account, community_id: int, settings: Settings) -> Account:
    """Change the community's settings as `actor` (a moderator of it, or an admin here): all
    of them, or none with the reason (Invalid 422, Forbidden 403). The community's account is
    returned as it now is."""
    mode = check(settings)
    group = await _may_change(ctx, actor, community_id)
    made: dict[MediaRole, MediaAttachment] = {}
    try:
        for role, upload in settings.pictures.items():
            if upload is not None:
                # The community's own media row, as a person's picture is theirs.
                made[role] = await media.upload(ctx, group, upload, role=role)
    except BaseException:
        await _discard(ctx, list(made.values()))
        raise
    gone: list[str] = []
    try:
        async with ctx.db.session() as s:
            row = await s.get(Account, community_id)
            community = await communities.community_of(s, community_id)
            if row is None or community is None or row.deleted_at is not None:
                raise NotFound("no such community")
            row.display_name = settings.display_name.strip()
            row.bio = settings.description.strip()
            row.locked = mode is not CommunityMode.OPEN
            community.rules = settings.rules.strip()
            community.mode = mode
            for role in settings.pictures:
                pointer = ROLE_POINTERS[role]
                old_id: int | None = getattr(row, pointer)
                old = await s.get(MediaAttachment, old_id) if old_id is not None else None
                setattr(row, pointer, made[role].id if role in made else None)
                if old is not None and old.account_id == row.id and old.role == role.value:
                    gone += [key for key in (old.storage_key, old.preview_key) if key]
                    await s.delete(old)
            await queue_fanout(s, ActorUpdated(row.id))
    except BaseException:
        await _discard(ctx, list(made.values()))
        raise
    if ctx.media is not None:
        for key in gone:  # after the commit: a failure leaves bytes no row names, for `media prune`
            await ctx.media.delete(key)
    return await accounts.get_account(ctx, community_id)
