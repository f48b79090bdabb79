// ring.cc: the owner's end of the ring transport (cnode/src/ring.h has the format): a sealed
// memfd with one ring each way, an eventfd each way, and a SOCK_SEQPACKET lifeline that tells
// when the worker is gone and carries descriptors. src/connection/ring.ts drives it.
//
// new Ring(capacity, maxPartBytes)
//   Makes the segment, the eventfds and the lifeline. `childFds` are what the worker inherits as
//   its descriptors 3..6 (segment, the eventfd that wakes it, the one that wakes the owner, its
//   end of the lifeline); spawned() closes the owner's copies of the worker's own ones.
// start(onMessages, onEvent)
//   Watches the owner's eventfd and the lifeline with uv_poll on this thread's loop. Each wake
//   delivers what the ring holds with one call, onMessages([frames, sides, frames, sides, ...])
//   (sides undefined or an array of Buffers), through napi_make_callback: promises settled in it
//   run their reactions at once, where napi_call_function would leave them for later.
//   onEvent('writable') after a write() that found no room can be retried; onEvent('disconnect')
//   once the worker's end closed and what it wrote before has been delivered;
//   onEvent('violation', why) when the worker broke the format. After either of the last two
//   nothing more is delivered.
// write(frames, sides, fds) -> boolean
//   Writes one message into the ring now: false when there is no room (wait for 'writable').
//   Parts too big for the ring travel as memfds sealed against resizing (the worker may freeze
//   one it echoes); `fds` (SharedBuffers the worker has not been sent yet) go with them.
// stage(bytes), unstage(buffer), recycle(buffers)
//   A big binary copied straight into the memfd that carries it, one that will not be sent,
//   and those of a call the worker answered, kept for its next ones (staged.cc).
// pump()      delivers what is there now, as a wake would (after the worker's exit).
// setRef(ref) whether the watches keep the loop alive.
// close()     stops, unmaps and closes everything; idempotent. Nothing is delivered afterwards.
//
// The worker may be hostile: every record is copied out of the ring and checked there before it
// is read (ring.c), a part it sends by descriptor must be sealed against shrinking, whole and
// within maxPartBytes, and is mapped only if the worker can no longer write it (else copied),
// descriptors are read only when a record names them, and those it sends are closed without
// blocking (cnode_ring_close_sent).
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "../cnode/src/ring.h"
#include "addon.h"

namespace cnode_addon {

namespace {

// The most records one wake delivers before the loop gets a turn for its other work.
constexpr int kRecordsPerWake = 4096;
// What a record holds beside a big binary, at most, for the binary to go inline: the record's
// header, the part descriptors, and the call's own frame. A binary that leaves less room than
// this is staged (one within this of a record that fits after all goes inline, copied out of
// its memfd: a band too narrow to matter).
constexpr size_t kFrameRoom = 4096;

void CloseFd(int &fd)
{
    if (fd >= 0) close(fd);
    fd = -1;
}

void Wake(int eventfd_fd)
{
    uint64_t one = 1;
    // EAGAIN means the counter is already huge: the peer is awake anyway.
    while (write(eventfd_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

std::string ErrnoText(const char *what)
{
    return std::string(what) + ": " + std::strerror(errno);
}

// A part the worker sent by descriptor, mapped into the owner, owned by its Buffer.
void UnmapPart(Napi::Env, uint8_t *data, uint64_t *size)
{
    cnode_ring_unmap(data, *size);
    delete size;
}

} // namespace

class Ring : public Napi::ObjectWrap<Ring> {
  public:
    static Napi::Function Define(Napi::Env env)
    {
        return DefineClass(env, "Ring",
                           {InstanceAccessor<&Ring::ChildFds>("childFds"),
                            InstanceMethod<&Ring::Spawned>("spawned"),
                            InstanceMethod<&Ring::Start>("start"),
                            InstanceMethod<&Ring::Write>("write"),
                            InstanceMethod<&Ring::Stage>("stage"),
                            InstanceMethod<&Ring::Unstage>("unstage"),
                            InstanceMethod<&Ring::Recycle>("recycle"),
                            InstanceMethod<&Ring::Pump>("pump"),
                            InstanceMethod<&Ring::SetRef>("setRef"),
                            InstanceMethod<&Ring::Close>("close")});
    }

    Ring(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Ring>(info), env_(info.Env())
    {
        double capacity = info[0].As<Napi::Number>().DoubleValue();
        max_part_ = info[1].As<Napi::Number>().DoubleValue();
        if (!cnode_ring_capacity_ok(static_cast<uint64_t>(capacity))) {
            Napi::RangeError::New(env_, "ring capacity out of range").ThrowAsJavaScriptException();
            return;
        }
        std::string failed = Open(static_cast<uint32_t>(capacity));
        if (!failed.empty()) {
            CloseAll();
            Napi::Error::New(env_, "cannot make the ring: " + failed).ThrowAsJavaScriptException();
        }
    }

    ~Ring() override { Shut(); }

  private:
    std::string Open(uint32_t capacity)
    {
        segment_bytes_ = cnode_ring_segment_size(capacity);
        segment_fd_ = memfd_create("cnode-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (segment_fd_ < 0) return ErrnoText("memfd_create");
        if (ftruncate(segment_fd_, static_cast<off_t>(segment_bytes_)) < 0) return ErrnoText("ftruncate");
        void *segment = mmap(nullptr, segment_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, segment_fd_, 0);
        if (segment == MAP_FAILED) return ErrnoText("mmap");
        segment_ = segment;
        cnode_ring_format(segment_, capacity);
        // Sealed before the worker sees it: it can never shrink the pages the owner reads.
        if (fcntl(segment_fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
            return ErrnoText("F_ADD_SEALS");
        wake_worker_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        wake_owner_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_worker_ < 0 || wake_owner_ < 0) return ErrnoText("eventfd");
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
            return ErrnoText("socketpair");
        lifeline_ = pair[0];
        lifeline_child_ = pair[1];
        // The child's end must block like any socket; O_NONBLOCK of pair[1] is its own.
        fcntl(lifeline_child_, F_SETFL, fcntl(lifeline_child_, F_GETFL) & ~O_NONBLOCK);
        cnode_ring_attach(&out_, segment_, capacity, CNODE_RING_TO_WORKER);
        cnode_ring_attach(&in_, segment_, capacity, CNODE_RING_TO_OWNER);
        // The owner never spins: outside a delivery it is asleep, and the worker wakes it.
        cnode_ring_sleep(&in_);
        copy_.resize(cnode_ring_record_max(&in_));
        return "";
    }

    Napi::Value ChildFds(const Napi::CallbackInfo &info)
    {
        Napi::Array fds = Napi::Array::New(info.Env(), 4);
        int values[4] = {segment_fd_, wake_worker_, wake_owner_, lifeline_child_};
        for (uint32_t i = 0; i < 4; i++) fds.Set(i, Napi::Number::New(info.Env(), values[i]));
        return fds;
    }

    // The worker has its copies now (or never will): the owner's go, so that the worker's end
    // of the lifeline closes when the worker does.
    Napi::Value Spawned(const Napi::CallbackInfo &info)
    {
        CloseFd(segment_fd_);
        CloseFd(lifeline_child_);
        return info.Env().Undefined();
    }

    Napi::Value Start(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        if (closed_ || started_) {
            Napi::Error::New(env, "ring: start() on a closed or started ring").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        on_messages_ = Napi::Persistent(info[0].As<Napi::Function>());
        on_event_ = Napi::Persistent(info[1].As<Napi::Function>());
        context_ = std::make_unique<Napi::AsyncContext>(env, "cnode:ring");
        uv_loop_t *loop = nullptr;
        napi_get_uv_event_loop(env, &loop);
        wake_poll_ = new uv_poll_t;
        lifeline_poll_ = new uv_poll_t;
        uv_poll_init(loop, wake_poll_, wake_owner_);
        uv_poll_init(loop, lifeline_poll_, lifeline_);
        wake_poll_->data = lifeline_poll_->data = this;
        uv_poll_start(wake_poll_, UV_READABLE, OnPoll);
        WatchLifeline(false);
        napi_add_env_cleanup_hook(env, OnTeardown, this);
        started_ = true;
        Ref(); // the watches call back into this object: it lives until close()
        return env.Undefined();
    }

    // The lifeline is watched for its hang-up only (and for room, while a write waits for it):
    // the descriptors it carries are read when a record names them. A worker that sends
    // descriptors no record names only fills its own socket buffer.
    void WatchLifeline(bool writable)
    {
        watch_writable_ = writable;
        uv_poll_start(lifeline_poll_, UV_DISCONNECT | (writable ? UV_WRITABLE : 0), OnPoll);
    }

    static void OnPoll(uv_poll_t *handle, int status, int events)
    {
        Ring *ring = static_cast<Ring *>(handle->data);
        Napi::HandleScope scope(ring->env_);
        ring->OnWake(handle == ring->lifeline_poll_, status, events);
    }

    static void OnTeardown(void *arg) { static_cast<Ring *>(arg)->Shut(); }

    void OnWake(bool lifeline, int status, int events)
    {
        if (!lifeline) {
            uint64_t count;
            while (read(wake_owner_, &count, sizeof count) < 0 && errno == EINTR) {
            }
        } else {
            if (status < 0 || (events & UV_DISCONNECT)) peer_gone_ = true;
            if ((events & UV_WRITABLE) && watch_writable_) WatchLifeline(false);
        }
        Deliver(kRecordsPerWake);
    }

    // Delivers up to `budget` records; then, when the worker is gone and all it wrote is
    // delivered, says so; when it has written more than the budget, wakes itself for later. A
    // record the owner refuses ends the connection, after the records before it are delivered.
    void Deliver(int budget)
    {
        if (closed_ || finished_) return;
        cnode_ring_awake(&in_);
        Napi::Env env = env_;
        std::vector<napi_value> batch;
        std::string violation;
        int records = 0;
        bool wake_worker = false;
        for (; records < budget; records++) {
            cnode_ring_record record;
            int got = cnode_ring_peek(&in_, &record, copy_.data());
            if (got < 0) {
                violation = std::string(in_.why ? in_.why : "a record out of the ring's format");
                break;
            }
            if (got == 0) {
                if (cnode_ring_sleep(&in_)) continue; // arrived meanwhile
                break;
            }
            if (!Unpack(record, batch, violation)) {
                if (violation.empty()) return Shut(); // the environment is being torn down
                break;
            }
            wake_worker = cnode_ring_consume(&in_, &record) || wake_worker;
        }
        if (wake_worker) Wake(wake_worker_);
        if (records == budget) Wake(wake_owner_); // more to do: the loop comes back after the rest
        bool gone = peer_gone_ && records < budget;
        // Any wake may be the worker making room: a write that found none is tried again.
        bool writable = write_blocked_;
        write_blocked_ = false;
        if (!batch.empty()) {
            Napi::Array list = Napi::Array::New(env, batch.size());
            for (size_t i = 0; i < batch.size(); i++) list.Set(static_cast<uint32_t>(i), batch[i]);
            Call(on_messages_, {list});
            if (closed_) return;
        }
        if (!violation.empty()) {
            Violate(violation);
            return;
        }
        if (writable) {
            Call(on_event_, {Napi::String::New(env, "writable")});
            if (closed_) return;
        }
        if (gone) {
            finished_ = true;
            Stop();
            Call(on_event_, {Napi::String::New(env, "disconnect")});
        }
    }

    // Takes the descriptors a record names: the next message on the lifeline, which the worker
    // sent before it published the record. Returns false, with `why`, when they are not there.
    bool TakeFds(const cnode_ring_record &record, int *fds, std::string &why)
    {
        if (record.nfds == 0) return true;
        int n = cnode_ring_recv_fds(lifeline_, fds, CNODE_RING_MAX_FDS);
        if (n == static_cast<int>(record.nfds)) return true;
        if (n > 0) {
            for (int i = 0; i < n; i++) cnode_ring_close_sent(fds[i]);
            why = "a record naming " + std::to_string(record.nfds) + " descriptors with a message of " +
                  std::to_string(n) + " on its lifeline";
        } else if (n == 0 || errno == ECONNRESET) {
            why = "a record naming " + std::to_string(record.nfds) + " descriptors it did not send";
        } else if (errno == EPROTO) {
            why = "a message on its lifeline of no descriptors or more than " + std::to_string(CNODE_RING_MAX_FDS);
        } else {
            why = ErrnoText("a lifeline that cannot be read");
        }
        return false;
    }

    // Turns one checked record into [frames, sides] in `batch`. Returns false, with `why`, for
    // a part the owner refuses.
    bool Unpack(const cnode_ring_record &record, std::vector<napi_value> &batch, std::string &why)
    {
        Napi::Env env = env_;
        int fds[CNODE_RING_MAX_FDS];
        if (!TakeFds(record, fds, why)) return false;
        size_t next_fd = 0;
        Napi::Value frames;
        Napi::Array sides;
        for (size_t i = 0; i < record.nparts && why.empty(); i++) {
            const cnode_ring_part &part = record.parts[i];
            Napi::Value value;
            if (part.size > max_part_) {
                why = "a part of " + std::to_string(part.size) + " bytes, over maxMessageSize (" +
                      std::to_string(static_cast<uint64_t>(max_part_)) + " bytes)";
            } else if (part.how == CNODE_RING_INLINE) {
                value = Napi::Buffer<uint8_t>::Copy(env, part.data, part.size);
            } else {
                value = TakePart(fds[next_fd++], part.size, why);
            }
            if (!why.empty()) break;
            if (value.IsEmpty()) return false; // JavaScript cannot run any more (Deliver sees it)
            if (i == 0) {
                frames = value;
            } else {
                if (sides.IsEmpty()) sides = Napi::Array::New(env, record.nparts - 1);
                sides.Set(static_cast<uint32_t>(i - 1), value);
            }
        }
        for (size_t i = 0; i < record.nfds; i++) cnode_ring_close_sent(fds[i]); // a mapping keeps its file
        if (!why.empty()) return false;
        batch.push_back(frames);
        batch.push_back(sides.IsEmpty() ? env.Undefined() : static_cast<Napi::Value>(sides));
        return true;
    }

    // A part the worker sent by descriptor, as a Buffer that cannot change afterwards: a view of
    // a frozen memfd (the worker sealed it against writing), or else a copy.
    Napi::Value TakePart(int fd, uint64_t size, std::string &why)
    {
        void *addr = cnode_ring_map_frozen(fd, size);
        if (addr != nullptr)
            return Napi::Buffer<uint8_t>::New(env_, static_cast<uint8_t *>(addr), size, UnmapPart, new uint64_t(size));
        if (errno == EPERM) {
            Napi::Buffer<uint8_t> copy = Napi::Buffer<uint8_t>::New(env_, size);
            if (copy.IsEmpty() || cnode_ring_read(fd, copy.Data(), size) == 0) return copy;
        }
        why = std::string("a part whose memory cannot be taken safely (") +
              (errno == EPROTO ? "not sealed against shrinking, sparse, or smaller than its record says"
                               : std::strerror(errno)) +
              ")";
        return Napi::Value();
    }

    void Violate(const std::string &why)
    {
        if (closed_ || finished_) return;
        finished_ = true;
        Stop();
        Call(on_event_, {Napi::String::New(env_, "violation"), Napi::String::New(env_, why)});
    }

    // Calls into JavaScript, with napi_make_callback. An exception that escapes (the JavaScript
    // side catches its own: that would be a bug) is reported as uncaught. When JavaScript can no
    // longer run (a worker_thread being torn down: Node runs the loop once more before its
    // cleanup hooks), the ring shuts quietly.
    void Call(Napi::FunctionReference &fn, const std::initializer_list<napi_value> &args)
    {
        napi_value result;
        napi_status status = napi_make_callback(env_, *context_, Value(), fn.Value(), args.size(), args.begin(), &result);
        if (status == napi_ok) return;
        bool pending = false;
        napi_is_exception_pending(env_, &pending);
        if (pending) {
            napi_value error;
            napi_get_and_clear_last_exception(env_, &error);
            if (status == napi_pending_exception) napi_fatal_exception(env_, error);
        }
        if (status != napi_pending_exception) Shut();
    }

    Napi::Value Write(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        if (closed_ || finished_) {
            Napi::Error::New(env, "ring: write() after close").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        Napi::Buffer<uint8_t> frames = info[0].As<Napi::Buffer<uint8_t>>();
        Napi::Array sides = info[1].As<Napi::Array>();
        Napi::Array shared = info[2].As<Napi::Array>();
        size_t n = 1 + sides.Length();
        if (n > CNODE_RING_MAX_PARTS || shared.Length() > CNODE_RING_MAX_FDS - CNODE_RING_MAX_PARTS) {
            Napi::RangeError::New(env, "ring: too many parts").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        const void *data[CNODE_RING_MAX_PARTS];
        uint64_t sizes[CNODE_RING_MAX_PARTS];
        unsigned char how[CNODE_RING_MAX_PARTS];
        data[0] = frames.Data();
        sizes[0] = frames.Length();
        for (size_t i = 1; i < n; i++) {
            Napi::Buffer<uint8_t> side = sides.Get(static_cast<uint32_t>(i - 1)).As<Napi::Buffer<uint8_t>>();
            data[i] = side.Data();
            sizes[i] = side.Length();
        }
        size_t bytes = cnode_ring_plan(&out_, sizes, n, how);
        int room = cnode_ring_reserve(&out_, bytes);
        if (room < 0) return WriteFailed(env, std::string("a ring index out of bounds (") + out_.why + ")");
        if (room == 0) {
            write_blocked_ = true; // the worker wakes the owner once it makes room
            return Napi::Boolean::New(env, false);
        }
        int fds[CNODE_RING_MAX_FDS];
        size_t nfds = 0;
        std::string failed;
        bool made[CNODE_RING_MAX_FDS] = {};
        for (size_t i = 0; i < n && failed.empty(); i++) {
            if (how[i] != CNODE_RING_BY_FD) continue;
            int fd = TakeStaged(data[i], sizes[i]); // staged by stage(): its own memfd already
            made[nfds] = fd < 0;
            if (fd < 0) fd = cnode_ring_memfd(data[i], sizes[i]);
            if (fd < 0) failed = ErrnoText("a memfd for a part");
            else fds[nfds++] = fd;
        }
        size_t parts_fds = nfds;
        for (uint32_t i = 0; i < shared.Length(); i++)
            fds[nfds++] = shared.Get(i).As<Napi::Number>().Int32Value();
        bool sent = true;
        if (failed.empty() && nfds > 0 && cnode_ring_send_fds(lifeline_, fds, nfds) < 0) {
            if (errno == EAGAIN) sent = false;
            else failed = ErrnoText("the lifeline");
        }
        for (size_t i = 0; i < parts_fds; i++)
            if (made[i]) close(fds[i]); // in flight, the kernel holds them
        if (!failed.empty()) return WriteFailed(env, failed);
        if (!sent) {
            // The socket is full: try again once it drains.
            write_blocked_ = true;
            WatchLifeline(true);
            return Napi::Boolean::New(env, false);
        }
        if (cnode_ring_commit(&out_, bytes, data, sizes, how, n, nfds)) Wake(wake_worker_);
        return Napi::Boolean::New(env, true);
    }

    // The connection is broken for good: later writes fail too, and nothing more is delivered.
    // stage(bytes) -> Buffer | undefined: a copy of a binary that will travel by descriptor, made
    // straight into its memfd (staged.cc); undefined for one that fits a record beside its frame,
    // which goes inline (cnode_ring_plan): staging it would make a memfd only to copy out of it.
    Napi::Value Stage(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
        if (bytes.ByteLength() + kFrameRoom <= cnode_ring_record_max(&out_)) return env.Undefined();
        return StagePart(env, bytes.Data(), bytes.ByteLength(), spares_);
    }

    // unstage(buffer): a staged binary that will not be sent: its memfd closes now.
    Napi::Value Unstage(const Napi::CallbackInfo &info)
    {
        DropStaged(info[0].As<Napi::Uint8Array>().Data());
        return info.Env().Undefined();
    }

    // recycle(buffers): side parts of a call the worker has answered (its handler returned, and
    // with it what it may read of them): those stage() made keep their memfds here, for the
    // next binaries of their sizes to this worker (staged.cc says why only to this one).
    Napi::Value Recycle(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        if (closed_ || finished_) return env.Undefined();
        Napi::Array buffers = info[0].As<Napi::Array>();
        for (uint32_t i = 0; i < buffers.Length(); i++) {
            Napi::Uint8Array buffer = buffers.Get(i).As<Napi::Uint8Array>();
            RecycleStaged(buffer, spares_);
        }
        return env.Undefined();
    }

    Napi::Value WriteFailed(Napi::Env env, const std::string &why)
    {
        finished_ = true;
        Stop();
        Napi::Error::New(env, why).ThrowAsJavaScriptException();
        return env.Undefined();
    }

    Napi::Value Pump(const Napi::CallbackInfo &info)
    {
        if (started_ && !closed_) Deliver(INT32_MAX);
        return info.Env().Undefined();
    }

    Napi::Value SetRef(const Napi::CallbackInfo &info)
    {
        bool ref = info[0].As<Napi::Boolean>().Value();
        for (uv_poll_t *handle : {wake_poll_, lifeline_poll_}) {
            if (handle == nullptr) continue;
            if (ref) uv_ref(reinterpret_cast<uv_handle_t *>(handle));
            else uv_unref(reinterpret_cast<uv_handle_t *>(handle));
        }
        return info.Env().Undefined();
    }

    Napi::Value Close(const Napi::CallbackInfo &info)
    {
        bool was_started = started_ && !closed_;
        Shut();
        if (was_started) {
            napi_remove_env_cleanup_hook(env_, OnTeardown, this);
            Unref();
        }
        return info.Env().Undefined();
    }

    // Stops the watches; the handles go once libuv is done with them.
    void Stop()
    {
        for (uv_poll_t **handle : {&wake_poll_, &lifeline_poll_}) {
            if (*handle == nullptr) continue;
            uv_poll_stop(*handle);
            uv_close(reinterpret_cast<uv_handle_t *>(*handle),
                     [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
            *handle = nullptr;
        }
    }

    // The callbacks go too: held here they would keep this object's JavaScript side, and all
    // that their closures reach, alive for good (they reach the Ring itself).
    void Shut()
    {
        if (closed_) return;
        closed_ = true;
        Stop();
        CloseAll();
        on_messages_.Reset();
        on_event_.Reset();
    }

    void CloseAll()
    {
        if (segment_ != nullptr) munmap(segment_, segment_bytes_);
        segment_ = nullptr;
        for (int *fd : {&segment_fd_, &wake_worker_, &wake_owner_, &lifeline_, &lifeline_child_}) CloseFd(*fd);
        spares_.Clear();
    }

    Napi::Env env_;
    double max_part_ = 0;
    void *segment_ = nullptr;
    size_t segment_bytes_ = 0;
    int segment_fd_ = -1, wake_worker_ = -1, wake_owner_ = -1, lifeline_ = -1, lifeline_child_ = -1;
    cnode_ring_end out_{}, in_{};
    std::vector<unsigned char> copy_;
    SpareParts spares_; // staged memfds kept for reuse (staged.cc)
    uv_poll_t *wake_poll_ = nullptr, *lifeline_poll_ = nullptr;
    Napi::FunctionReference on_messages_, on_event_;
    std::unique_ptr<Napi::AsyncContext> context_;
    bool started_ = false, closed_ = false, finished_ = false;
    bool peer_gone_ = false, watch_writable_ = false, write_blocked_ = false;
};

Napi::Function DefineRing(Napi::Env env)
{
    return Ring::Define(env);
}

} // namespace cnode_addon
