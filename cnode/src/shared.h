/*
 * shared.h: the worker's mappings of its owner's shared buffers (SharedBuffer in Node,
 * src/shared-buffer.ts). Private to the library: the message loop maps what a call names, and
 * forgets what the owner released.
 *
 * The owner makes a sealed memfd (its size can never change) and names it by its pid, its
 * descriptor number there and the file's inode. The worker opens /proc/<pid>/fd/<fd>, which gives
 * it its own descriptor for the same file (the owner must be the worker's parent or share its
 * uid: the kernel checks ptrace read access), maps it, and closes the descriptor: the mapping
 * alone keeps the memory alive. The owner's fd number may have been closed and reused for
 * another file since the message was sent, so the inode is checked. Over the ring transport the
 * owner sends the descriptors themselves with the message instead (cnode_shared_map_passed):
 * no /proc, and no ptrace access needed.
 *
 * Errors: as in cnode.h: NULL with errno set. Not thread-safe: one cache per thread (the node's
 * belongs to the thread that runs cnode_run).
 */
#ifndef CNODE_SHARED_H
#define CNODE_SHARED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How many buffers stay mapped at once; mapping one more unmaps the least recently used. */
#define CNODE_SHARED_MAPS 64

/* One mapping of an owner's buffer. */
struct cnode_shared_map {
    uint64_t inode;     /* the memfd's inode; 0 marks a free slot */
    void *addr;         /* the mapping: the whole file, read-write, shared */
    uint64_t size;      /* its size: the file's size when it was mapped */
    uint64_t used;      /* the cache's clock when last returned, for LRU eviction */
};

/* A descriptor of an owner's buffer that came with a message (the ring transport), kept until
   the owner releases the buffer: the owner sends it only with the first call that names it. */
struct cnode_shared_kept {
    uint64_t inode;
    int fd;
};

/* The cache. Plain data: zero it or call cnode_shared_init; release it with cnode_shared_clear. */
struct cnode_shared_maps {
    struct cnode_shared_map slot[CNODE_SHARED_MAPS];
    uint64_t clock;     /* counts cnode_shared_map calls */
    struct cnode_shared_kept *kept; /* as many as the owner has sent and not released */
    size_t nkept, kept_cap;
};

void cnode_shared_init(struct cnode_shared_maps *m);

/*
 * Maps the owner's buffer named by (owner_pid, fd, inode) and returns its first byte; at least
 * `size` bytes from there are valid. A buffer already mapped (same inode, at least `size` bytes)
 * is returned from the cache without a system call. Otherwise: opens /proc/<owner_pid>/fd/<fd>
 * (O_RDWR | O_CLOEXEC), checks that it is the same file (st_ino == inode, and sealed against
 * shrinking and growing as the owner's buffers are, so that no page can vanish under the worker
 * and raise SIGBUS) and holds at least `size` bytes, maps all of it MAP_SHARED read-write, and
 * closes the descriptor. When the cache is full the least recently returned mapping is unmapped
 * to make room.
 *
 * The pointer belongs to the cache: it stays valid until cnode_shared_forget(inode),
 * cnode_shared_clear, or until CNODE_SHARED_MAPS other buffers have been mapped since it was
 * last returned. Returns NULL with errno: EINVAL (owner_pid, fd, inode or size is 0 or out of
 * range, or the file holds fewer than `size` bytes), ESTALE (the fd now names another file),
 * ENOENT (no such process, or no such descriptor in it), EACCES or EPERM (no right to open it),
 * ENOMEM, or what open or mmap reported.
 */
void *cnode_shared_map(struct cnode_shared_maps *m, pid_t owner_pid, uint32_t fd, uint64_t inode,
                       uint64_t size);

/*
 * The same for a buffer whose descriptor came with the message: among fds[0..count) (the
 * caller's, left open), the one whose file has that inode, with the same checks, the same
 * cache and the same errors, but for ENOENT, which here means that no descriptor of that inode
 * came, now or with an earlier message. The owner sends a buffer's descriptor only with the
 * first message that names it: a copy of it is kept until cnode_shared_forget. A buffer already
 * mapped costs no system call at all.
 */
void *cnode_shared_map_passed(struct cnode_shared_maps *m, const int *fds, size_t count,
                              uint64_t inode, uint64_t size);

/* The owner released the buffer: unmaps it if it is mapped, and closes its kept descriptor.
   Pointers to it become invalid. */
void cnode_shared_forget(struct cnode_shared_maps *m, uint64_t inode);

/* Unmaps and closes everything (at cnode_destroy). The cache stays usable, empty. */
void cnode_shared_clear(struct cnode_shared_maps *m);

#endif /* CNODE_SHARED_H */
