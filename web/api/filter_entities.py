"""Filters as Mastodon's entities (Filter, FilterKeyword, FilterStatus, FilterResult and the
v1 Filter, a view of one keyword), and a page of posts judged by the viewer's filters in one
context: pure converters, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.filters import FilterView, judge
from node.filters_match import CompiledFilter, FilterAction, FilterContext, Match
from node.media import AttachmentView
from storage.models import FilterKeyword, FilterStatus, Post
from web.api.serializers import JSON, timestamp


def keyword(k: FilterKeyword) -> JSON:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word}


def filter_status(fs: FilterStatus) -> JSON:
    return {"id": str(fs.id), "status_id": str(fs.post_id)}


def filter_v2(v: FilterView) -> JSON:
    return {
        "id": str(v.row.id),
        "title": v.row.title,
        "context": v.contexts,
        "expires_at": timestamp(v.row.expires_at),
        "filter_action": v.row.action,
        "keywords": [keyword(k) for k in v.keywords],
        "statuses": [filter_status(s) for s in v.statuses],
    }


def filter_v1(k: FilterKeyword, v: FilterView) -> JSON:
    """Mastodon 4's v1 filter: one keyword of a filter, with its filter's contexts and expiry."""
    return {
        "id": str(k.id),
        "phrase": k.keyword,
        "context": v.contexts,
        "whole_word": k.whole_word,
        "expires_at": timestamp(v.row.expires_at),
        "irreversible": v.row.action == FilterAction.HIDE,
    }


def _compiled_entity(f: CompiledFilter) -> JSON:
    return {
        "id": str(f.id),
        "title": f.title,
        "context": [c.value for c in FilterContext if c in f.contexts],
        "expires_at": timestamp(f.expires_at),
        "filter_action": f.action.value,
        "keywords": [{"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word} for k in f.keywords],
        "statuses": [],
    }


def result(m: Match) -> JSON:
    """Mastodon's FilterResult."""
    return {
        "filter": _compiled_entity(m.filter),
        "keyword_matches": list(m.keyword_matches) or None,
        "status_matches": [str(i) for i in m.status_matches] or None,
    }


@dataclass(frozen=True)
class FilterScope:
    """The viewer's active filters (node.filters.active, loaded once per request) and the
    context a response is read in."""

    context: FilterContext
    filters: Sequence[CompiledFilter]

    def applies(self) -> bool:
        return any(self.context in f.contexts for f in self.filters)

    def judge(self, post: Post, proper: Post, media: Sequence[AttachmentView]) -> list[Match] | None:
        """The matches for a post (a boost judged by its original), or None when a `hide`
        filter removes it."""
        return judge(self.filters, self.context, post, proper, [m.description for m in media if m.description])
