"""The bottom layer beside `common`: the local store's tables, engines, migrations, read views and
its Dagster resource. It imports only `common`."""
