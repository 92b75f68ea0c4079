# Thin aliases for the cargo commands in the README.
.PHONY: all test check lint report ci

all:
	cargo xtask reproduce fig-3.3

test:
	cargo test --workspace --release

check:
	cargo xtask check

lint:
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings

report:
	cargo xtask report

ci:
	bash .ci/run
