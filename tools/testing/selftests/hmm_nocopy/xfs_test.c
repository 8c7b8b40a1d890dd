// SPDX-License-Identifier: GPL-2.0
/*
 * xfs.*: what only XFS pages are tested for (file_test.c has what every
 * file system without buffer heads must do, XFS among them): clean pages
 * stay clean, and the per-block state of sub-page blocks moves with its
 * page. Each test has an XFS of its own, on a loop device, with the
 * block size it needs; filemap_migrate_folio() is the callback.
 */
/* sync_file_range() */
#define _GNU_SOURCE
#include "file_fixture.h"

#define XFS_SUB_BSIZE	1024	/* four blocks a page: per-block state */

/* xfs: what only XFS pages are tested for, each on an XFS of its own. */
FIXTURE(xfs) {
	struct hmm_env e;
	struct xfs_disk xfs;
};

FIXTURE_SETUP(xfs)
{
	fs_setup(_metadata, &self->e, &self->xfs, true);
}

FIXTURE_TEARDOWN(xfs)
{
	fs_teardown(&self->e, &self->xfs);
}

/*
 * Clean XFS pages (written back before the move) stay clean; writes
 * through the mapping afterwards dirty the new pages and reach the disk.
 */
TEST_F(xfs, clean_nocopy_stays_clean_and_takes_writes)
{
	size_t npages = 16, ps = self->e.ps, size = npages * ps, i;
	struct hmm_nc_file_page *recs;
	char *p;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	xfs_mount(_metadata, &self->xfs, XFS_BSIZE);
	fd = write_file(_metadata, XFS_DIR "/clean", npages, ps, 200, true);
	ASSERT_EQ(0, fsync(fd));
	p = map_file(_metadata, fd, size, MAP_SHARED);
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_EQ(HMM_NC_CB_FILEMAP, recs[i].cb) TH_LOG("page %zu", i);
		EXPECT_EQ(HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR,
			  recs[i].flags) TH_LOG("page %zu", i);
		EXPECT_NE(recs[i].old_pfn, recs[i].new_pfn);
	}
	assert_cache_holds(_metadata, fd, p, npages);
	assert_mapped(_metadata, p, npages, ps, 200);
	assert_read(_metadata, fd, npages, ps, 200);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FILEMAP, NO_COPY,
		       npages);

	fill_pages(p, npages, ps, 210);
	ASSERT_EQ(0, msync(p, size, MS_SYNC));
	munmap(p, size);
	assert_on_disk(_metadata, fd, npages, ps, 210);
	close(fd);
	assert_xfs_clean(_metadata, &self->xfs);
}

/*
 * Page i of the sub-block test: seed 240 + i, as write_file() wrote it,
 * but for its second block, rewritten from a page of seed 250 + i.
 * tmp: a page of scratch.
 */
static void sub_block_page(char *page, char *tmp, size_t ps, size_t i)
{
	hmm_fill(page, ps, 240 + i);
	hmm_fill(tmp, ps, 250 + i);
	memcpy(page + XFS_SUB_BSIZE, tmp + XFS_SUB_BSIZE, XFS_SUB_BSIZE);
}

/* Page i of the file reads back as want. */
static void assert_page_read(struct __test_metadata *_metadata, int fd,
			     size_t i, size_t ps, const char *want)
{
	char *got = zalloc(_metadata, ps);

	ASSERT_EQ((ssize_t)ps, pread(fd, got, ps, i * ps));
	EXPECT_EQ(0, memcmp(got, want, ps)) TH_LOG("page %zu", i);
	free(got);
}

/*
 * XFS with 1 KiB blocks keeps per-block state in each page's private
 * data. In 6.1 that is which blocks are uptodate (which are dirty it
 * tracks from 6.6), and a page the migration can collect is mapped, so
 * uptodate whole (the fault read every block in): writeback writes
 * every block of a dirty page, whatever block was written. What is seen
 * from outside the module: the private data are on the new page right
 * after the move (PG_private in kpageflags, at the PFN pagemap gives;
 * state lost on the way would be made again only by the next write or
 * writeback), the disk writes the pages' four blocks each, the
 * rewritten block reaches the disk and the others stay right.
 */
TEST_F(xfs, sub_page_blocks_nocopy_moves_per_block_state)
{
	size_t npages = 16, ps = self->e.ps, size = npages * ps, i;
	long long sectors;
	char *p, *page, *tmp;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	xfs_mount(_metadata, &self->xfs, XFS_SUB_BSIZE);
	fd = write_file(_metadata, XFS_DIR "/blocks", npages, ps, 240, true);
	/* Nothing older left to write back, the log included. */
	ASSERT_EQ(0, syncfs(fd));
	page = zalloc(_metadata, ps);
	tmp = zalloc(_metadata, ps);
	p = map_file(_metadata, fd, size, MAP_SHARED);
	for (i = 0; i < npages; i++) {
		sub_block_page(page, tmp, ps, i);
		ASSERT_EQ(XFS_SUB_BSIZE,
			  pwrite(fd, page + XFS_SUB_BSIZE, XFS_SUB_BSIZE,
				 i * ps + XFS_SUB_BSIZE));
	}
	migrate_all_private(_metadata, &self->e, p, npages, NO_COPY,
			    HMM_NC_CB_FILEMAP,
			    HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT |
			    HMM_NC_FP_PRIVATE | HMM_NC_FP_PRIVATE_MOVED |
			    HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR);
	assert_cache_holds(_metadata, fd, p, npages);
	sectors = written_back(_metadata, fd, size, self->xfs.path);
	TH_LOG("writeback of %zu pages with one block rewritten each: %lld sectors",
	       npages, sectors);
	EXPECT_EQ((long long)(size / 512), sectors);
	munmap(p, size);
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	for (i = 0; i < npages; i++) {
		sub_block_page(page, tmp, ps, i);
		assert_page_read(_metadata, fd, i, ps, page);
	}
	assert_counted(_metadata, &self->e, HMM_NC_CB_FILEMAP, NO_COPY,
		       npages);
	free(page);
	free(tmp);
	close(fd);
	assert_xfs_clean(_metadata, &self->xfs);
}

HMM_TEST_MAIN
