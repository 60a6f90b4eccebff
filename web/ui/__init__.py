"""The employees' web UI: server-rendered pages (Jinja2, autoescaped), small static JS/CSS,
cookie sessions with CSRF tokens and a strict Content-Security-Policy."""
