/*
 * pipe_echo.c: the stdio-pipe contender for the bench. Reads messages framed as a 4-byte
 * little-endian length and that many bytes from stdin, and writes each whole message back to
 * stdout in the same framing. Complete messages are written back as soon as they are read, in
 * the order they came, so a pipelining sender gets its answers in FIFO order.
 *
 *   usage: pipe_echo             ends on EOF on stdin, and on Linux when its parent dies
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static uint32_t s_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int s_write_all(const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(void)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
    if (getppid() == 1) return 1;
#endif
    signal(SIGPIPE, SIG_IGN);
    size_t cap = 1 << 20, len = 0;
    unsigned char *buf = malloc(cap);
    if (buf == NULL) return 1;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        len += (size_t)n;
        /* The complete messages at the front of the buffer are the answer, byte for byte. */
        size_t done = 0, need = 0;
        while (len - done >= 4) {
            size_t frame = 4 + (size_t)s_le32(buf + done);
            if (len - done < frame) {
                need = frame;
                break;
            }
            done += frame;
        }
        if (done > 0) {
            if (s_write_all(buf, done) < 0) return 1;
            memmove(buf, buf + done, len - done);
            len -= done;
        }
        if (need > cap) { /* a message bigger than the buffer: make room for all of it */
            unsigned char *bigger = realloc(buf, need);
            if (bigger == NULL) return 1;
            buf = bigger;
            cap = need;
        }
    }
    free(buf);
    return 0;
}
