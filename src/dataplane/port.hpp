// Ethdev set-up: one RX and one TX queue per worker on every port.
#pragma once

#include "worker.hpp"

#include <rte_mempool.h>

#include <cstdint>
#include <string>

namespace relay {

// The mbuf pools for all ports: packets of buffer_size bytes, sized for every
// queue's rings plus the bursts in flight, and the two that fragments are built
// from. Throws std::runtime_error saying what to do when memory is short.
MbufPools create_mbuf_pools(unsigned ports, unsigned queues, uint16_t buffer_size);

// Configures and starts a port with `queues` RX/TX queue pairs, RSS over
// addresses and UDP ports where the device offers it. Throws
// std::runtime_error naming the device and the remedy.
void start_port(uint16_t port_id, const std::string &name, uint16_t queues, rte_mempool *pool);

void stop_port(uint16_t port_id);

// The port id of an ethdev given as its name ("net_af_packet0", a PCI
// address) or a number; -1 if there is none.
int find_port(const std::string &device);

} // namespace relay
