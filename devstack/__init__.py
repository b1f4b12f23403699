"""The local stack behind `make run`: the Temporal dev server, the demo program, and the
seeding library (`demo_data`) that the demo, the tests and the benchmarks build on."""
