// reap.cc: collecting the exited children of a worker_thread whose event loop has ended.
#include <napi.h>

#include <cerrno>
#include <sys/wait.h>

#include "addon.h"

namespace cnode_addon {

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

} // namespace cnode_addon
