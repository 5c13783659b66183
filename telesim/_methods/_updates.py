"""Getting updates: long polling and webhooks."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from telesim._errors import bad_request, conflict
from telesim._methods._registry import MethodGroup
from telesim._params import Params
from telesim._state import WebhookConfig, World

group = MethodGroup()

MAX_LIMIT = 100
MAX_TIMEOUT = 50  # seconds; longer long polls are cut to this
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@group.method(
    "getUpdates",
    returns="Array of Update",
    honours=("offset", "limit", "timeout", "allowed_updates"),
)
async def get_updates(world: World, p: Params) -> Any:
    if world.webhook is not None:
        raise conflict(
            "can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first"
        )
    offset = p.opt_int("offset")
    if offset is not None:
        world.updates.confirm(offset)
    limit = min(max(p.opt_int("limit") or MAX_LIMIT, 1), MAX_LIMIT)
    timeout = min(max(p.opt_int("timeout") or 0, 0), MAX_TIMEOUT)
    world.updates.set_allowed(p.opt_list("allowed_updates"))
    found = await world.updates.get_updates(limit, timeout)
    return [u.to_json() for u in found]


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@group.method(
    "setWebhook",
    returns="Boolean",
    honours=("url", "max_connections", "allowed_updates", "drop_pending_updates", "secret_token"),
)
async def set_webhook(world: World, p: Params) -> Any:
    url = p.req_str("url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if not world.allow_remote_webhooks and not _is_loopback(parts.hostname):
        raise bad_request(
            f"bad webhook: telesim delivers webhooks only to loopback hosts, not {parts.hostname}"
        )
    secret = p.opt_str("secret_token")
    if secret is not None and not _SECRET.fullmatch(secret):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    max_connections = p.opt_int("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    if p.flag("drop_pending_updates"):
        world.updates.drop_all()
    world.updates.set_allowed(p.opt_list("allowed_updates"))
    world.webhook = WebhookConfig(url=url, secret_token=secret, max_connections=max_connections)
    return True


@group.method("deleteWebhook", returns="Boolean", honours=("drop_pending_updates",))
async def delete_webhook(world: World, p: Params) -> Any:
    if p.flag("drop_pending_updates"):
        world.updates.drop_all()
    world.webhook = None
    return True


@group.method("getWebhookInfo", returns="WebhookInfo")
async def get_webhook_info(world: World, p: Params) -> Any:
    hook = world.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }
    if hook is not None:
        info["ip_address"] = "127.0.0.1"
        info["max_connections"] = hook.max_connections
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message or ""
    allowed = world.updates.allowed
    if allowed is not None:
        info["allowed_updates"] = allowed
    return info
