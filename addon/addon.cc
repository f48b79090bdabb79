// The Node.js addon: what Node's own API cannot do for the library. Built by cmake-js from the
// project's CMakeLists.txt into build/addon/cnode.node; loaded by src/native.ts.
//
//  - reap(pid): collect an exited child (worker_thread owners).
//  - pollDescriptors / setPollRef: let an unref'd CNode's ZeroMQ sockets leave the event loop free.
//  - sharedCreate / sharedRelease / sharedStats: memory the owner shares with its workers
//    (shared.h).
#include <napi.h>

#include <uv.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>
#include <sys/wait.h>
#include <vector>

#include "shared.h"

namespace {

// reap(pid): collects an exited child without waiting. Returns { exitCode, signal } once it has
// exited, null while it still runs, undefined when it is not (or no longer) our child.
//
// Node reaps a child only while the event loop that spawned it runs. A worker_thread that ends
// takes its loop with it, and its children then stay zombies in the owner until the whole
// process exits. The thread's exit hook kills them and calls this.
Napi::Value Reap(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsNumber()) {
        Napi::TypeError::New(env, "reap(pid): pid must be a number").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const pid_t pid = info[0].As<Napi::Number>().Int32Value();
    if (pid <= 0) {
        Napi::RangeError::New(env, "reap(pid): pid must be positive").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    int status = 0;
    pid_t got;
    do got = waitpid(pid, &status, WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got == 0) return env.Null();
    if (got < 0) return env.Undefined(); // ECHILD: already reaped, or never ours
    Napi::Object result = Napi::Object::New(env);
    if (WIFSIGNALED(status)) {
        result.Set("exitCode", env.Null());
        result.Set("signal", Napi::Number::New(env, WTERMSIG(status)));
    } else {
        result.Set("exitCode", Napi::Number::New(env, WEXITSTATUS(status)));
        result.Set("signal", env.Null());
    }
    return result;
}

// zeromq.js watches each socket (and each socket monitor) with a uv_poll_t on its descriptor,
// made with the socket and kept until it closes, always ref'd: a receive waiting on it keeps the
// event loop alive, and zeromq.js has no unref(). These two find those handles by descriptor on
// the calling thread's loop and set whether they keep it alive.

uv_loop_t *s_loop(Napi::Env env)
{
    uv_loop_t *loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    return loop;
}

// pollDescriptors(): the descriptors of the live poll handles on this thread's loop. Taken
// before and after making a socket, the difference is the descriptors of that socket's handles.
Napi::Value PollDescriptors(const Napi::CallbackInfo &info)
{
    std::vector<int> fds;
    uv_walk(s_loop(info.Env()), [](uv_handle_t *handle, void *arg) {
        uv_os_fd_t fd;
        if (handle->type == UV_POLL && !uv_is_closing(handle) && uv_fileno(handle, &fd) == 0)
            static_cast<std::vector<int> *>(arg)->push_back(fd);
    }, &fds);
    Napi::Array result = Napi::Array::New(info.Env(), fds.size());
    for (size_t i = 0; i < fds.size(); i++) result.Set(i, Napi::Number::New(info.Env(), fds[i]));
    return result;
}

// setPollRef(fds, ref): whether the poll handles on these descriptors keep this thread's loop
// alive (uv_ref / uv_unref, which outlast uv_poll_start and uv_poll_stop).
Napi::Value SetPollRef(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsBoolean()) {
        Napi::TypeError::New(env, "setPollRef(fds, ref): an array of descriptors and a boolean")
            .ThrowAsJavaScriptException();
        return env.Undefined();
    }
    struct Request {
        std::set<int> fds;
        bool ref;
    } request{{}, info[1].As<Napi::Boolean>().Value()};
    Napi::Array fds = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < fds.Length(); i++)
        request.fds.insert(fds.Get(i).As<Napi::Number>().Int32Value());
    uv_walk(s_loop(env), [](uv_handle_t *handle, void *arg) {
        auto *wanted = static_cast<Request *>(arg);
        uv_os_fd_t fd;
        if (handle->type != UV_POLL || uv_is_closing(handle) || uv_fileno(handle, &fd) != 0
            || wanted->fds.count(fd) == 0)
            return;
        if (wanted->ref) uv_ref(handle);
        else uv_unref(handle);
    }, &request);
    return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
    exports.Set("reap", Napi::Function::New(env, Reap, "reap"));
    exports.Set("pollDescriptors", Napi::Function::New(env, PollDescriptors, "pollDescriptors"));
    exports.Set("setPollRef", Napi::Function::New(env, SetPollRef, "setPollRef"));
    exports.Set("sharedCreate", Napi::Function::New(env, cnode_addon::SharedCreate, "sharedCreate"));
    exports.Set("sharedRelease", Napi::Function::New(env, cnode_addon::SharedRelease, "sharedRelease"));
    exports.Set("sharedStats", Napi::Function::New(env, cnode_addon::SharedStats, "sharedStats"));
    return exports;
}

} // namespace

NODE_API_MODULE(cnode, Init)
