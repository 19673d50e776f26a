"""A Magento 2.4 REST sandbox: strict against the 2.4.8 OpenAPI spec, stateful like Magento.

Drivers and tests talk HTTP to it instead of a real store.  The rule it is built around:
what passes here must pass on a real Magento (so it errs on the strict side), and Magento's
surprising behaviours (store-scope copies, URL key clashes, paging clamp) are reproduced.

Entry points: ``create_app(settings)``, ``serve(...)``, ``testing.running_sandbox(...)``.
"""

from .server import Settings, create_app, serve

__all__ = ["Settings", "create_app", "serve"]
