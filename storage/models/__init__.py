"""The node's tables as SQLAlchemy 2 typed models, in modules by what they hold (base,
social, media, federation, auth, second factors, limits, compliance, single sign-on, SCIM, tags, lists, filters, scheduled, preferences, domain blocks, communities, polls, announcements, pins); every name is importable from here, and importing this module
registers every table on `Base.metadata` (Alembic and the schema test read it).

Ids are time-ordered 64-bit integers (`storage.ids.new_id`) so cursors page by id.
A local account has `domain = None`; a remote one carries its canonical domain.
"""

from storage.models.announcements import Announcement, AnnouncementReaction, AnnouncementRead
from storage.models.auth import IdempotencyKey, OAuthApp, OAuthCode, OAuthToken, WebSession
from storage.models.base import NOTIFICATION_TYPES, ROLES, VISIBILITIES, Base, UTCDateTime, table_of, utcnow
from storage.models.communities import ActorType, Community, CommunityInvite, CommunityMode, CommunityModerator
from storage.models.compliance import AccountField, FieldScope, FieldSource, LegalHold, SealCause, SealedPost
from storage.models.domain_blocks import UserDomainBlock
from storage.models.federation import AuditEntry, AuditHead, InboxEntry, Job, NodeSetting, Peer, PeerName, Tombstone
from storage.models.filters import ContentFilter, FilterKeyword, FilterStatus
from storage.models.limits import LimitState, ServingProcess
from storage.models.lists import REPLIES_POLICIES, TITLE_MAX, List, ListMember
from storage.models.media import MediaAttachment, MediaKind, MediaRole, MediaState
from storage.models.oidc import OidcLink, OidcLogin
from storage.models.pins import MAX_PINS, PinnedPost
from storage.models.polls import MAX_OPTIONS, Poll, PollVote
from storage.models.preferences import AccountPreferences
from storage.models.scheduled import ScheduledMedia, ScheduledStatus
from storage.models.scim import ScimGroup, ScimGroupMember, ScimToken, ScimUser
from storage.models.second_factors import AuthChallenge, ChallengeKind, FactorKind, RecoveryCode, SecondFactor
from storage.models.social import (
    Account,
    Block,
    Bookmark,
    ConversationState,
    Follow,
    Instance,
    Like,
    Marker,
    Mention,
    Mute,
    Notification,
    Post,
    PostEdit,
    PostTag,
    Report,
    Tag,
    TimelineEntry,
)
from storage.models.tags import DismissedSuggestion, FeaturedTag, FollowedTag

__all__ = [
    "ActorType",
    "Announcement",
    "AnnouncementReaction",
    "AnnouncementRead",
    "Community",
    "CommunityInvite",
    "CommunityMode",
    "CommunityModerator",
    "MAX_OPTIONS",
    "MAX_PINS",
    "PinnedPost",
    "Poll",
    "PollVote",
    "OidcLink",
    "OidcLogin",
    "ContentFilter",
    "FilterKeyword",
    "FilterStatus",
    "ScheduledMedia",
    "ScheduledStatus",
    "AccountPreferences",
    "AccountField",
    "FieldScope",
    "FieldSource",
    "LegalHold",
    "SealCause",
    "SealedPost",
    "ScimGroup",
    "ScimGroupMember",
    "ScimToken",
    "ScimUser",
    "Account",
    "AuditEntry",
    "AuthChallenge",
    "ChallengeKind",
    "FactorKind",
    "RecoveryCode",
    "SecondFactor",
    "AuditHead",
    "Base",
    "Block",
    "DismissedSuggestion",
    "FeaturedTag",
    "FollowedTag",
    "Bookmark",
    "ConversationState",
    "Follow",
    "IdempotencyKey",
    "InboxEntry",
    "Instance",
    "Job",
    "Like",
    "List",
    "ListMember",
    "REPLIES_POLICIES",
    "TITLE_MAX",
    "LimitState",
    "Marker",
    "MediaAttachment",
    "MediaKind",
    "MediaRole",
    "MediaState",
    "Mention",
    "Mute",
    "NOTIFICATION_TYPES",
    "NodeSetting",
    "Notification",
    "OAuthApp",
    "OAuthCode",
    "OAuthToken",
    "Peer",
    "PeerName",
    "Post",
    "PostEdit",
    "PostTag",
    "ROLES",
    "Report",
    "ServingProcess",
    "Tag",
    "TimelineEntry",
    "UserDomainBlock",
    "table_of",
    "Tombstone",
    "UTCDateTime",
    "VISIBILITIES",
    "WebSession",
    "utcnow",
]
