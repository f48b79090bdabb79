// shared.cc: memory the owner shares with its workers.
//
// sharedCreate(byteLength) -> { buffer, fd, inode, byteLength }
//   A memfd ("cnode-shared", close-on-exec) of byteLength bytes, sealed so that its size can
//   never change, mapped read-write and shared, and an external ArrayBuffer over the mapping.
//   A worker maps the same pages by opening /proc/<owner pid>/fd/<fd> (cnode/src/shared.c), and
//   checks the inode to know the descriptor number still names this file.
//
// sharedRelease(buffer, keepFd = false) -> boolean
//   Detaches the ArrayBuffer (every view of it now has length 0), unmaps the memory now and
//   closes the fd, or with keepFd leaves the fd open and makes it the caller's to close
//   (fs.closeSync). Returns true when this call released it, false when it was already released.
//   Throws a TypeError for any other ArrayBuffer.
//
// Who frees what, exactly once. The ArrayBuffer's finalizer owns the Region record and undoes
// whatever sharedRelease has not. In Node 20 that finalizer runs:
//  - after a garbage collection found the ArrayBuffer unreachable (on a later turn of the event
//    loop, not inside the GC);
//  - after a detach: V8 drops the backing store at once, and Node posts the finalizer to the
//    next turn of the loop (verified in test/shared-buffer.test.ts). So sharedRelease must not
//    free the record: it unmaps, marks the record, and leaves the rest to the finalizer;
//  - at the environment's teardown (worker_thread exit), once, for buffers never collected;
//  - synchronously, inside napi_create_external_arraybuffer, when Node refuses the buffer
//    (over buffer.constants.MAX_LENGTH, 2^32 in Node 20). sharedCreate handles that case.
// GC pressure: V8 already adds an external ArrayBuffer's whole length to the external memory
// that drives its collections (Isolate::AdjustAmountOfExternalAllocatedMemory, from its
// ArrayBuffer accounting), and takes it off when the backing store goes. Measured in Node 20:
// the running total napi_adjust_external_memory(env, 0) reports grows by 64 MiB per 64 MiB
// buffer made here, and by 128 MiB when this file adjusted it too. So it does not adjust: that
// would count every buffer twice. (process.memoryUsage().external shows the buffers;
// .arrayBuffers does not, since they are not from Node's allocator.)
//
// Do not hand views of a shared buffer to an API that reads them later on another thread (a
// zero-copy socket send): a release would unmap the pages under it.
#include <napi.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>

#include "addon.h"

namespace cnode_addon {

// The largest buffer sharedCreate makes: 1 TiB, far beyond any sane use, and below every
// limit of V8's (Node may have a smaller one: buffer.constants.MAX_LENGTH).
constexpr double kSharedMaxBytes = 1099511627776.0; // 2^40

// One mapping. Made by sharedCreate, deleted by the ArrayBuffer's finalizer.
struct Region {
    void *addr;          // the mapping
    size_t size;         // its length: byteLength
    int fd;              // the memfd; -1 once closed or handed to the caller
    bool unmapped;       // munmap was done (by sharedRelease or the finalizer)
    bool creating;       // sharedCreate has not returned yet: it deletes the record itself
    bool finalized;      // the finalizer ran while creating
};

// The mapped regions by address: how sharedRelease tells our ArrayBuffers from any other, and
// a detached one (no address) from a live one. Process-wide, since worker_threads load the
// addon once per thread and finalizers run on each thread.
static std::mutex &RegionsLock()
{
    static std::mutex lock;
    return lock;
}
static std::unordered_map<void *, Region *> &Regions()
{
    static std::unordered_map<void *, Region *> regions;
    return regions;
}
// Records not yet deleted: mapped ones, and released ones whose finalizer has not run yet.
static std::atomic<int64_t> &RecordCount()
{
    static std::atomic<int64_t> count{0};
    return count;
}

// Takes the pages out of the record, once: true for the one caller that must unmap them. The
// address leaves the table with them, so that a later mapping at the same address is never
// taken for this one.
static bool TakePages(Region *r)
{
    std::lock_guard<std::mutex> guard(RegionsLock());
    if (r->unmapped) return false;
    r->unmapped = true;
    Regions().erase(r->addr);
    return true;
}

static void DeleteRegion(Region *r)
{
    delete r;
    RecordCount()--;
}

static void FinalizeRegion(napi_env /*env*/, void *data, void *hint)
{
    (void)data;
    Region *r = static_cast<Region *>(hint);
    if (TakePages(r)) munmap(r->addr, r->size);
    if (r->fd >= 0) close(r->fd); // never retried on EINTR: Linux has closed it anyway
    r->fd = -1;
    if (r->creating) r->finalized = true; // sharedCreate is still using the record
    else DeleteRegion(r);
}

static Napi::Value ThrowErrno(Napi::Env env, const char *what, int err)
{
    std::string message = std::string("sharedCreate: ") + what + ": " + std::strerror(err);
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("errno", Napi::Number::New(env, err));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
}

// Makes, seals and maps the memfd. Returns MAP_FAILED with errno set, naming the failed step.
static void *MapNewMemfd(size_t size, int *fd_out, uint64_t *inode_out, const char **what)
{
    *what = "memfd_create";
    int fd = memfd_create("cnode-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return MAP_FAILED;
    struct stat st;
    void *addr = MAP_FAILED;
    *what = "ftruncate";
    if (ftruncate(fd, static_cast<off_t>(size)) < 0) goto fail;
    // Nobody, not even a worker with its own descriptor, may shrink the file: touching a mapped
    // page past the end raises SIGBUS, which would kill the owner.
    *what = "F_ADD_SEALS";
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) goto fail;
    *what = "fstat";
    if (fstat(fd, &st) < 0) goto fail;
    *what = "mmap";
    addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) goto fail;
    *fd_out = fd;
    *inode_out = static_cast<uint64_t>(st.st_ino);
    return addr;
fail:
    int err = errno;
    close(fd);
    errno = err;
    return MAP_FAILED;
}

Napi::Value SharedCreate(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
        Napi::TypeError::New(env, "sharedCreate(byteLength): byteLength must be a number")
            .ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const double requested = info[0].As<Napi::Number>().DoubleValue();
    if (!(requested >= 1 && requested <= kSharedMaxBytes && std::floor(requested) == requested)) {
        std::string shown = info[0].ToString().Utf8Value();
        Napi::RangeError::New(env, "sharedCreate(byteLength): byteLength must be an integer from 1 "
                                   "to 2^40, got " + shown)
            .ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const size_t size = static_cast<size_t>(requested);

    int fd;
    uint64_t inode;
    const char *what;
    void *addr = MapNewMemfd(size, &fd, &inode, &what);
    if (addr == MAP_FAILED) return ThrowErrno(env, what, errno);

    Region *r = new Region{addr, size, fd, false, true, false};
    RecordCount()++;
    {
        std::lock_guard<std::mutex> guard(RegionsLock());
        Regions()[addr] = r;
    }
    // The C API rather than Napi::ArrayBuffer::New: when Node refuses the buffer it runs the
    // finalizer at once, and node-addon-api would then free its own finalizer data twice.
    napi_value buffer;
    napi_status status = napi_create_external_arraybuffer(env, addr, size, FinalizeRegion, r, &buffer);
    r->creating = false;
    if (status != napi_ok) {
        if (!r->finalized) FinalizeRegion(env, nullptr, r); // refused before the finalizer was taken
        else DeleteRegion(r);
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (!pending) // Node 20 throws ERR_BUFFER_TOO_LARGE itself; say it for any other refusal
            Napi::RangeError::New(env, "sharedCreate(byteLength): Node refused an ArrayBuffer of "
                                       + std::to_string(size) + " bytes")
                .ThrowAsJavaScriptException();
        return env.Undefined();
    }
    if (r->finalized) { // cannot happen once created, but the record must not leak if it does
        DeleteRegion(r);
        return env.Undefined();
    }

    Napi::Object result = Napi::Object::New(env);
    result.Set("buffer", Napi::Value(env, buffer));
    result.Set("fd", Napi::Number::New(env, fd));
    result.Set("inode", Napi::Number::New(env, static_cast<double>(inode)));
    result.Set("byteLength", Napi::Number::New(env, static_cast<double>(size)));
    return result;
}

Napi::Value SharedRelease(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
        Napi::TypeError::New(env, "sharedRelease(buffer): buffer must be an ArrayBuffer")
            .ThrowAsJavaScriptException();
        return env.Undefined();
    }
    Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
    const bool keep_fd = info.Length() >= 2 && info[1].ToBoolean().Value();
    if (buffer.IsDetached()) return Napi::Boolean::New(env, false); // released before
    Region *r = nullptr;
    {
        std::lock_guard<std::mutex> guard(RegionsLock());
        auto found = Regions().find(buffer.Data());
        if (found != Regions().end() && found->second->size == buffer.ByteLength()) r = found->second;
    }
    if (r == nullptr) {
        Napi::TypeError::New(env, "sharedRelease(buffer): not a buffer made by sharedCreate")
            .ThrowAsJavaScriptException();
        return env.Undefined();
    }
    // Take the pages and the fd out of the record before detaching: should a Node version run
    // the finalizer inside the detach, it then finds nothing left to undo, frees the record, and
    // this function goes on with its own copies. Unmap after detaching: from then on no
    // JavaScript can reach the pages.
    void *addr = r->addr;
    const size_t size = r->size;
    const int fd = r->fd;
    TakePages(r);
    r->fd = -1;
    buffer.Detach();
    if (env.IsExceptionPending()) { // not detachable: leave it all as it was
        std::lock_guard<std::mutex> guard(RegionsLock());
        r->unmapped = false;
        r->fd = fd;
        Regions()[addr] = r;
        return env.Undefined();
    }
    munmap(addr, size);
    if (!keep_fd) close(fd); // with keepFd it is the caller's now
    return Napi::Boolean::New(env, true);
}

// sharedStats() -> { mapped, records }: the regions still mapped, and the records not yet
// finalized (mapped ones plus released ones whose finalizer is pending), in this process. For
// tests: after a release and a turn of the event loop both drop back.
Napi::Value SharedStats(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    size_t mapped;
    {
        std::lock_guard<std::mutex> guard(RegionsLock());
        mapped = Regions().size();
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("mapped", Napi::Number::New(env, static_cast<double>(mapped)));
    result.Set("records", Napi::Number::New(env, static_cast<double>(RecordCount().load())));
    return result;
}

} // namespace cnode_addon

