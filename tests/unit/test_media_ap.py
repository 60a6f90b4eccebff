"""Attachments on the wire (federation/media_ap.py): what we send, and what real servers send us."""

from __future__ import annotations

from federation import jsonld
from federation.addressing import EVERYONE
from federation.builders import NoteData, post_to_ap
from federation.media_ap import (
    MAX_ATTACHMENTS,
    MAX_DESCRIPTION,
    AttachmentData,
    RemoteAttachment,
    ap_to_attachments,
    attachment_to_ap,
)
from federation.parsing import ap_to_post
from storage.models import utcnow
from storage.models.media import MediaKind

# Mastodon 4.x (ActivityPub::NoteSerializer's attachment: MediaAttachmentSerializer).
MASTODON = {
    "type": "Document",
    "mediaType": "image/jpeg",
    "url": "https://files.mastodon.example/media_attachments/files/111/222/333/original/0a1b2c.jpg",
    "name": "A tabby cat asleep on a keyboard",
    "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
    "focalPoint": [0.25, -0.5],
    "width": 1600,
    "height": 1200,
}
# Pleroma / Akkoma: the url is a list of Links, the name may be the file name.
PLEROMA = {
    "mediaType": "image/png",
    "name": "",
    "type": "Document",
    "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
    "url": [{"href": "https://pleroma.example/media/9f8e.png", "mediaType": "image/png", "type": "Link"}],
}
# Misskey: name null, sensitive beside it, a PDF as a Document.
MISSKEY_PDF = {
    "type": "Document",
    "mediaType": "application/pdf",
    "url": "https://misskey.example/files/webpublic-3f2a/Quarterly%20report.pdf",
    "name": None,
    "sensitive": False,
}
# fediverse-pasture's recommended image: an Image with no mediaType.
PASTURE = {"type": "Image", "name": "A beautiful cow", "url": "http://pasture-one-actor/assets/cow.jpg",
           "width": 100, "height": 162}


def test_mastodon_attachment_read_whole() -> None:
    # Given Mastodon's attachment  # When read  # Then every field is kept as sent
    [a] = ap_to_attachments({"attachment": [MASTODON]})
    assert a == RemoteAttachment(
        url=str(MASTODON["url"]), kind=MediaKind.IMAGE, media_type="image/jpeg",
        description="A tabby cat asleep on a keyboard", file_name="0a1b2c.jpg",
        blurhash="UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH", focus=(0.25, -0.5), width=1600, height=1200,
    )


def test_other_servers_forms_are_read() -> None:
    # Given Pleroma's Link list, Misskey's PDF and the pasture's bare Image, as a single object each
    # When read together
    found = ap_to_attachments({"attachment": [PLEROMA, MISSKEY_PDF, PASTURE]})
    # Then each gives its URL, kind and what it says
    assert [(a.url, a.kind, a.media_type) for a in found] == [
        ("https://pleroma.example/media/9f8e.png", MediaKind.IMAGE, "image/png"),
        (str(MISSKEY_PDF["url"]), MediaKind.UNKNOWN, "application/pdf"),
        ("http://pasture-one-actor/assets/cow.jpg", MediaKind.IMAGE, None),
    ]
    assert found[1].file_name == "Quarterly%20report.pdf" and found[1].description == ""
    assert found[2].description == "A beautiful cow" and (found[2].width, found[2].height) == (100, 162)
    # And one attachment not in a list is read the same
    assert ap_to_attachments({"attachment": MASTODON})[0].url == MASTODON["url"]


def test_unusable_entries_are_skipped() -> None:
    # Given entries no server should send: other schemes, credentials, links, missing urls
    bad = [
        {**MASTODON, "url": "javascript:alert(1)"},
        {**MASTODON, "url": "data:image/png;base64,AAAA"},
        {**MASTODON, "url": "file:///etc/passwd"},
        {**MASTODON, "url": "https://user:pw@cdn.example/a.png"},
        {**MASTODON, "url": "https://cdn.example/" + "a" * 2100},
        {**MASTODON, "url": "https://cdn.example:99999/a.png"},
        {**MASTODON, "url": None},
        {"type": "Link", "href": "https://news.example/article"},
        {"type": "PropertyValue", "name": "x", "value": "y"},
        "https://cdn.example/a-bare-string.png",
    ]
    # When read  # Then none is kept, and no error is raised
    assert ap_to_attachments({"attachment": bad}) == []
    assert ap_to_attachments({}) == []


def test_values_are_capped_and_cleaned() -> None:
    # Given an attachment whose every value is out of range
    hostile = {
        **MASTODON, "name": "x" * 5000 + "\x00", "blurhash": "<script>", "focalPoint": [9, float("nan")],
        "width": -3, "height": 10**9, "mediaType": "image/jpeg\r\nX-Evil: 1",
    }
    # When read
    [a] = ap_to_attachments({"attachment": [hostile]})
    # Then lengths are capped and nonsense becomes nothing
    assert len(a.description) == MAX_DESCRIPTION
    assert a.blurhash is None and a.focus == (0.0, 0.0) and a.width is None and a.height is None
    assert a.media_type is None
    # And a focal point outside [-1, 1] is clamped
    assert ap_to_attachments({"attachment": [{**MASTODON, "focalPoint": [2.0, -7]}]})[0].focus == (1.0, -1.0)


def test_at_most_the_cap_is_kept() -> None:
    # Given more attachments than the cap  # When read  # Then the first MAX_ATTACHMENTS are kept, in order
    many = [{**MASTODON, "url": f"https://cdn.example/{n}.jpg"} for n in range(30)]
    found = ap_to_attachments({"attachment": many})
    assert [a.url for a in found] == [f"https://cdn.example/{n}.jpg" for n in range(MAX_ATTACHMENTS)]


def test_outbound_is_mastodons_shape_and_reads_back() -> None:
    # Given one of our pictures and one file
    picture = AttachmentData(url="https://a.example/media/k1.png", media_type="image/png", description="Chart",
                             blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj", focus=(0.1, 0.2), width=800, height=600)
    pdf = AttachmentData(url="https://a.example/media/k2.pdf", media_type="application/pdf", file_name="plan.pdf")
    # When written
    doc = attachment_to_ap(picture)
    # Then it is what Mastodon writes
    assert doc == {"type": "Document", "mediaType": "image/png", "url": "https://a.example/media/k1.png",
                   "name": "Chart", "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "focalPoint": [0.1, 0.2],
                   "width": 800, "height": 600}
    # And a file without alt text is named by its file name
    assert attachment_to_ap(pdf)["name"] == "plan.pdf" and "width" not in attachment_to_ap(pdf)
    # And a note carrying them survives our own JSON-LD normalisation and parsing
    note = post_to_ap(NoteData(id="https://a.example/users/x/statuses/1", url="https://a.example/@x/1",
                               attributed_to="https://a.example/users/x", content_html="<p>hi</p>", summary="",
                               sensitive=False, published=utcnow(), addressing=EVERYONE,
                               attachments=(picture, pdf)))
    create = {"@context": note["@context"], "id": "https://a.example/c", "type": "Create",
              "actor": "https://a.example/users/x", "object": {k: v for k, v in note.items() if k != "@context"}}
    normalised = jsonld.normalize(create)
    assert normalised.path == "fast"
    parsed = ap_to_post(normalised.document["object"])
    assert [(a.url, a.description, a.blurhash, a.focus) for a in parsed.attachments] == [
        ("https://a.example/media/k1.png", "Chart", "LEHV6nWB2yk8pyo0adR*.7kCMdnj", (0.1, 0.2)),
        ("https://a.example/media/k2.pdf", "plan.pdf", None, (0.0, 0.0)),
    ]


def test_a_note_without_attachments_sends_none() -> None:
    # Given a note with no attachment  # When written  # Then it carries no attachment key (as before)
    note = post_to_ap(NoteData(id="https://a.example/n", url="https://a.example/n", attributed_to="https://a.example/u",
                               content_html="", summary="", sensitive=False, published=utcnow(), addressing=EVERYONE))
    assert "attachment" not in note
