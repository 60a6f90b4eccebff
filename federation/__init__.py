"""The protocol: HTTP signatures, JSON-LD, ActivityStreams converters, signed client, delivery."""
