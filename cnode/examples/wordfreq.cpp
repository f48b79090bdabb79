/*
 * wordfreq.cpp: a C++ worker (cnode.hpp) for text: word frequencies with std::unordered_map, and
 * a line search with std::regex. The text comes as a string or a Buffer and is read in place.
 * Build it with `npx cnode c++ wordfreq.cpp -O2 -o wordfreq` (or CMake: build/bin/wordfreq).
 *
 * Calls:
 *   {op: "top", text, n = 10, min = 1}
 *       -> [[word, count], ...]: the n most frequent words of at least `min` letters, lower-cased,
 *          most frequent first, ties in alphabetical order. A word is a run of ASCII letters,
 *          digits and apostrophes inside it ("don't").
 *   {op: "grep", text, pattern, ignoreCase = false}
 *       -> [{line, text}, ...]: the lines (numbered from 1) where the ECMAScript regular
 *          expression `pattern` matches. A bad pattern fails the call with remoteCode
 *          "BAD_PATTERN"; a field of the wrong type with "ERR_CNODE_BAD_MESSAGE"
 *          (cnode::TypeError).
 */
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cnode.hpp>

namespace {

/* The text of the request, a string or a Buffer, without a copy. */
std::string_view text_of(const cnode::Request &req) {
    cnode::Value text = req["text"];
    return text.is_bin() ? text.bin().chars() : text.str();
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '\''; }

std::vector<std::pair<std::string, uint64_t>> top(std::string_view text, std::size_t n, std::size_t min) {
    std::unordered_map<std::string, uint64_t> counts;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && !word_char(text[i])) i++;
        std::size_t start = i;
        while (i < text.size() && word_char(text[i])) i++;
        std::string_view word = text.substr(start, i - start);
        while (!word.empty() && word.front() == '\'') word.remove_prefix(1); /* quotes, not words */
        while (!word.empty() && word.back() == '\'') word.remove_suffix(1);
        if (word.empty() || word.size() < min) continue;
        std::string lower(word);
        for (char &c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        counts[std::move(lower)]++;
    }
    std::vector<std::pair<std::string, uint64_t>> ranked(counts.begin(), counts.end());
    auto before = [](const auto &a, const auto &b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
    std::size_t keep = std::min(n, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(), before);
    ranked.resize(keep);
    return ranked;
}

void grep(std::string_view text, std::string_view pattern, bool ignore_case, cnode::Reply &reply) {
    std::regex re;
    try {
        auto flags = std::regex::ECMAScript | (ignore_case ? std::regex::icase : std::regex::flag_type{});
        re = std::regex(pattern.begin(), pattern.end(), flags);
    } catch (const std::regex_error &e) {
        throw cnode::Failure("BAD_PATTERN", "pattern \"" + std::string(pattern) + "\": " + e.what());
    }
    std::vector<std::pair<uint64_t, std::string_view>> found;
    uint64_t number = 0;
    for (std::size_t start = 0; start <= text.size(); number++) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        if (std::regex_search(line.begin(), line.end(), re)) found.emplace_back(number + 1, line);
        start = end + 1;
    }
    reply.array(static_cast<uint32_t>(found.size()));
    for (const auto &[line, content] : found) reply.map(2).entry("line", line).entry("text", content);
}

} // namespace

int main(int argc, char **argv) {
    try {
        cnode::Node node(argc, argv);
        return node.run([](cnode::Request &req, cnode::Reply &reply) {
            if (req.is_cast()) return; /* nothing to answer, nothing to do */
            std::string_view op = req.get<std::string_view>("op");
            if (op == "top") {
                reply.pack(top(text_of(req), req.get<std::size_t>("n", 10), req.get<std::size_t>("min", 1)));
            } else if (op == "grep") {
                grep(text_of(req), req.get<std::string_view>("pattern"), req.get<bool>("ignoreCase", false), reply);
            } else {
                throw cnode::Failure("BAD_OP", "unknown op \"" + std::string(op) + "\": expected \"top\" or \"grep\"");
            }
        });
    } catch (const cnode::Error &) {
        return 1; /* cnode_init failed; its reason is on stderr */
    }
}
