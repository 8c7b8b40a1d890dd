// SPDX-License-Identifier: GPL-2.0
/*
 * A fixture of tools/tests/test_docs.sh. The engine calls a page kind's
 * function and names its ops table; its static helper() shares a name
 * with the page kind's own.
 */
#include "fixture.h"

static int helper(int x)
{
	return x + 1;
}

int engine_step(int x)
{
	return helper(x) + kind_probe(x);
}

int engine_run(int x)
{
	return kind_ops.probe(engine_step(x));
}
