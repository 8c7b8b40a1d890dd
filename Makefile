# SPDX-License-Identifier: GPL-2.0
# test_hmm: NO_COPY migration selftests.
#
#   make            build kernel (if needed), module, tests and initramfs
#   make check      the project's own tests: harness unit tests, lint,
#                   then the whole suite in the VM (end to end)
#   make check-unit the unit tests only (no VM, seconds)
#   make bench      the benchmark in the VM: table, CSV and plot in
#                   build/results/<timestamp>/ (HMM_BENCH_ARGS: its options)
#   make suite-bench  how long the suite takes here: a cold run (fresh
#                   clone, empty kernel cache; SUITE_BENCH_COLD=0 skips
#                   it) and a warm one, split into phases; figures only
#   make check-debug  the suite on a debug kernel (KASAN, lockdep,
#                   kmemleak; its own kernel build, long the first time)
#   make matrix     the suite on every kernel release of
#                   tools/vm/releases.sh, one after another, then one
#                   table; MATRIX_RELEASES picks some; PATCHED=1 adds a
#                   row per release with its fixes from patches/<release>/.
#                   Markdown and JUnit in build/results/
#   make kselftest-tar  the suite as a kselftest tarball for the kernel
#                   (run_kselftest.sh, hmm_nocopy with its module), to
#                   copy to a board that boots that kernel: $(KSFT_TAR)
#   make kselftest-check  that tarball for every release, run by
#                   run_kselftest.sh on a bare guest and read by LKFT's
#                   parser logic: one table of test cases and verdicts
#   make lava       a LAVA v2 job per release (MATRIX_RELEASES picks,
#                   PATCHED=1 adds the +fix rows): kernel, ramdisk with
#                   the kselftest install, job.yaml in build/lava/<row>/
#                   (tools/lava/lava.sh: parameters; LAVA_URL: the base
#                   URL a lab fetches them from)
#   make lava-check the 6.1 job run here by Debian's lava-dispatcher
#                   (installed when root): LAVA's test cases against
#                   the suite's KTAP of the same boot, a failing job and
#                   an infrastructure error shown
#   make lava-matrix  make lava, then every job run with lava-run, one
#                   at a time here; make matrix's table from LAVA's results
#   make docs       redraw the module's call graph (docs/module-calls.dot
#                   and .svg, from lib/); docs/architecture.md shows it
#   make clean      remove build/ (the kernel cache stays)
#   make clean-cache  also remove the cached kernel builds and source
#
# Extra run_tests.sh options go in RUN_ARGS, e.g.
#   make RUN_ARGS='--kernel-src ~/linux' check

SHELL := /bin/bash
RUN_ARGS ?=
MATRIX_RELEASES ?=
HMM_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/test_hmm
KSFT_TAR ?= build/kselftest-hmm_nocopy.tar.gz

.PHONY: all check check-unit check-debug check-deps bench suite-bench matrix kselftest-tar kselftest-check lava lava-check lava-matrix docs clean clean-cache

all:
	./run_tests.sh --build-only $(RUN_ARGS)

# Unit tests and lint first, the VM last; one verdict line at the end.
check: all check-deps
	tools/tests/run.sh

check-unit:
	tools/tests/run.sh --unit

# KASAN, lockdep and kmemleak slow the guest down about 3 times (about
# 700 s under TCG on 2 CPUs): twice the default watchdog.
check-debug:
	./run_tests.sh --config configs/debug.config --timeout 2400 $(RUN_ARGS)

bench:
	./run_tests.sh --bench $(RUN_ARGS)

suite-bench:
	tools/vm/suite-bench.sh -- $(RUN_ARGS)

matrix:
	tools/vm/matrix.sh $(if $(PATCHED),--patched) $(MATRIX_RELEASES) -- $(RUN_ARGS)

kselftest-tar:
	./run_tests.sh --kselftest-tar $(KSFT_TAR) $(RUN_ARGS)

kselftest-check:
	tools/vm/kselftest-check.sh $(MATRIX_RELEASES)

lava:
	tools/lava/matrix.sh --generate-only $(if $(PATCHED),--patched) $(MATRIX_RELEASES) -- $(RUN_ARGS)

lava-check:
	tools/lava/check.sh

lava-matrix:
	tools/lava/matrix.sh $(if $(PATCHED),--patched) $(MATRIX_RELEASES) -- $(RUN_ARGS)

check-deps:
	@bash -c 'source tools/vm/lib.sh && source tools/vm/deps.sh && deps_ensure DEPS_CHECK'

docs:
	tools/docs/callgraph.sh --update

clean:
	rm -rf build

clean-cache: clean
	rm -rf "$(HMM_CACHE)"
