"""The `magento2` driver's configuration: its pydantic fields ARE the integration's `configuration:`.

Validated once, at the edge: exactly one way to authenticate, store views and locales well formed,
`on_delete` one of two words. Validation messages never echo the values (secrets stay out of logs).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from drivers.base import SECRET_MARK, Driver
from drivers.magento2.mapping import DEFAULT_ATTRIBUTE_MAP

_STORE_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class Magento2Config(Driver):
    """Configuration fields of the `magento2` driver (the driver class adds the behaviour)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    base_url: str = Field(description="Magento base URL, e.g. https://shop.example.com (the REST API is under /rest)")
    token: str | None = Field(
        default=None,
        json_schema_extra=SECRET_MARK,
        description="Integration access token (System > Integrations); write {env: NAME}. Or username + password",
    )
    username: str | None = Field(
        default=None, description="Admin user for an admin token (POST /V1/integration/admin/token), with password"
    )
    password: str | None = Field(
        default=None,
        json_schema_extra=SECRET_MARK,
        description="Password of `username`; write {env: NAME}. The admin token is renewed once on a 401",
    )
    channel: str = Field(default="ecommerce", description="Akeneo channel whose scopable values are sent")
    currency: str = Field(default="EUR", description="Currency of the Akeneo price sent as Magento's price")
    default_locale: str = Field(
        default="en_US", description="Akeneo locale whose values are written in Magento's global scope (/rest/all)"
    )
    store_views: dict[str, str] = Field(
        default_factory=dict,
        description="Akeneo locale -> Magento store view code, e.g. {fr_FR: fr}; each view gets only its "
        "localized values (name, description, url_key...)",
    )
    website_ids: list[int] = Field(
        default_factory=lambda: [1], description="Magento websites every product is assigned to"
    )
    attribute_map: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ATTRIBUTE_MAP),
        description="Akeneo attribute code -> Magento attribute code (merged over the defaults sku, name, "
        "description, price, weight -> Magento's own)",
    )
    category_root_id: int = Field(
        default=2, ge=1, description="Magento category under which the Akeneo tree is created (its root maps here)"
    )
    on_delete: Literal["delete", "disable"] = Field(
        default="delete", description="What a deleted Akeneo product becomes: deleted, or disabled (status 2)"
    )
    bulk: bool = Field(
        default=False,
        description="Send products through the asynchronous bulk API (POST /rest/<store>/async/bulk/V1/products)",
    )
    batch_size: int = Field(default=100, ge=1, le=5000, description="Products per async bulk request")
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Per-request timeout, and how long a bulk is polled before retrying"
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value or ""):
            raise ValueError("base_url must be an http(s) URL such as https://shop.example.com")
        return value

    @field_validator("store_views")
    @classmethod
    def _stores(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(code for code in value.values() if not _STORE_CODE.match(code) or code in ("all", "admin"))
        if bad:
            raise ValueError(f"store view codes must be Magento store codes (not all/admin): {', '.join(bad)}")
        return value

    @field_validator("website_ids")
    @classmethod
    def _websites(cls, value: list[int]) -> list[int]:
        if not value or any(w < 1 for w in value):
            raise ValueError("website_ids needs at least one website id (>= 1)")
        return value

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Magento2Config:
        with_token = bool(self.token)
        with_user = bool(self.username) or bool(self.password)
        if with_token == with_user:
            raise ValueError("give exactly one of `token` or `username` + `password`")
        if with_user and not (self.username and self.password):
            raise ValueError("`username` and `password` go together")
        return self
