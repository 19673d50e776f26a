"""Connections deliver: connecting an entity sends it and what it needs that the integration has not
received yet; disconnecting it deletes it there when the integration says `on_disconnect: delete`."""

from __future__ import annotations

from iec_pipeline.launch import run_sync
from tests.support.delivery import declare, deliver, iec, jobs, webhook


def ok(iec_env, *args: str) -> str:
    done = iec(iec_env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _queued(iec_env) -> set[tuple[str, str]]:
    return {(j["entity_type"], j["code"]) for j in jobs(iec_env, status="pending")}


def test_connect_delivers_with_what_it_needs_and_disconnect_deletes(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("b2b", webhook_target.url, scope="connected", on_disconnect="delete"))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    assert jobs(iec_env) == []  # nothing connected yet

    ok(iec_env, "connections", "add", "b2b", "product", "jeans-slim")
    queued = _queued(iec_env)
    assert ("product", "jeans-slim") in queued and ("family", "clothing") in queued
    assert {c for t, c in queued if t == "category"} == {"pants", "sale", "clothing", "master"}  # with ancestors
    assert {c for t, c in queued if t == "attribute_option"} == {
        "color.blue", "size.m", "material.cotton", "material.polyester"
    }  # fmt: skip
    assert len({c for t, c in queued if t == "attribute"}) == 11  # the family's attributes
    deliver(iec_env, instance)
    assert set(webhook_target.state.requests_per_key.values()) == {1}

    ok(iec_env, "connections", "add", "b2b", "product", "rain-jacket")
    assert _queued(iec_env) == {
        ("product", "rain-jacket"), ("family", "accessories"), ("attribute", "waterproof"),
        ("category", "accessories"), ("attribute_option", "color.green"),
    }  # fmt: skip  (only what b2b has not received yet)
    deliver(iec_env, instance)

    out = ok(iec_env, "connections", "remove", "b2b", "product", "jeans-slim")
    assert "1 delete job(s) queued for b2b" in out
    (deleted,) = jobs(iec_env, status="pending")
    assert (deleted["code"], deleted["operation"]) == ("jeans-slim", "deleted")
    deliver(iec_env, instance)
    last = webhook_target.state.requests[-1].body
    assert (last["code"], last["operation"]) == ("jeans-slim", "deleted")
