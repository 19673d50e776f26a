"""``python -m devtools.magento_sandbox --port 8088 --token T`` — run the sandbox in the foreground."""

from __future__ import annotations

import argparse

from .server import Settings, serve


def main(argv: list[str] | None = None) -> None:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m devtools.magento_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--token", default=defaults.token, help="integration (bearer) token")
    parser.add_argument("--admin-username", default=defaults.admin_username)
    parser.add_argument("--admin-password", default=defaults.admin_password)
    parser.add_argument("--store-views", default=",".join(defaults.store_views), help="comma-separated codes")
    parser.add_argument("--write-delay-ms", type=int, default=0)
    parser.add_argument("--bulk-operation-delay-ms", type=int, default=0)
    parser.add_argument("--admin-token-ttl-seconds", type=float, default=defaults.admin_token_ttl_seconds)
    args = parser.parse_args(argv)
    print(f"Magento sandbox on http://{args.host}:{args.port}/rest (token {args.token!r})", flush=True)
    serve(
        host=args.host,
        port=args.port,
        token=args.token,
        admin_username=args.admin_username,
        admin_password=args.admin_password,
        store_views=[c.strip() for c in args.store_views.split(",") if c.strip()],
        write_delay_ms=args.write_delay_ms,
        bulk_operation_delay_ms=args.bulk_operation_delay_ms,
        admin_token_ttl_seconds=args.admin_token_ttl_seconds,
    )


if __name__ == "__main__":
    main()
