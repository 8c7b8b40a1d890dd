// SPDX-License-Identifier: GPL-2.0
/*
 * libhmm: device access, buffers, patterns and page identity for the
 * test_hmm selftests and tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libhmm.h"

/* /proc/pid/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PAGEMAP_PRESENT		0x8000000000000000ULL
#define PAGEMAP_SWAPPED		0x4000000000000000ULL
#define PAGEMAP_PFN_MASK	0x007fffffffffffffULL

int hmm_open(unsigned int unit)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), HMM_DEV_FMT, unit);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Issue a base command. The device may ask to be called again (EBUSY
 * while an invalidation races with it), as the 6.1 device does.
 */
int hmm_cmd(int fd, unsigned long request, void *addr, void *ptr,
	    __u64 npages, struct hmm_dmirror_cmd *out)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)ptr,
		.npages = npages,
	};
	int ret;

	do {
		ret = ioctl(fd, request, &cmd);
	} while (ret < 0 && (errno == EINTR || errno == EBUSY));
	if (ret < 0)
		return -errno;
	if (out)
		*out = cmd;
	return 0;
}

int hmm_counters(int fd, bool global, struct hmm_nc_counters *out)
{
	struct hmm_nc_counters_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.flags = global ? HMM_NC_COUNTERS_GLOBAL : 0;
	if (ioctl(fd, HMM_NC_GET_COUNTERS, &cmd) < 0)
		return -errno;
	*out = cmd.counters;
	return 0;
}

size_t hmm_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

void *hmm_map_anon(size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int hmm_unmap(void *addr, size_t size)
{
	return munmap(addr, size) ? -errno : 0;
}

/*
 * The pattern is a function of the seed and the word's offset, so a page
 * that lands at the wrong offset or in the wrong buffer is caught, not
 * only a page of zeroes.
 */
static __u64 pattern_word(__u64 seed, size_t index)
{
	__u64 x = seed ^ (index * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x;
}

void hmm_fill(void *addr, size_t size, __u64 seed)
{
	__u64 *w = addr;
	size_t i;

	for (i = 0; i < size / sizeof(*w); i++)
		w[i] = pattern_word(seed, i);
}

/* Returns the byte offset of the first wrong word, or -1 if all match. */
ssize_t hmm_verify(const void *addr, size_t size, __u64 seed)
{
	const __u64 *w = addr;
	size_t i;

	for (i = 0; i < size / sizeof(*w); i++)
		if (w[i] != pattern_word(seed, i))
			return (ssize_t)(i * sizeof(*w));
	return -1;
}

/*
 * PFNs are only shown to CAP_SYS_ADMIN; the suite runs as root in the
 * guest. A page that is not present (or is a swap/device entry) has no
 * PFN: -ENOENT.
 */
int hmm_pfn(const void *addr, __u64 *pfn)
{
	__u64 entry;
	off_t off;
	int fd, ret;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	off = (off_t)((uintptr_t)addr / hmm_page_size() * sizeof(entry));
	ret = pread(fd, &entry, sizeof(entry), off) == sizeof(entry) ? 0 : -EIO;
	close(fd);
	if (ret)
		return ret;
	if (!(entry & PAGEMAP_PRESENT) || (entry & PAGEMAP_SWAPPED))
		return -ENOENT;
	*pfn = entry & PAGEMAP_PFN_MASK;
	return *pfn ? 0 : -EPERM;
}
