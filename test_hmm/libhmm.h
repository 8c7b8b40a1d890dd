/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libhmm: the userspace side of the test_hmm device, shared by the
 * selftests, the benchmark and the hmmctl CLI.
 *
 * Functions return 0 or a non-negative count on success and -errno on
 * failure, so callers can assert on the exact error.
 */
#ifndef _LIBHMM_H
#define _LIBHMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "test_hmm_uapi.h"

#define HMM_DEV_FMT	"/dev/hmm_dmirror%u"
#define HMM_MODULE	"test_hmm"

/* Devices. */
int hmm_open(unsigned int unit);
int hmm_cmd(int fd, unsigned long request, void *addr, void *ptr,
	    __u64 npages, struct hmm_dmirror_cmd *out);
int hmm_counters(int fd, bool global, struct hmm_nc_counters *out);

/* Buffers: page-aligned anonymous memory, and a pattern to fill it with. */
size_t hmm_page_size(void);
void *hmm_map_anon(size_t size, int prot);
int hmm_unmap(void *addr, size_t size);
void hmm_fill(void *addr, size_t size, __u64 seed);
ssize_t hmm_verify(const void *addr, size_t size, __u64 seed);

/* Page identity: the PFN behind a user address, from /proc/self/pagemap. */
int hmm_pfn(const void *addr, __u64 *pfn);

#endif /* _LIBHMM_H */
