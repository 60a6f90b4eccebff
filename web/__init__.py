"""The aiohttp application: well-known routes, ActivityPub, client API, web UI."""
