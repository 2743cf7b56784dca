#include "telemetry_client.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace relay {

namespace {

// EAL's own output buffer is 16 KiB; a larger greeting value is honoured.
constexpr size_t min_reply_len = 16384;
// A reply past this is not something our relay sends: refuse rather than allocate.
constexpr size_t max_reply_len = 16u << 20;

std::string errno_text(int err) { return std::strerror(err); }

const char *env(const char *name)
{
    const char *v = std::getenv(name);
    return v && *v ? v : nullptr;
}

} // namespace

std::string telemetry_socket_path(const std::string &file_prefix)
{
    // Mirrors eal_create_runtime_dir(), so that we look where EAL created it.
    std::string dir;
    if (const char *rd = env("RUNTIME_DIRECTORY"))
        dir = rd;
    else if (getuid() == 0)
        dir = "/var/run";
    else if (const char *xdg = env("XDG_RUNTIME_DIR"))
        dir = xdg;
    else
        dir = "/tmp";
    return dir + "/dpdk/" + file_prefix + "/dpdk_telemetry.v2";
}

TelemetryClient::~TelemetryClient() { close(); }

void TelemetryClient::close()
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

void TelemetryClient::connect(const std::string &file_prefix)
{
    connect_path(telemetry_socket_path(file_prefix), file_prefix);
}

void TelemetryClient::connect_path(const std::string &path, const std::string &file_prefix)
{
    close();
    path_ = path;
    greeted_ = false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        throw TelemetryConnectError("cannot connect to " + path + ": path too long for a socket");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        throw TelemetryConnectError("cannot create a socket: " + errno_text(errno));
    if (::connect(fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) < 0) {
        int err = errno;
        close();
        // No socket, or a socket file left behind by a process that is gone.
        if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR)
            throw TelemetryConnectError("cannot connect to " + path +
                                        ": is dpdk-relay running with --file-prefix " +
                                        file_prefix + "?");
        throw TelemetryConnectError("cannot connect to " + path + ": " + errno_text(err));
    }

    std::string hello = receive();
    try {
        auto j = nlohmann::json::parse(hello);
        version_ = j.value("version", std::string());
        pid_ = j.value("pid", 0L);
        size_t len = j.value("max_output_len", size_t(0));
        max_len_ = std::min(std::max(len, min_reply_len), max_reply_len);
        greeted_ = true;
    } catch (const nlohmann::json::exception &e) {
        close();
        throw TelemetryConnectError(path + " is not a DPDK telemetry socket: bad greeting (" +
                                    e.what() + ")");
    }
}

std::string TelemetryClient::receive()
{
    // One recv per message: SOCK_SEQPACKET keeps message boundaries, and
    // MSG_TRUNC makes recv return the full length even when it did not fit.
    std::vector<char> buf(max_len_);
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, timeout_ms_);
    if (n == 0) {
        close();
        throw TelemetryConnectError("no answer from " + path_ + " within " +
                                    std::to_string(timeout_ms_ / 1000) + " s");
    }
    ssize_t got = n < 0 ? -1 : ::recv(fd_, buf.data(), buf.size(), MSG_TRUNC);
    if (got < 0) {
        int err = errno;
        close();
        throw TelemetryConnectError("reading from " + path_ + ": " + errno_text(err));
    }
    if (got == 0) {
        close();
        // EAL closes new connections at once when it has too many clients.
        throw TelemetryConnectError(path_ + " closed the connection" +
                                    (greeted_ ? " (dpdk-relay stopped?)"
                                              : " (too many telemetry clients?)"));
    }
    if (size_t(got) > buf.size())
        throw TelemetryReplyError("reply from " + path_ + " is " + std::to_string(got) +
                                  " bytes, over the " + std::to_string(buf.size()) +
                                  "-byte limit");
    return std::string(buf.data(), size_t(got));
}

nlohmann::json TelemetryClient::request(const std::string &cmd)
{
    if (fd_ < 0)
        throw TelemetryConnectError("not connected");
    // EAL reads a command into a 1024-byte buffer and would cut a longer one.
    if (cmd.empty() || cmd[0] != '/' || cmd.size() > 1023)
        throw TelemetryReplyError("not a telemetry command: " + cmd.substr(0, 80));
    if (::send(fd_, cmd.data(), cmd.size(), MSG_NOSIGNAL) < 0) {
        int err = errno;
        close();
        throw TelemetryConnectError("sending to " + path_ + ": " + errno_text(err));
    }
    std::string reply = receive();
    std::string name = cmd.substr(0, cmd.find(','));

    nlohmann::json j;
    try {
        j = nlohmann::json::parse(reply);
    } catch (const nlohmann::json::exception &e) {
        throw TelemetryReplyError("malformed reply to " + name + ": " + e.what());
    }
    if (!j.is_object() || !j.contains(name))
        throw TelemetryReplyError("reply to " + name + " does not answer it: " +
                                  reply.substr(0, 200));
    if (j[name].is_null())
        throw TelemetryReplyError("the application does not answer " + name +
                                  " (is it dpdk-relay, and are the parameters right?)");
    return j[name];
}

} // namespace relay
