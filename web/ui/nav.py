"""The web UI's navigation in one place: the employee's links, the staff's (grouped under
"Admin", shown to the roles named), the few that a phone keeps in its bottom bar, and the
sections of Settings (tabs on each settings page, as Mastodon keeps filters and blocks under its
preferences, so the main list stays short). A new page adds its link here; base.html and
_settings_nav.html draw the lists."""

from __future__ import annotations

from dataclasses import dataclass

STAFF = ("moderator", "admin")
ADMINS = ("admin",)


@dataclass(frozen=True)
class Link:
    href: str  # "{username}" is replaced by the signed-in person's username
    label: str
    icon: str  # one character, decorative (hidden from screen readers)
    roles: tuple[str, ...] = ()  # who sees it; () is everyone signed in
    prefix: bool = False  # current on every path under href too (a section with sub-pages)
    phone: bool = False  # also in the bottom bar on a phone
    also: tuple[str, ...] = ()  # other paths (and what is under them) where it is current too

    def url(self, username: str) -> str:
        return self.href.replace("{username}", username)

    def current(self, path: str, username: str) -> bool:
        url = self.url(username)
        return (path == url or (self.prefix and path.startswith(url + "/"))
                or any(path == p or path.startswith(p + "/") for p in self.also))

    def shown_to(self, role: str) -> bool:
        return not self.roles or role in self.roles


MAIN = [
    Link("/", "Home", "⌂", phone=True),
    Link("/organization", "Organisation", "◎", phone=True),
    Link("/local", "This node", "◉"),
    Link("/federated", "Federated", "◍"),
    Link("/notifications", "Notifications", "♪", phone=True),
    Link("/conversations", "Direct messages", "✉", prefix=True),
    Link("/search", "Search", "⌕", phone=True),
    Link("/directory", "People", "⚇"),
    Link("/communities", "Communities", "⁂", prefix=True),
    Link("/explore", "Explore", "✦"),
    Link("/bookmarks", "Bookmarks", "⚲"),
    Link("/favourites", "Favourites", "★"),
    Link("/lists", "Lists", "☰", prefix=True),
    Link("/scheduled", "Scheduled posts", "◷"),
    Link("/@{username}", "Profile", "☺"),
    Link("/follow_requests", "Requests", "⇆"),
    Link("/settings", "Settings", "⚙", prefix=True, also=("/blocks", "/mutes")),
]

# The sections of Settings, drawn as tabs on each of their pages.
SETTINGS = [
    Link("/settings", "Account", "☺"),
    Link("/settings/filters", "Filters", "▽", prefix=True),
    Link("/blocks", "Blocked and muted", "⊘", also=("/mutes",)),
    Link("/settings/security", "Security", "⚿", prefix=True),
    Link("/settings/export", "Import and export", "⇅", prefix=True),
]

ADMIN = [
    Link("/admin/reports", "Reports", "⚑", STAFF, prefix=True),
    Link("/admin/accounts", "Moderation", "⚐", STAFF),
    Link("/admin/users", "Users", "☷", ADMINS),
    Link("/admin/policy", "Trust policy", "⚖", ADMINS, prefix=True),
    Link("/admin/federation", "Federation", "⇄", ADMINS),
    Link("/admin/holds", "Legal holds", "§", ADMINS),
    Link("/admin/announcements", "Announcements", "❢", ADMINS),
    Link("/admin/settings", "Node settings", "✎", ADMINS),
]

# Visitors who are not signed in.
VISITOR = [
    Link("/signin", "Sign in", "→"),
    Link("/local", "This node", "◉"),
    Link("/federated", "Federated", "◍"),
]


def visible(links: list[Link], role: str) -> list[Link]:
    """The links of `links` a person with `role` sees."""
    return [link for link in links if link.shown_to(role)]
