// polls.cc: whether the poll handles zeromq.js made keep the event loop alive (CNode.unref()).
#include <napi.h>
#include <uv.h>

#include <set>
#include <vector>

#include "addon.h"

namespace cnode_addon {

// zeromq.js watches each socket (and each socket monitor) with a uv_poll_t on its descriptor,
// made with the socket and kept until it closes, always ref'd: a receive waiting on it keeps the
// event loop alive, and zeromq.js has no unref(). These two find those handles by descriptor on
// the calling thread's loop and set whether they keep it alive.

static uv_loop_t *s_loop(Napi::Env env)
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

} // namespace cnode_addon
