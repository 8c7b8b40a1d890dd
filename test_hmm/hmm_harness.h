/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest_harness.h plus the test selection that the
 * VM runner needs and the 6.1 harness lacks.
 *
 * The runner lists every test (-l), then runs each one on its own (-r)
 * between two markers in the kernel log, so a kernel report is charged to
 * the test during which it appeared. Newer harnesses have -l/-r of their
 * own; ours parses first and hands the harness a filtered list, so the
 * same binary behaves alike on every kernel. This is the one place that
 * knows the harness's internal lists.
 *
 * Usage: include this instead of kselftest_harness.h and end the test
 * file with HMM_TEST_MAIN.
 *
 * Two generations of the harness are known here, told apart by
 * KSELFTEST_PRIO_TEST, which only the newer one defines:
 * - 6.1's: a test's constructors run in whatever order the toolchain
 *   picks and __constructor_order records it; SKIP() sets
 *   _metadata->skip and the test child reports it with exit status 255;
 *   the test body runs even when FIXTURE_SETUP skipped.
 * - 6.12's: constructors have priorities and the harness knows their
 *   order itself; SKIP() sets _metadata->exit_code to KSFT_SKIP; a setup
 *   that skipped ends the test there (its teardown does not run).
 * Both keep fixtures, variants and tests in the same lists, which is
 * all the selection below touches.
 */
#ifndef _HMM_HARNESS_H
#define _HMM_HARNESS_H

#include <fnmatch.h>
#include <getopt.h>
#include <time.h>

#include "kselftest_harness.h"
#include "libhmm.h"

/*
 * The harness's own limit on a test, for every TEST_F without a limit of
 * its own: 30 s upstream. Under emulation on a loaded two-core host a
 * test that takes a second alone was seen to pass 30 s while it still
 * made progress, and its kill then left the kernel finishing its work;
 * hangs are the runner's to catch (HMM_TEST_TIMEOUT). TEST_F expands the
 * name where it is used, so this takes effect for every test below.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	120

#define HMM_NAME_MAX	256

#ifdef KSELFTEST_PRIO_TEST
#define HMM_HARNESS_PRIO	1
#else
#define HMM_HARNESS_PRIO	0
#endif

/*
 * SKIP() for a FIXTURE_SETUP: HMM_SETUP_SKIP("why %s", ...). The 6.1
 * harness runs the test body even after setup skipped; ending the
 * process that runs setup with the status the harness reads as a skip
 * stops it there, with the reason SKIP recorded (6.12 runs setup in a
 * child of its own and passes that status on). Either way teardown does
 * not run: release what setup took first.
 */
#if HMM_HARNESS_PRIO
#define HMM_SETUP_SKIP_EXIT	KSFT_SKIP
#else
#define HMM_SETUP_SKIP_EXIT	255
#endif
#define HMM_SETUP_SKIP(fmt, ...) \
	SKIP(_exit(HMM_SETUP_SKIP_EXIT), fmt, ##__VA_ARGS__)

/* The monotonic clock in milliseconds: waits, and how long a step took. */
static inline long hmm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Skips the test, with libhmm's reason, unless the device behind fd and
 * its kernel offer every need (enum hmm_need): in a test body, and in a
 * FIXTURE_SETUP (release what it took first). On a release known to
 * offer them all (hmm_release_needs()) a need not met fails the test
 * instead: a lookup that failed there loses tests, it is no skip.
 * HMM_REQUIRE_OR() is both, with skip the statement that skips (it may
 * name the reason, _why).
 */
#define HMM_REQUIRE_OR(fd, needs, skip) do {				\
	unsigned int _needs = (needs);					\
	int _fd = (fd);							\
	const char *_why = hmm_unmet(_fd, _needs);			\
	if (_why) {							\
		ASSERT_EQ(0, hmm_unmet_lost(_fd, _needs))		\
			TH_LOG("this release must offer it: %s", _why);	\
		skip;							\
	}								\
} while (0)

#define HMM_REQUIRE(fd, needs) \
	HMM_REQUIRE_OR(fd, needs, SKIP(return, "%s", _why))
#define HMM_SETUP_REQUIRE(fd, needs) \
	HMM_REQUIRE_OR(fd, needs, HMM_SETUP_SKIP("%s", _why))

static inline void hmm_test_name(char *buf, size_t len,
				 const struct __fixture_metadata *f,
				 const struct __fixture_variant_metadata *v,
				 const struct __test_metadata *t)
{
	snprintf(buf, len, "%s%s%s.%s", f->name, v && v->name[0] ? "." : "",
		 v ? v->name : "", t->name);
}

static inline bool hmm_selected(const char *name, char **globs, int nglobs)
{
	int i;

	for (i = 0; i < nglobs; i++)
		if (!fnmatch(globs[i], name, 0))
			return true;
	return nglobs == 0;
}

/* Lists the tests in the order the harness runs them. */
static inline void hmm_list_tests(void)
{
	struct __fixture_variant_metadata novar = { .name = "" };
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	char name[HMM_NAME_MAX];

	for (f = __fixture_list; f; f = f->next) {
		for (v = f->variant ?: &novar; v; v = v->next) {
			for (t = f->tests; t; t = t->next) {
				hmm_test_name(name, sizeof(name), f, v, t);
				printf("%s\n", name);
			}
		}
	}
}

/* The harness keeps tests in a list whose head's prev is the tail. */
static inline void hmm_unlink_test(struct __fixture_metadata *f,
				   struct __test_metadata *t)
{
	if (t == f->tests) {
		f->tests = t->next;
		if (t->next)
			t->next->prev = t->prev;
		return;
	}
	t->prev->next = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		f->tests->prev = t->prev;
}

static inline void hmm_unlink_variant(struct __fixture_metadata *f,
				      struct __fixture_variant_metadata *v)
{
	if (v == f->variant) {
		f->variant = v->next;
		if (v->next)
			v->next->prev = v->prev;
		return;
	}
	v->prev->next = v->next;
	if (v->next)
		v->next->prev = v->prev;
	else
		f->variant->prev = v->prev;
}

static inline bool hmm_variant_used(struct __fixture_metadata *f,
				    struct __fixture_variant_metadata *v,
				    char **globs, int nglobs)
{
	char name[HMM_NAME_MAX];
	struct __test_metadata *t;

	for (t = f->tests; t; t = t->next) {
		hmm_test_name(name, sizeof(name), f, v, t);
		if (hmm_selected(name, globs, nglobs))
			return true;
	}
	return false;
}

static inline bool hmm_test_used(struct __fixture_metadata *f,
				 struct __test_metadata *t,
				 struct __fixture_variant_metadata *novar,
				 char **globs, int nglobs)
{
	struct __fixture_variant_metadata *v;
	char name[HMM_NAME_MAX];

	for (v = f->variant ?: novar; v; v = v->next) {
		hmm_test_name(name, sizeof(name), f, v, t);
		if (hmm_selected(name, globs, nglobs))
			return true;
	}
	return false;
}

/*
 * Keep a test if some variant of it is selected, and a variant if some
 * test of it is: exact names select exactly one run, globs a superset
 * of what they match when variants and tests cross.
 */
static inline void hmm_filter_tests(char **globs, int nglobs)
{
	struct __fixture_variant_metadata novar = { .name = "" };
	struct __fixture_variant_metadata *v, *vnext;
	struct __test_metadata *t, *tnext;
	struct __fixture_metadata *f;

	for (f = __fixture_list; f; f = f->next) {
		for (v = f->variant; v; v = vnext) {
			vnext = v->next;
			if (!hmm_variant_used(f, v, globs, nglobs))
				hmm_unlink_variant(f, v);
		}
		for (t = f->tests; t; t = tnext) {
			tnext = t->next;
			if (!hmm_test_used(f, t, &novar, globs, nglobs))
				hmm_unlink_test(f, t);
		}
	}
}

/* How many tests (each variant's run of one) the globs select. */
static inline unsigned int hmm_count_selected(char **globs, int nglobs)
{
	struct __fixture_variant_metadata novar = { .name = "" };
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	char name[HMM_NAME_MAX];
	unsigned int n = 0;

	for (f = __fixture_list; f; f = f->next)
		for (v = f->variant ?: &novar; v; v = v->next)
			for (t = f->tests; t; t = t->next) {
				hmm_test_name(name, sizeof(name), f, v, t);
				n += hmm_selected(name, globs, nglobs);
			}
	return n;
}

#define HMM_MAX_GLOBS	64

/*
 * Returns -1 to go on and run the selected tests, or the exit status
 * when the options asked for something else (-l, -h, a usage error).
 */
static inline int hmm_harness_parse(int argc, char **argv, char **globs,
				    int *nglobs)
{
	int opt;

	while ((opt = getopt(argc, argv, "hlr:")) != -1) {
		switch (opt) {
		case 'l':
			hmm_list_tests();
			return KSFT_PASS;
		case 'r':
			if (*nglobs == HMM_MAX_GLOBS) {
				fprintf(stderr, "too many -r options\n");
				return KSFT_FAIL;
			}
			globs[(*nglobs)++] = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-l] [-r GLOB]...\n"
				"  -l       list tests, fixture[.variant].test a line\n"
				"  -r GLOB  run the tests whose name matches (repeatable)\n",
				argv[0]);
			return opt == 'h' ? KSFT_PASS : KSFT_FAIL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0],
			argv[optind]);
		return KSFT_FAIL;
	}
	return -1;
}

/*
 * A device that is somebody else's (the kernel's own test_hmm.ko serves
 * the same names) stops the binary with one clear failure instead of a
 * skip or a puzzling failure per test. No device at all lets the tests
 * run: those that need it skip, saying so. Returns -1 to go on.
 */
static inline int hmm_device_ours(void)
{
	char why[160];

	if (hmm_device_check(why, sizeof(why)) != -ENODEV)
		return -1;
	printf("TAP version 13\nBail out! %s\n", why);
	return KSFT_FAIL;
}

static inline int hmm_test_main(int argc, char **argv)
{
	char *globs[HMM_MAX_GLOBS];
	int nglobs = 0;
	int ret = hmm_harness_parse(argc, argv, globs, &nglobs);

	if (ret >= 0)
		return ret;
	/* A name that selects nothing is a lost test, never a pass. */
	if (nglobs && !hmm_count_selected(globs, nglobs)) {
		printf("TAP version 13\nBail out! no test here matches -r %s%s\n",
		       globs[0], nglobs > 1 ? " (or the other -r)" : "");
		return KSFT_FAIL;
	}
	ret = hmm_device_ours();
	if (ret >= 0)
		return ret;
	hmm_filter_tests(globs, nglobs);
	/*
	 * The harness gets no options (6.12's parses argv again): getopt
	 * starts afresh (optind 0 resets glibc's and musl's state), over
	 * argv[0] alone.
	 */
	optind = 0;
	return test_harness_run(1, (char *[]){ argv[0], NULL });
}

/*
 * Ends a test file, in place of TEST_HARNESS_MAIN. Like the 6.1 one, it
 * records the constructor order the harness relies on to keep tests in
 * file order; the 6.12 harness orders its constructors by priority.
 */
#if HMM_HARNESS_PRIO
#define HMM_CONSTRUCTOR_ORDER
#else
#define HMM_CONSTRUCTOR_ORDER						\
	static void __attribute__((constructor))			\
	hmm_constructor_order_last(void)				\
	{								\
		if (!__constructor_order)				\
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	}
#endif

#define HMM_TEST_MAIN							\
	HMM_CONSTRUCTOR_ORDER						\
	int main(int argc, char **argv)					\
	{								\
		exit(hmm_test_main(argc, argv));			\
	}

#endif /* _HMM_HARNESS_H */
