// SPDX-License-Identifier: GPL-2.0
/*
 * stress.*: placeholder, filled in by the next commit.
 */
#include "hmm_harness.h"
#include "libhmm.h"

HMM_TEST_MAIN
