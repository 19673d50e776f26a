"""The `magento2` driver's configuration: its pydantic fields ARE the integration's `configuration:`.

Validated once, at the edge: exactly one way to authenticate, store views and locales well formed,
`on_delete` one of two words. Validation messages never echo the values (secrets stay out of logs).
"""

from __future__ import annotations

import re
from typing import Literal

import dagster as dg
from pydantic import ConfigDict, Field, field_validator, model_validator

from drivers.base import SECRET_MARK, Driver
from drivers.magento2.mapping import DEFAULT_ASSOCIATION_MAP, DEFAULT_ATTRIBUTE_MAP, IMAGE_ROLES

_STORE_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


LINK_TYPES = ("related", "upsell", "crosssell")


class StockConfig(dg.Config):
    """What Magento's stock says: fixed for new products, or an Akeneo number attribute, or MSI source items."""

    model_config = ConfigDict(extra="forbid")

    default_qty: float = Field(default=0, ge=0, description="Quantity a new product gets (without `qty_attribute`)")
    is_in_stock: bool | None = Field(
        default=None,
        description="Stock status a new product gets (without `qty_attribute`); empty: in stock when default_qty "
        "> 0 (Magento sets a simple product with qty 0 out of stock unless the shop takes backorders)",
    )
    qty_attribute: str | None = Field(
        default=None,
        description="Akeneo number attribute holding the quantity: sent on every change, in stock when above 0",
    )
    msi_source_code: str | None = Field(
        default=None,
        description="Send source items (POST /V1/inventory/source-items) to this MSI source instead of stock_item",
    )


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
        "localized values (name, description, url_key...) and its website's channel's",
    )
    store_view_locales: dict[str, str] = Field(
        default_factory=dict,
        description="More store views, as store view code -> Akeneo locale, when a locale has several (one per "
        "website), e.g. {b2b: en_US}",
    )
    website_ids: list[int] = Field(
        default_factory=lambda: [1], description="Magento websites every product is assigned to (without "
        "`channel_websites`)"
    )
    channel_websites: dict[str, list[int]] = Field(
        default_factory=dict,
        description="Akeneo channel -> Magento website ids, e.g. {ecommerce: [1], b2b: [2]}: products go to every "
        "website listed, each website's store views get their channel's scopable values; must map `channel`",
    )
    price_scope: Literal["global", "website"] = Field(
        default="global",
        description="Magento's catalog price scope: `website` sends each website its channel's price in the "
        "website's base currency (through one of its store views)",
    )
    image_roles: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Akeneo image (or asset collection) attribute -> Magento image roles, e.g. {main_image: [image, "
        "small_image, thumbnail]}; empty: the first image gets image, small_image and thumbnail",
    )
    asset_images: list[str] = Field(
        default_factory=list,
        description="Akeneo asset collection attributes whose assets' main media become gallery images",
    )
    file_attributes: Literal["skip", "url"] = Field(
        default="skip",
        description="pim_catalog_file attributes: skip them (logged once per attribute), or `url`: a text "
        "attribute holding `file_base_url`/<file code>",
    )
    file_base_url: str | None = Field(
        default=None, description="Where the shop's customers can download Akeneo files (with file_attributes: url)"
    )
    association_map: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ASSOCIATION_MAP),
        description="Akeneo association type -> Magento link type (related, upsell, crosssell); types not "
        "listed are not sent",
    )
    grouped_from: str | None = Field(
        default=None,
        description="Quantified association type whose products make a Magento grouped product (associated "
        "links with their quantity)",
    )
    stock: StockConfig | None = Field(default=None, description="Stock sent to Magento (none: Magento's default)")
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

    @field_validator("store_view_locales")
    @classmethod
    def _more_stores(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(code for code in value if not _STORE_CODE.match(code) or code in ("all", "admin"))
        if bad:
            raise ValueError(f"store view codes must be Magento store codes (not all/admin): {', '.join(bad)}")
        return value

    @field_validator("website_ids")
    @classmethod
    def _websites(cls, value: list[int]) -> list[int]:
        if not value or any(w < 1 for w in value):
            raise ValueError("website_ids needs at least one website id (>= 1)")
        return value

    @field_validator("channel_websites")
    @classmethod
    def _channel_websites(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        problems, owner = [], {}
        for channel, websites in value.items():
            if not websites or any(w < 1 for w in websites):
                problems.append(f"{channel}: needs at least one website id (>= 1)")
            for website in websites:
                if owner.setdefault(website, channel) != channel:
                    problems.append(f"website {website} is fed by two channels ({owner[website]}, {channel})")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("image_roles")
    @classmethod
    def _roles_once(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        seen: dict[str, str] = {}
        problems = []
        for attribute, roles in value.items():
            for role in roles:
                if role not in IMAGE_ROLES:
                    problems.append(f"{attribute}: unknown role {role} (expected some of {', '.join(IMAGE_ROLES)})")
                elif seen.setdefault(role, attribute) != attribute:
                    problems.append(f"role {role} is given to two attributes ({seen[role]}, {attribute})")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("association_map")
    @classmethod
    def _link_types(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(f"{kind}: {link}" for kind, link in value.items() if link not in LINK_TYPES)
        if bad:
            raise ValueError(f"Magento link types are {', '.join(LINK_TYPES)}; not {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Magento2Config:
        problems = []
        twice = sorted(set(self.store_views.values()) & set(self.store_view_locales))
        if twice:
            problems.append(f"store view(s) {', '.join(twice)} in both store_views and store_view_locales")
        if self.channel_websites and self.channel not in self.channel_websites:
            problems.append(f"channel_websites must map `channel` ({self.channel}): the global scope's values")
        if self.file_attributes == "url" and not (self.file_base_url or "").startswith(("http://", "https://")):
            problems.append("file_attributes: url needs file_base_url, an http(s) URL")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def websites(self) -> list[int]:
        """Every website a product is assigned to."""
        if not self.channel_websites:
            return list(self.website_ids)
        return sorted({w for websites in self.channel_websites.values() for w in websites})

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Magento2Config:
        with_token = bool(self.token)
        with_user = bool(self.username) or bool(self.password)
        if with_token == with_user:
            raise ValueError("give exactly one of `token` or `username` + `password`")
        if with_user and not (self.username and self.password):
            raise ValueError("`username` and `password` go together")
        return self
