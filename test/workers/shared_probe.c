/*
 * shared_probe: maps an owner's SharedBuffer through cnode_shared_map (cnode/src/shared.c), for
 * test/shared-buffer.test.ts. Not a cnode worker: a plain program run with spawnSync.
 *
 *   shared_probe scale <owner_pid> <fd> <inode> <size> <factor>
 *       maps the buffer twice (the second call must come from the cache: the same pointer),
 *       multiplies each float64 in it by factor, in place, and prints "ok".
 *   shared_probe stale <owner_pid> <fd> <inode> <size>
 *       maps with inode + 1 (as if the owner's fd number now named another file) and prints the
 *       name of the errno it got, or "mapped" if it wrongly succeeded.
 *   shared_probe lru
 *       checks the cache's bounds on memfds of its own (sealed as the owner's are): the least
 *       recently used of CNODE_SHARED_MAPS + 1 buffers is unmapped, forget and clear unmap, and
 *       prints "ok".
 *   shared_probe time <owner_pid> <fd> <inode> <size>
 *       prints "first <ns> cached <ns> remap <ns>": the cost of the process's first
 *       cnode_shared_map, of a cached one (the mean of a million), and of a forget and map again
 *       (the mean of a thousand: a miss once the process is warm).
 * Exits 0 when it could do what it was asked, 1 otherwise (the reason on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"

static const char *s_errno_name(int err)
{
    switch (err) {
    case ESTALE: return "ESTALE";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOMEM: return "ENOMEM";
    default: return "other";
    }
}

static uint64_t s_number(const char *text)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        fprintf(stderr, "shared_probe: not a number: %s\n", text);
        exit(1);
    }
    return value;
}

static double s_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

#define S_CHECK(cond)                                                                        \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "shared_probe: line %d: %s failed (errno %s)\n", __LINE__, #cond,  \
                    s_errno_name(errno));                                                    \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

/* The memfd mappings in this process, from /proc/self/maps. */
static int s_mapped_memfds(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL) return -1;
    char line[4096];
    int count = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "memfd:probe") != NULL) count++;
    fclose(f);
    return count;
}

/* Once a buffer's descriptor is closed, only the cache can still give it: a map call naming fd
   0 (stdin, another file) succeeds while it is cached, and fails once it was unmapped. */
static int s_lru(void)
{
    enum { N = CNODE_SHARED_MAPS + 1 };
    struct cnode_shared_maps maps;
    cnode_shared_init(&maps);
    uint64_t inode[N];
    pid_t self = getpid();
    for (int i = 0; i < N; i++) {
        int fd = memfd_create("probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        struct stat st;
        S_CHECK(fd >= 0 && ftruncate(fd, 4096) == 0 && fstat(fd, &st) == 0);
        S_CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
        inode[i] = (uint64_t)st.st_ino;
        S_CHECK(cnode_shared_map(&maps, self, (uint32_t)fd, inode[i], 4096) != NULL);
        close(fd);
        if (i == CNODE_SHARED_MAPS - 1) /* full: use the first again, so the second is the oldest */
            S_CHECK(cnode_shared_map(&maps, self, 0, inode[0], 4096) != NULL);
    }
    S_CHECK(s_mapped_memfds() == CNODE_SHARED_MAPS);
    S_CHECK(cnode_shared_map(&maps, self, 0, inode[0], 4096) != NULL);  /* kept */
    S_CHECK(cnode_shared_map(&maps, self, 0, inode[1], 4096) == NULL);  /* evicted */
    S_CHECK(cnode_shared_map(&maps, self, 0, inode[N - 1], 4096) != NULL);
    S_CHECK(cnode_shared_map(&maps, self, 0, inode[0], 8192) == NULL);  /* bigger than it is */
    cnode_shared_forget(&maps, inode[2]);
    S_CHECK(s_mapped_memfds() == CNODE_SHARED_MAPS - 1);
    S_CHECK(cnode_shared_map(&maps, self, 0, inode[2], 4096) == NULL);
    S_CHECK(cnode_shared_map(&maps, self, 1, inode[3], 0) == NULL && errno == EINVAL);
    cnode_shared_clear(&maps);
    S_CHECK(s_mapped_memfds() == 0);
    puts("ok");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "lru") == 0) return s_lru();
    if (argc < 6) {
        fprintf(stderr, "usage: shared_probe lru | scale|stale|time <owner_pid> <fd> <inode> <size> [factor]\n");
        return 1;
    }
    const char *mode = argv[1];
    pid_t pid = (pid_t)s_number(argv[2]);
    uint32_t fd = (uint32_t)s_number(argv[3]);
    uint64_t inode = s_number(argv[4]);
    uint64_t size = s_number(argv[5]);
    struct cnode_shared_maps maps;
    cnode_shared_init(&maps);

    if (strcmp(mode, "stale") == 0) {
        void *p = cnode_shared_map(&maps, pid, fd, inode + 1, size);
        puts(p != NULL ? "mapped" : s_errno_name(errno));
        cnode_shared_clear(&maps);
        return 0;
    }

    double start = s_now_ns();
    double *first = cnode_shared_map(&maps, pid, fd, inode, size);
    double first_ns = s_now_ns() - start;
    if (first == NULL) {
        fprintf(stderr, "shared_probe: cnode_shared_map: %s (%s)\n", strerror(errno), s_errno_name(errno));
        return 1;
    }
    double *again = cnode_shared_map(&maps, pid, fd, inode, size);
    if (again != first) {
        fprintf(stderr, "shared_probe: the second map gave %p, not the cached %p\n", (void *)again, (void *)first);
        return 1;
    }

    if (strcmp(mode, "time") == 0) {
        const int rounds = 1000000;
        start = s_now_ns();
        for (int i = 0; i < rounds; i++)
            if (cnode_shared_map(&maps, pid, fd, inode, size) != first) return 1;
        double cached_ns = (s_now_ns() - start) / rounds;
        const int remaps = 1000;
        start = s_now_ns();
        for (int i = 0; i < remaps; i++) {
            cnode_shared_forget(&maps, inode);
            if (cnode_shared_map(&maps, pid, fd, inode, size) == NULL) return 1;
        }
        printf("first %.0f cached %.1f remap %.0f\n", first_ns, cached_ns, (s_now_ns() - start) / remaps);
    } else if (strcmp(mode, "scale") == 0 && argc >= 7) {
        double factor = strtod(argv[6], NULL);
        for (uint64_t i = 0; i < size / sizeof(double); i++) first[i] *= factor;
        puts("ok");
    } else {
        fprintf(stderr, "shared_probe: unknown mode %s\n", mode);
        return 1;
    }
    cnode_shared_clear(&maps);
    return 0;
}
