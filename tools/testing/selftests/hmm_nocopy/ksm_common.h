/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KSM for the tests that need merged pages: its sysfs knobs, and a merge
 * of a caller's range that waits for ksmd. The knobs are shared state:
 * hmm_fixture.h puts them back after each test (hmm_shared_files).
 */
#ifndef _KSM_COMMON_H
#define _KSM_COMMON_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "libhmm.h"

#define KSM_SYS		"/sys/kernel/mm/ksm/"

/* A counter of /sys/kernel/mm/ksm, or -1. */
static inline long ksm_read(const char *name)
{
	char path[96];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), KSM_SYS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static inline bool ksm_available(void)
{
	return !access(KSM_SYS "run", W_OK);
}

/*
 * Starts ksmd, scanning every sleep_ms milliseconds, and waits up to 30 s
 * until at least sharing mappings share a KSM page (the caller advised
 * its ranges MADV_MERGEABLE first). 0, or -1 if ksmd merged fewer.
 */
static inline int ksm_merge(const char *sleep_ms, long sharing)
{
	int t;

	hmm_write_str(KSM_SYS "sleep_millisecs", sleep_ms);
	hmm_write_str(KSM_SYS "pages_to_scan", "1000");
	if (hmm_write_str(KSM_SYS "run", "1"))
		return -1;
	for (t = 0; t < 300 && ksm_read("pages_sharing") < sharing; t++)
		usleep(100000);
	return ksm_read("pages_sharing") < sharing ? -1 : 0;
}

/* Stops ksmd and unmerges every page it merged. */
static inline void ksm_stop(void)
{
	hmm_write_str(KSM_SYS "run", "2");
}

#endif /* _KSM_COMMON_H */
