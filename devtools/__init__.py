"""Developer tooling, kept out of the installed package: the Magento 2 sandbox, akeneo-mock-server's
launcher, the sample catalog, the playground and `make demo`. Tests and benchmarks use it from the checkout."""
