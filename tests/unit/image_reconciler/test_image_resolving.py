"""Source resolution: pushes move a branch, never a pinned commit, and never back to an older
commit on a late or redelivered webhook; blob and registry resolve as given."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import events, source_resolvers
from services.image_reconciler import resolving

NOW = "2026-11-28T12:00:00Z"
URL = "https://git.example.com/team/app"
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40
COMMIT_C = "c" * 40
COMMIT_Z = "f" * 40


def push(
    revision: str, *, before: str | None = None, delivery: str = "", url: str = URL
) -> events.SourceChanged:
    return events.SourceChanged(
        namespace="ns", image="app", url=url, revision=revision, before=before, delivery=delivery
    )


def history(*commits: str, deliveries: tuple[str, ...] = ()) -> source_resolvers.PushHistory:
    return source_resolvers.PushHistory(commits=list(commits), deliveries=list(deliveries))


def resolver(
    source: dict[str, Any], *, status: dict[str, Any] | None = None
) -> source_resolvers.SourceResolver:
    return source_resolvers.SourceResolver.model_validate(
        {"metadata": {"name": "app-source", "namespace": "ns", "generation": 2}, "spec": {"source": source}}
        | ({"status": status} if status is not None else {})
    )


def resolved_git(
    r: source_resolvers.SourceResolver, *, revision: str | None = None
) -> tuple[str, str | None]:
    git = resolving.resolved(r, push=push(revision) if revision else None, now=NOW).source.git
    assert git is not None
    return git.revision, git.type


@pytest.mark.parametrize(
    ("source", "status", "pushed", "expected"),
    [
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            None,
            None,
            ("main", "Branch"),
            id="a branch with no push yet resolves to its name",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            None,
            COMMIT_B,
            (COMMIT_B, "Commit"),
            id="a push moves a branch to the pushed commit",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": COMMIT_A}},
            None,
            COMMIT_B,
            (COMMIT_A, "Commit"),
            id="a commit in the spec is pinned and a push does not move it",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            {"source": {"git": {"url": URL, "revision": COMMIT_B}}},
            None,
            (COMMIT_B, "Commit"),
            id="a branch keeps the commit the last push named",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            {"source": {"git": {"url": "https://elsewhere/app", "revision": COMMIT_B}}},
            None,
            ("main", "Branch"),
            id="a commit learned for another url is forgotten",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": COMMIT_A}},
            {"source": {"git": {"url": URL, "revision": COMMIT_B}}},
            None,
            (COMMIT_A, "Commit"),
            id="a pinned commit wins over an earlier resolution",
        ),
    ],
)
def test_git_resolution(
    source: dict[str, Any], status: dict[str, Any] | None, pushed: str | None, expected: tuple[str, str]
) -> None:
    assert resolved_git(resolver(source, status=status), revision=pushed) == expected


def test_the_resolved_status_is_ready_for_the_current_generation() -> None:
    status = resolving.resolved(resolver({"git": {"url": URL, "revision": COMMIT_A}}), now=NOW)

    assert status.observed_generation == 2
    assert [c.dump() for c in status.conditions or []] == [
        {"type": "Ready", "status": "True", "lastTransitionTime": NOW}
    ]


def test_a_blob_resolves_as_given() -> None:
    source = {"blob": {"url": "https://blobs/app.tgz", "stripComponents": 1}, "subPath": "svc"}
    status = resolving.resolved(resolver(source), now=NOW)

    assert status.source.blob is not None
    assert (status.source.blob.url, status.source.blob.strip_components, status.source.blob.sub_path) == (
        "https://blobs/app.tgz",
        1,
        "svc",
    )
    assert status.source.git is None


def test_a_registry_source_resolves_as_given() -> None:
    status = resolving.resolved(resolver({"registry": {"image": "reg.io/src:v1"}}), now=NOW)

    assert status.source.registry is not None
    assert status.source.registry.image == "reg.io/src:v1"


def test_no_source_resolves_to_an_empty_source() -> None:
    assert resolving.resolved(resolver({}), now=NOW).source.dump() == {}


def test_a_resolver_needs_an_update_until_its_status_is_the_resolved_one() -> None:
    fresh = resolver({"git": {"url": URL, "revision": COMMIT_A}})
    status = resolving.resolved(fresh, now=NOW)
    written = fresh.with_(status=status)

    assert resolving.needs_update(fresh, status) is True
    assert resolving.needs_update(written, status) is False
    assert resolving.needs_update(written, resolving.resolved(written, push=None, now=NOW)) is False
    moved = resolver({"git": {"url": URL, "revision": "main"}}, status=written.status.dump())
    assert resolving.needs_update(moved, resolving.resolved(moved, push=push(COMMIT_B), now=NOW)) is True
    stale = written.with_(status=status.with_(observed_generation=1))
    assert resolving.needs_update(stale, status) is True


@pytest.mark.parametrize(
    ("recorded", "known", "pushed", "verdict"),
    [
        pytest.param(
            COMMIT_A,
            history(COMMIT_A),
            push(COMMIT_B, before=COMMIT_A),
            "move",
            id="a push from the recorded commit moves the branch",
        ),
        pytest.param(
            COMMIT_B,
            history(COMMIT_A, COMMIT_B),
            push(COMMIT_A, before=COMMIT_B),
            "move",
            id="a force-push from the recorded commit back to an older one moves the branch",
        ),
        pytest.param(
            COMMIT_A,
            history(COMMIT_A, deliveries=("d-1",)),
            push(COMMIT_B, before=COMMIT_A, delivery="d-2"),
            "move",
            id="a delivery id not seen before is a new push",
        ),
        pytest.param(
            "main",
            history(),
            push(COMMIT_A, before=COMMIT_Z),
            "move",
            id="the first push moves a branch resolved to its name",
        ),
        pytest.param(
            COMMIT_A,
            history(COMMIT_A),
            push(COMMIT_C, before=COMMIT_B),
            "move",
            id="after a lost delivery the next push still moves the branch",
        ),
        pytest.param(
            COMMIT_A,
            history(COMMIT_A),
            push(COMMIT_B),
            "move",
            id="a push naming no before moves the branch to a commit it has not been at",
        ),
        pytest.param(
            COMMIT_A,
            history(COMMIT_A, COMMIT_B, deliveries=("d-2",)),
            push(COMMIT_B, before=COMMIT_A, delivery="d-2"),
            "redelivered",
            id="a redelivered push does nothing even when its before is the recorded commit",
        ),
        pytest.param(
            COMMIT_B,
            history(COMMIT_Z, COMMIT_A, COMMIT_B, deliveries=("d-1", "d-2")),
            push(COMMIT_A, before=COMMIT_Z, delivery="d-1"),
            "redelivered",
            id="a redelivered older push does nothing",
        ),
        pytest.param(
            COMMIT_B,
            history(COMMIT_Z, COMMIT_A, COMMIT_B),
            push(COMMIT_A, before=COMMIT_Z),
            "stale",
            id="an older push whose delivery id is not known is stale: the branch has been at its commit",
        ),
        pytest.param(
            COMMIT_C,
            history(COMMIT_B, COMMIT_C),
            push(COMMIT_B, before=COMMIT_A),
            "stale",
            id="a push overtaken by a later one is stale: a push moved the branch on from its commit",
        ),
        pytest.param(
            COMMIT_B,
            history(COMMIT_A, COMMIT_B),
            push(COMMIT_A),
            "stale",
            id="a push naming no before is stale for a commit the branch has been at",
        ),
        pytest.param(
            COMMIT_B,
            history(COMMIT_A, COMMIT_B),
            push(COMMIT_B, before=COMMIT_A),
            "current",
            id="a push of the recorded commit changes nothing",
        ),
        pytest.param(
            COMMIT_A,
            history(COMMIT_Z, COMMIT_A),
            push(COMMIT_Z, before=COMMIT_B),
            "stale",
            id="known limit: a force-push back to a known commit after a lost delivery waits for the next push",
        ),
        pytest.param(
            COMMIT_A,
            history(COMMIT_A, COMMIT_B),
            push(COMMIT_B, before=COMMIT_A, delivery="d-2"),
            "move",
            id="known limit: a push delivered after a force-push back to its before moves the branch",
        ),
    ],
)
def test_a_push_moves_a_branch_unless_the_branch_has_been_there_or_past_it(
    recorded: str, known: source_resolvers.PushHistory, pushed: events.SourceChanged, verdict: str
) -> None:
    assert resolving.decide(pushed, recorded=recorded, history=known) == verdict


def test_a_push_is_remembered_with_the_commits_it_knew_of_and_its_delivery_id() -> None:
    known = history(COMMIT_Z, COMMIT_A, deliveries=("d-1",))

    after = resolving.remembered(
        known, recorded=COMMIT_A, push=push(COMMIT_B, before=COMMIT_A, delivery="d-2")
    )
    again = resolving.remembered(
        after, recorded=COMMIT_B, push=push(COMMIT_B, before=COMMIT_A, delivery="d-2")
    )

    assert after == history(COMMIT_Z, COMMIT_A, COMMIT_B, deliveries=("d-1", "d-2"))
    assert again == after


def test_a_branch_name_and_a_missing_delivery_id_are_not_remembered() -> None:
    remembered = resolving.remembered(history(), recorded="main", push=push(COMMIT_A))

    assert remembered == history(COMMIT_A)


def test_the_history_keeps_the_newest_commits_and_delivery_ids() -> None:
    known = history(
        *(f"{n:040x}" for n in range(source_resolvers.HISTORY)),
        deliveries=tuple(f"d-{n}" for n in range(source_resolvers.HISTORY)),
    )

    remembered = resolving.remembered(
        known, recorded=COMMIT_A, push=push(COMMIT_B, before=COMMIT_A, delivery="d-new")
    )

    assert len(remembered.commits) == len(remembered.deliveries) == source_resolvers.HISTORY
    assert remembered.commits[-2:] == [COMMIT_A, COMMIT_B]
    assert remembered.commits[0] == f"{2:040x}"
    assert (remembered.deliveries[0], remembered.deliveries[-1]) == ("d-1", "d-new")


def apply(
    r: source_resolvers.SourceResolver, pushed: events.SourceChanged
) -> source_resolvers.SourceResolver:
    return r.with_(status=resolving.resolved(r, push=pushed, now=NOW))


def revision_of(r: source_resolvers.SourceResolver) -> str | None:
    return r.status.source.git.revision if r.status.source.git else None


def test_a_redelivered_older_push_leaves_the_branch_and_a_force_push_moves_it_back() -> None:
    branch = resolver({"git": {"url": URL, "revision": "main"}})
    push_a = push(COMMIT_A, before=COMMIT_Z, delivery="d-a")
    push_b = push(COMMIT_B, before=COMMIT_A, delivery="d-b")

    at_b = apply(apply(branch, push_a), push_b)
    redelivered = apply(at_b, push_a)
    forced = apply(redelivered, push(COMMIT_A, before=COMMIT_B, delivery="d-force"))
    b_again = apply(forced, push_b)

    assert [revision_of(r) for r in (at_b, redelivered, forced, b_again)] == [
        COMMIT_B,
        COMMIT_B,
        COMMIT_A,
        COMMIT_A,
    ]
    assert b_again.status.pushes == history(
        COMMIT_Z, COMMIT_A, COMMIT_B, deliveries=("d-a", "d-b", "d-force")
    )
    assert resolving.needs_update(redelivered, resolving.resolved(redelivered, push=push_a, now=NOW)) is False


def test_a_stale_push_is_remembered_but_does_not_move_the_branch() -> None:
    at_b = resolver(
        {"git": {"url": URL, "revision": "main"}},
        status={
            "source": {"git": {"url": URL, "revision": COMMIT_B}},
            "pushes": {"commits": [COMMIT_A, COMMIT_B]},
        },
    )
    ready = at_b.with_(status=resolving.resolved(at_b, now=NOW))

    status = resolving.resolved(ready, push=push(COMMIT_A, before=COMMIT_Z, delivery="d-late"), now=NOW)

    assert status.source.dump() == ready.status.source.dump()
    assert status.pushes == history(COMMIT_A, COMMIT_B, COMMIT_Z, deliveries=("d-late",))
    assert resolving.needs_update(ready, status) is True


@pytest.mark.parametrize(
    ("spec", "status", "pushed", "expected"),
    [
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            {"source": {"git": {"url": URL, "revision": COMMIT_B}}, "pushes": {"commits": [COMMIT_B]}},
            None,
            history(COMMIT_B),
            id="a resolution without a push keeps the history",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            {"source": {"git": {"url": URL, "revision": COMMIT_B}}, "pushes": {"commits": [COMMIT_B]}},
            push(COMMIT_C, url="https://elsewhere/app"),
            history(COMMIT_B),
            id="a push to another repository keeps the history as it is",
        ),
        pytest.param(
            {"git": {"url": "https://elsewhere/app", "revision": "main"}},
            {"source": {"git": {"url": URL, "revision": COMMIT_B}}, "pushes": {"commits": [COMMIT_B]}},
            None,
            None,
            id="the history of another url is forgotten with its commit",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": COMMIT_A}},
            {"source": {"git": {"url": URL, "revision": COMMIT_B}}, "pushes": {"commits": [COMMIT_B]}},
            push(COMMIT_C),
            None,
            id="a pinned commit has no history",
        ),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            None,
            push(COMMIT_A),
            history(COMMIT_A),
            id="the first push starts the history",
        ),
        pytest.param(
            {"blob": {"url": "https://blobs/app.tgz"}},
            None,
            push(COMMIT_A),
            None,
            id="a blob source has no history",
        ),
    ],
)
def test_the_push_history_belongs_to_the_branch_of_the_spec(
    spec: dict[str, Any],
    status: dict[str, Any] | None,
    pushed: events.SourceChanged | None,
    expected: source_resolvers.PushHistory | None,
) -> None:
    assert resolving.resolved(resolver(spec, status=status), push=pushed, now=NOW).pushes == expected


@pytest.mark.parametrize(
    ("spec", "pushed"),
    [
        pytest.param({"git": {"url": URL, "revision": "main"}}, None, id="no push"),
        pytest.param(
            {"git": {"url": URL, "revision": "main"}},
            push(COMMIT_A, url="https://elsewhere/app"),
            id="a push to another repository",
        ),
        pytest.param({"git": {"url": URL, "revision": COMMIT_B}}, push(COMMIT_A), id="a pinned commit"),
        pytest.param({"blob": {"url": "https://blobs/app.tgz"}}, push(COMMIT_A), id="a blob source"),
    ],
)
def test_a_push_has_no_verdict_for_a_resolver_it_does_not_concern(
    spec: dict[str, Any], pushed: events.SourceChanged | None
) -> None:
    assert resolving.push_verdict(resolver(spec), pushed) is None


def test_a_sha256_commit_in_the_spec_is_pinned() -> None:
    pinned = "e" * 64

    assert resolved_git(resolver({"git": {"url": URL, "revision": pinned}}), revision=COMMIT_B) == (
        pinned,
        "Commit",
    )
