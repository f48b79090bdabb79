// teardown.cc: the workers of a worker_thread that is terminated.
//
// terminateGroups(pgids: number[]) replaces the set of process groups (their leaders' pids) this
// environment's workers run in. When the environment is torn down without the thread's exit
// hooks having run (worker.terminate() runs no JavaScript), a cleanup hook SIGKILLs those
// groups and reaps their leaders, waiting at most a second: the thread's event loop, which would
// reap them, is gone, and they would stay zombies in the owner for as long as it lives.
// (src/launch/exit-hooks.ts keeps the set; at a normal exit its own hook does this first.)
#include <napi.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <sys/wait.h>
#include <vector>

#include "addon.h"

namespace cnode_addon {

namespace {

constexpr int kReapWaitMs = 1000;

struct Groups {
    std::vector<pid_t> leaders;
};

void EndGroups(void *arg)
{
    Groups *groups = static_cast<Groups *>(arg);
    for (pid_t leader : groups->leaders) kill(-leader, SIGKILL);
    for (int waited = 0; waited < kReapWaitMs; waited++) {
        bool left = false;
        for (pid_t &leader : groups->leaders) {
            if (leader <= 0) continue;
            pid_t got = waitpid(leader, nullptr, WNOHANG);
            if (got == leader || (got < 0 && errno == ECHILD)) leader = 0;
            else left = true;
        }
        if (!left) break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, nullptr);
    }
    delete groups;
}

} // namespace

Napi::Value TerminateGroups(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    void *data = nullptr;
    napi_get_instance_data(env, &data);
    Groups *groups = static_cast<Groups *>(data);
    if (groups == nullptr) {
        groups = new Groups;
        // No finalizer: the cleanup hook frees it, after using it.
        napi_set_instance_data(env, groups, nullptr, nullptr);
        napi_add_env_cleanup_hook(env, EndGroups, groups);
    }
    Napi::Array pgids = info[0].As<Napi::Array>();
    groups->leaders.clear();
    for (uint32_t i = 0; i < pgids.Length(); i++)
        groups->leaders.push_back(pgids.Get(i).As<Napi::Number>().Int32Value());
    return env.Undefined();
}

} // namespace cnode_addon
