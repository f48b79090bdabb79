/*
 * cpp_loop.cpp: the test worker of test/cpp.test.ts for cnode.hpp's loop: timer and descriptor
 * callables, what happens to their lifetime, exceptions from handlers and callables, and a Node
 * that was moved before it runs.
 *
 * Calls:
 *   {op: "add", a, b}              -> a + b (int64; a wrong field fails with ERR_CNODE_BAD_MESSAGE)
 *   {op: "sum", values: {k: [n]}}  -> {k: sum of its numbers} (entries() and elements())
 *   {op: "throw", message}         -> a std::runtime_error(message) from the handler
 *   {op: "throwInt"}               -> throws 42, which is not a std::exception
 *   {op: "fail", code, message}    -> throws cnode::Failure(code, message)
 *   {op: "tick", ms, count}        -> a timer sends {tick: i} count times, then ends itself
 *                                     (returns false); answers its id
 *   {op: "selfCancel", ms}         -> a timer sends {cancelled: id} once and cancels itself from
 *                                     inside its own callable; answers its id
 *   {op: "pipe", text}             -> writes text into a pipe whose read end is watched: the
 *                                     descriptor's callable reads it and sends {piped: text}
 *   {op: "post", count}            -> a std::thread posts {posted: i} count times (Node::post),
 *                                     joined before the answer
 *   {op: "timerThrows"}            -> a timer that throws: the worker exits with status 1
 *   {op: "live"}                   -> how many timer and descriptor callables are alive
 *   {op: "whoami"}                 -> the name the callables' Node & gives (the moved-to Node)
 */
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>

#include <cnode.hpp>

using namespace std::chrono_literals;

int main(int argc, char **argv) {
    int pipe_fds[2];
    if (pipe(pipe_fds) < 0) return 1;
    // Every callable holds a copy: use_count() - 1 is how many of them are alive.
    auto token = std::make_shared<int>(0);

    cnode::Node first(argc, argv);
    first.watch(pipe_fds[0], POLLIN, [token](cnode::Node &node, int fd, short) {
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return false;
        cnode::Message message;
        message.map(1).entry("piped", std::string_view(buf, static_cast<std::size_t>(n)));
        node.send(message);
        return true;
    });
    // Moved before it runs: the callables' Node & must be this one, and `first` holds nothing.
    cnode::Node node = std::move(first);

    return node.run([&](cnode::Request &req, cnode::Reply &reply) {
        std::string_view op = req.get<std::string_view>("op");
        cnode::Node &self = req.node();
        if (op == "add") {
            reply.pack(req.get<int64_t>("a") + req.get<int64_t>("b"));
        } else if (op == "sum") {
            std::map<std::string_view, double> sums;
            for (const auto &[key, list] : req["values"].entries()) {
                double &sum = sums[key];
                for (const cnode::Value &v : list.elements()) sum += v.as<double>();
            }
            reply.pack(sums);
        } else if (op == "throw") {
            throw std::runtime_error(req.get<std::string>("message"));
        } else if (op == "throwInt") {
            throw 42;
        } else if (op == "fail") {
            throw cnode::Failure(req.get<std::string>("code"), req.get<std::string>("message"));
        } else if (op == "tick") {
            auto left = req.get<unsigned>("count");
            auto sent = std::make_shared<unsigned>(0);
            reply.pack(self.every(std::chrono::milliseconds(req.get<unsigned>("ms")), [token, sent, left](cnode::Node &n) {
                n.send(std::map<std::string, unsigned>{{"tick", ++*sent}});
                return *sent < left;
            }));
        } else if (op == "selfCancel") {
            auto id = std::make_shared<int>(0);
            *id = self.every(std::chrono::milliseconds(req.get<unsigned>("ms")), [token, id](cnode::Node &n) {
                n.send(std::map<std::string, int>{{"cancelled", *id}});
                if (!n.cancel(*id)) throw std::logic_error("cancel found no timer");
            });
            reply.pack(*id);
        } else if (op == "pipe") {
            std::string_view text = req.get<std::string_view>("text");
            if (write(pipe_fds[1], text.data(), text.size()) != static_cast<ssize_t>(text.size()))
                throw std::runtime_error("write to the pipe failed");
            reply.nil();
        } else if (op == "post") {
            auto count = req.get<unsigned>("count");
            std::thread poster([&self, count] {
                for (unsigned i = 1; i <= count; i++) self.post(std::map<std::string, unsigned>{{"posted", i}});
            });
            poster.join();
            reply.pack(count);
        } else if (op == "timerThrows") {
            self.every(1ms, [token](cnode::Node &) { throw std::runtime_error("timer boom"); });
            reply.nil();
        } else if (op == "live") {
            reply.pack(token.use_count() - 1);
        } else if (op == "whoami") {
            reply.pack(&self == &node ? self.name() : std::string_view("not the moved-to node"));
        } else {
            throw std::invalid_argument("unknown op " + std::string(op));
        }
    });
}
