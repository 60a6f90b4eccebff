"""Changing the policy in force, the one way for `atrium policy check/apply` and the admin's
editor in the web UI: a text checked (its problems worded as `atrium policy check` prints
them, each with its line), applied (the shared policy every process of the node adopts within
a second, node/policy.py `PolicyStore`; audited with who and the digests of the old and new
text) and, from the editor, written to `DATA_DIR/policy.toml` atomically; the difference
between two texts line by line; and whether the file on disk is the policy in force.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from node import shared_settings
from node.policy import Policy, PolicyProblem, parse_policy
from storage.db import Database
from storage.errors import AtriumError

MAX_BYTES = 512 * 1024  # a policy of ten thousand peers fits; a larger text is refused (413)
FILE_NAME = "policy.toml"  # how problems name the text (`policy.toml:4: …`), as the CLI names the file


class PolicyTooLarge(AtriumError):
    status = 413


class PolicyProblems(AtriumError):
    """The text is not a valid policy: every problem, each with its line."""

    status = 422

    def __init__(self, problems: list[PolicyProblem], where: str = FILE_NAME) -> None:
        super().__init__(f"{len(problems)} problem(s) in {where}; nothing was applied")
        self.problems = problems


class PolicyFileUnwritable(AtriumError):
    status = 500


def problem_lines(problems: list[PolicyProblem], where: str = FILE_NAME) -> list[str]:
    """Each problem as `atrium policy check` prints it: `WHERE:LINE: message`."""
    return [f"{where}:{p.line or 1}: {p.message}" for p in problems]


def summary(policy: Policy) -> str:
    """What a valid policy holds, in the words of `atrium policy check`."""
    retention = f", {len(policy.retention.rules())} retention rule(s)" if policy.retention else ""
    return f"mode {policy.mode}, {len(policy.peers)} peer rule(s), {len(policy.rules)} content rule(s){retention}"


def size_problem(text: str) -> str | None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= MAX_BYTES:
        return None
    return f"the policy is {size // 1024} KB; a policy is at most {MAX_BYTES // 1024} KB"


def check(text: str) -> tuple[Policy | None, list[PolicyProblem]]:
    """The policy a text makes, or its problems: the one check of the CLI and the editor."""
    too_large = size_problem(text)
    if too_large is not None:
        return None, [PolicyProblem(None, too_large)]
    if "\ufffd" in text:  # what a decoder left of bytes that are not UTF-8
        line = text.count("\n", 0, text.index("\ufffd")) + 1
        return None, [PolicyProblem(line, "not UTF-8 text: bytes that are not characters (shown as \ufffd)")]
    return parse_policy(text)


def from_browser(text: str) -> str:
    """A form's text as the file keeps it: a browser sends a textarea's lines ended by CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Applied:
    version: int
    changed: bool  # False: the text was the policy in force already
    policy: Policy


async def in_force(db: Database) -> shared_settings.Shared | None:
    """The policy text every process of the node enforces (None: none was shared yet)."""
    return await shared_settings.read(db, shared_settings.POLICY)


async def apply(
    db: Database, text: str, *, source: str, based_on: str | None = None, file: Path | None = None
) -> Applied:
    """Make `text` the policy every process of the node enforces — what `atrium policy apply`
    does — and, given `file`, write the same text there.

    Invalid text raises `PolicyProblems` and changes nothing. `based_on` (a `digest`) refuses
    the change with `ChangedMeanwhile` when the policy in force is no longer the one the
    editor started from (node/shared_settings.py `digest`). The file is written beside itself first and renamed into place only
    once the policy is applied, so a full disk changes nothing and a reader never sees half a
    file. The audit entry names `source` (who) and the digests of the old and new text."""
    too_large = size_problem(text)
    if too_large is not None:
        raise PolicyTooLarge(f"{too_large}; nothing was applied")
    policy, problems = check(text)
    if policy is None:
        raise PolicyProblems(problems)
    target = file.resolve() if file is not None else None  # a link into a checkout stays a link
    staged = await asyncio.to_thread(_stage, target, text) if target is not None else None
    try:
        shared, changed = await shared_settings.publish(
            db, shared_settings.POLICY, text, source=source, based_on=based_on
        )
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    if staged is not None and target is not None:
        try:
            os.replace(staged, target)
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise PolicyFileUnwritable(
                f"policy version {shared.version} is in force, but {target} could not be replaced ({exc.strerror})"
            ) from exc
    return Applied(shared.version, changed, policy)


def _stage(file: Path, text: str) -> Path:
    """`text` in a new file beside `file` (same folder, so the rename is atomic), synced."""
    try:
        mode = file.stat().st_mode & 0o777
    except OSError:  # none yet (or none possible: then the next step says why)
        mode = 0o644
    try:
        fd, name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".new", dir=file.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(name, mode)
    except OSError as exc:
        raise PolicyFileUnwritable(f"{file} cannot be written ({exc.strerror}); nothing was applied") from exc
    return Path(name)


@dataclass(frozen=True)
class DiffLine:
    kind: Literal["hunk", "same", "added", "removed"]
    text: str
    old: int | None = None  # its line in the old text
    new: int | None = None  # its line in the new text


def diff(old: str, new: str, *, context: int = 3) -> list[DiffLine]:
    """The unified diff (difflib) of two policy texts, line by line with their numbers."""
    out: list[DiffLine] = []
    a, b = old.splitlines(), new.splitlines()
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(DiffLine("hunk", _hunk_words(first[1], last[2], first[3], last[4])))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffLine("same", a[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
                continue
            out += [DiffLine("removed", a[i], i + 1, None) for i in range(i1, i2)]
            out += [DiffLine("added", b[j], None, j + 1) for j in range(j1, j2)]
    return out


def _hunk_words(i1: int, i2: int, j1: int, j2: int) -> str:
    def span(start: int, end: int) -> str:
        return f"line {start + 1}" if end - start == 1 else f"lines {start + 1}–{end}" if end > start else "no lines"

    return f"In force {span(i1, i2)}, new {span(j1, j2)}"


def unified(old: str, new: str, old_name: str, new_name: str) -> str:
    """The same difference as `diff -u` prints it (for a terminal or a log)."""
    return "\n".join(difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""))


@dataclass(frozen=True)
class OnDisk:
    """`DATA_DIR/policy.toml` as this process's machine has it."""

    path: Path
    text: str | None  # None: missing, unreadable or too large (`reason` says which)
    reason: str = ""
    problems: tuple[PolicyProblem, ...] = ()


def read_file(path: Path) -> OnDisk:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return OnDisk(path, None, f"{path} is missing")
    except OSError as exc:
        return OnDisk(path, None, f"{path} cannot be read ({exc.strerror})")
    if len(data) > MAX_BYTES:
        return OnDisk(path, None, f"{path} is larger than {MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return OnDisk(path, None, f"{path} is not UTF-8 text")
    _, problems = check(text)
    return OnDisk(path, text, problems=tuple(problems))
