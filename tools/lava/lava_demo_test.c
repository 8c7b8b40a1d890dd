// SPDX-License-Identifier: GPL-2.0
/*
 * A test that fails on purpose, for make lava-check only: it goes into
 * the ramdisk of one demonstration job (never into the suite), to show
 * that a failure inside the guest reaches LAVA as a failed test case
 * and fails the check. Its neighbour passes, so one job shows both.
 */
#include "hmm_harness.h"

FIXTURE(lava_demo) {
	int answer;
};

FIXTURE_SETUP(lava_demo)
{
	self->answer = 42;
}

FIXTURE_TEARDOWN(lava_demo)
{
}

/* The reference: a check that holds. */
TEST_F(lava_demo, passes)
{
	ASSERT_EQ(42, self->answer);
}

/* The demonstration: a check that cannot hold. */
TEST_F(lava_demo, fails_on_purpose)
{
	ASSERT_EQ(43, self->answer);
}

HMM_TEST_MAIN
