# Motif: the two commands of the README, plus the pieces they are made of.
SHELL := /bin/bash

.PHONY: help setup demo test bench package
help:
	@echo "make demo    run the main job on a sample collection (installs what it needs)"
	@echo "make test    run the whole test suite (installs what it needs)"
	@echo "make bench   run the benchmarks; each prints a table with its anchor measured in the same run"
	@echo "             (one mode: make bench BENCH=training BENCH_ARGS='--families 3 --epochs 2'; modes in bench/Motif.Bench/Program.cs)"
	@echo "make package build the Functions deployment zip and main.json, and print the az commands that deploy them"

setup:
	@bash infra/setup.sh

demo: setup
	@bash infra/demo.sh

test: setup
	@bash infra/test.sh

BENCH ?= all
BENCH_ARGS ?=
bench: setup
	@bash infra/setup.sh bench
	@GLIBC_TUNABLES=glibc.malloc.hugetlb=1 OMP_WAIT_POLICY=PASSIVE dotnet run --project bench/Motif.Bench -c Release -- $(BENCH) $(BENCH_ARGS)  # the environment ./motif gives the product

package: setup
	@bash infra/package.sh
