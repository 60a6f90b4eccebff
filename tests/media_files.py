"""Media rows and their bytes for tests, written directly with the model and the node's store
(`ctx.media`), as an upload or a peer's attachment would leave them once processed."""

from __future__ import annotations

from node.context import NodeContext
from storage.media_store import new_key
from storage.models import Account, Post
from storage.models.media import MediaAttachment, MediaKind, MediaRole, MediaState

# The smallest PNG there is (1x1, transparent): what a picture's bytes look like to a reader.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


async def stored_media(
    ctx: NodeContext,
    account: Account,
    data: bytes = PNG,
    content_type: str = "image/png",
    *,
    post: Post | None = None,
    role: MediaRole = MediaRole.ATTACHMENT,
    file_name: str | None = None,
    state: MediaState = MediaState.READY,
    extension: str = "png",
) -> MediaAttachment:
    """`data` stored under a fresh key in the node's store, and its row: the attachment of
    `post` (None: an upload not posted yet), or the account's avatar or header by `role`."""
    assert ctx.media is not None, "the node has no media store: give it one (ctx.media = LocalStore(...))"
    key = new_key(extension)
    await ctx.media.put(key, data, content_type)
    kind = MediaKind.IMAGE if content_type.startswith("image/") else MediaKind.UNKNOWN
    row = MediaAttachment(account_id=account.id, post_id=post.id if post else None, role=role.value, kind=kind.value,
                          state=state.value, content_type=content_type, file_name=file_name, size_bytes=len(data),
                          storage_key=key)
    async with ctx.db.session() as s:
        s.add(row)
    return row
