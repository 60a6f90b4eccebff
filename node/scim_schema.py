"""SCIM 2.0 (RFC 7643/7644) as this node speaks it, with scim2-models: the resources it serves
(`User` with the enterprise extension, `Group`), what it declares (`ServiceProviderConfig`,
`Schemas`, `ResourceTypes`), how lenient it is with what identity providers really send
(Entra ID's capitalised `op` and `"False"`, `remove` with a value, a manager or member without
`$ref`), and its errors: every failure is a `ScimError`, an AtriumError with a `scimType`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import email_validator
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    Error,
    ETag,
    Filter,
    Group,
    Meta,
    Patch,
    PatchOp,
    Resource,
    ResourceType,
    SCIMException,
    ScimPolicy,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    User,
)

from node.context import NodeContext
from storage.errors import AtriumError

# Company directories built on Active Directory often have `.local` mail domains (Okta's own
# SCIM examples use `test.user@okta.local`): an address there is a person's, not a typo.
# (email-validator documents this list as the knob; only scim2-models' e-mails use it here.)
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")

ScimUserModel = User[EnterpriseUser]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BASE_PATH = "/scim/v2"
MAX_BODY = 256 * 1024  # a directory's user or group is a few kB; Entra's biggest group PATCH is well under this
MAX_RESULTS = 200  # `count` is capped here (ServiceProviderConfig filter.maxResults)

# What identity providers send beside the letter of RFC 7644: attributes of their own (kept
# out), Entra ID's `remove` carrying the value to remove, and a filtered path naming an entry
# not there yet (Entra's `emails[type eq "work"].value`).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=True),
    etag=ETag(supported=False),
    authentication_schemes=[AuthenticationScheme(
        type=AuthenticationScheme.Type.oauthbearertoken, name="Bearer token",
        description="A token made by `atrium scim token create`, sent as `Authorization: Bearer TOKEN`.",
        primary=True,
    )],
)

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group],
    resource_types=[ResourceType.from_resource(ScimUserModel), ResourceType.from_resource(Group)],
    config=CONFIG,
    policy=POLICY,
)


class ScimError(AtriumError):
    """A SCIM failure: an HTTP status, a reason, and the RFC 7644 §3.12 `scimType` when one fits."""

    def __init__(self, reason: str, *, status: int = 400, scim_type: str | None = None) -> None:
        super().__init__(reason, status=status)
        self.scim_type = scim_type


def invalid(reason: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(reason, status=400, scim_type=scim_type)


def taken(reason: str) -> ScimError:
    return ScimError(reason, status=409, scim_type="uniqueness")


def error_body(exc: AtriumError) -> dict[str, Any]:
    """The RFC 7644 §3.12 error document for a failure."""
    scim_type = exc.scim_type if isinstance(exc, ScimError) else None
    return Error(status=exc.status, scim_type=scim_type, detail=exc.reason).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn scim2-models' refusals of a payload into ScimErrors with their scimType."""
    try:
        with POLICY:
            yield
    except SCIMException as exc:
        raise ScimError(f"{what}: {exc.detail}", status=exc.status, scim_type=exc.scim_type or None) from exc
    except ValidationError as exc:
        first = Error.from_validation_errors(exc)[0]
        raise ScimError(f"{what}: {first.detail}", status=int(first.status or 400),
                        scim_type=first.scim_type or "invalidValue") from exc


def location(ctx: NodeContext, endpoint: str, scim_id: str) -> str:
    return f"{ctx.base_url}{BASE_PATH}/{endpoint}/{scim_id}"


def meta(ctx: NodeContext, kind: str, scim_id: str, created: datetime, updated: datetime, version: int) -> Meta:
    return Meta(resource_type=kind, created=created, last_modified=updated, version=f'W/"{version}"',
                location=location(ctx, "Users" if kind == "User" else "Groups", scim_id))


def with_refs(ctx: NodeContext, value: Any, endpoint: str) -> Any:
    """A manager or members as identity providers send them (a bare id, or `{value}` without
    `$ref`), with the `$ref` RFC 7643 requires filled in from the id."""
    if isinstance(value, str):
        return {"value": value, "$ref": location(ctx, endpoint, value)}
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        return {**value, "$ref": location(ctx, endpoint, str(value["value"]))}
    if isinstance(value, list):
        return [with_refs(ctx, v, endpoint) for v in value]
    return value


R = TypeVar("R", bound=Resource[Any])


def parsed(model: type[R], payload: dict[str, Any], context: Context, what: str) -> R:
    """A request's resource, read as `context` says (creation, replacement)."""
    with reading(what):
        return model.model_validate(payload, scim_ctx=context)


async def patched(model: type[R], payload: dict[str, Any], current: Callable[[], Awaitable[R]]) -> R:
    """The resource as it is now with a PatchOp applied: every operation, or none (a failing
    one leaves nothing changed and is refused with its scimType)."""
    with reading("the PATCH"):
        patch = PatchOp[model].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST)  # type: ignore[valid-type]
    resource = await current()
    with reading("the PATCH"):
        patch.patch(resource)
    return resource


def fixed_operations(payload: dict[str, Any], fix: Callable[[str, Any], Any]) -> dict[str, Any]:
    """A PatchOp whose operations' values are as `fix(lower-cased path or "", value)` makes them."""
    ops = payload.get("Operations")
    if not isinstance(ops, list):
        return payload
    return {**payload, "Operations": [
        {**op, "value": fix(str(op.get("path") or "").lower(), op["value"])} if isinstance(op, dict) and "value" in op
        else op for op in ops]}


def narrowed(req: SearchRequest[Any], items: list[R]) -> list[R]:
    """What a search asks of `items`: those its filter matches, in the order its sortBy says."""
    if req.filter is not None:
        with reading("the filter"):
            items = [i for i in items if req.filter.match(i)]
    if req.sort_by is not None:
        with reading("sortBy"):
            items = req.sort(items)
    return items
