// A client for the DPDK telemetry v2 socket, the one dpdk-telemetry.py uses:
// AF_UNIX SOCK_SEQPACKET at <runtime dir>/<file-prefix>/dpdk_telemetry.v2.
// The server greets each connection with one JSON message (version, pid,
// max_output_len); then every request is one command string such as
// "/relay/port,3000" and every reply one JSON message {"/relay/port": value}.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace relay {

// The relay could not be reached, or the connection broke: nothing was done.
struct TelemetryConnectError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The relay answered, but not with a usable reply (unknown command, bad JSON).
struct TelemetryReplyError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Where EAL puts the telemetry socket of the process started with
// --file-prefix=prefix: $RUNTIME_DIRECTORY (systemd), else /var/run for root
// and $XDG_RUNTIME_DIR or /tmp for others, then dpdk/<prefix>.
std::string telemetry_socket_path(const std::string &file_prefix);

class TelemetryClient {
public:
    TelemetryClient() = default;
    ~TelemetryClient();
    TelemetryClient(const TelemetryClient &) = delete;
    TelemetryClient &operator=(const TelemetryClient &) = delete;

    // Connects to the socket of the given file prefix ("rte" by default in EAL)
    // and reads the greeting. Throws TelemetryConnectError.
    void connect(const std::string &file_prefix);
    // The same for an explicit socket path; file_prefix only names it in errors.
    void connect_path(const std::string &path, const std::string &file_prefix);

    // Sends cmd and returns the value under the command's name in the reply
    // (the name is cmd up to the first ','). Throws TelemetryConnectError if
    // the connection fails and TelemetryReplyError if the reply is unusable,
    // including a null value: what EAL answers for a command nobody registered
    // or a handler that failed.
    nlohmann::json request(const std::string &cmd);

    // From the greeting.
    const std::string &server_version() const { return version_; }
    long server_pid() const { return pid_; }

    void close();

private:
    std::string receive(); // one whole message

    int fd_ = -1;
    std::string path_;
    std::string version_;
    long pid_ = 0;
    bool greeted_ = false; // a close before the greeting means "too many clients"
    size_t max_len_ = 16384;
    int timeout_ms_ = 5000;
};

} // namespace relay
