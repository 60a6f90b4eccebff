"""The node: accounts, posts, follows, timelines, notifications, trust policy."""
