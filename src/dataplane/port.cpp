#include "port.hpp"

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <stdexcept>

namespace relay {

namespace {

constexpr uint16_t rx_desc = 1024;
constexpr uint16_t tx_desc = 1024;
constexpr unsigned pool_cache = 256;

std::string dpdk_error(int rc) { return rte_strerror(rc < 0 ? -rc : rc); }

rte_mempool *create_pool(const char *name, unsigned n, uint16_t data_room)
{
    rte_mempool *pool = rte_pktmbuf_pool_create(name, n, pool_cache, 0, data_room, rte_socket_id());
    if (!pool)
        throw std::runtime_error("cannot allocate " + std::to_string(n) + " mbufs of " +
                                 std::to_string(data_room) + " bytes (" + name +
                                 "): " + dpdk_error(rte_errno) +
                                 "; reserve more hugepages or give EAL more memory (-m)");
    return pool;
}

} // namespace

MbufPools create_mbuf_pools(unsigned ports, unsigned queues, uint16_t buffer_size)
{
    const unsigned cached = (queues + 1) * pool_cache;
    MbufPools p;
    p.packets = create_pool("relay_mbufs",
                            ports * queues * (rx_desc + tx_desc + 2 * burst_size) + cached + 1024,
                            static_cast<uint16_t>(RTE_PKTMBUF_HEADROOM + buffer_size));
    // Fragments wait only in TX rings: a header mbuf and an indirect one each.
    const unsigned fragments = ports * queues * (tx_desc + 2 * burst_size) + cached;
    p.headers = create_pool("relay_frag_headers", fragments,
                            RTE_PKTMBUF_HEADROOM + RTE_IPV4_HDR_IHL_MASK * RTE_IPV4_IHL_MULTIPLIER);
    p.indirect = create_pool("relay_frag_data", fragments, 0);
    return p;
}

int find_port(const std::string &device)
{
    uint16_t id;
    if (rte_eth_dev_get_port_by_name(device.c_str(), &id) == 0)
        return id;
    char *end = nullptr;
    unsigned long n = std::strtoul(device.c_str(), &end, 10);
    if (!device.empty() && end && *end == '\0' && n < RTE_MAX_ETHPORTS &&
        rte_eth_dev_is_valid_port(static_cast<uint16_t>(n)))
        return static_cast<int>(n);
    return -1;
}

void start_port(uint16_t port_id, const std::string &name, uint16_t queues, rte_mempool *pool)
{
    rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port_id, &info);
    if (rc != 0)
        throw std::runtime_error("port " + name + ": cannot read device info: " + dpdk_error(rc));
    if (queues > info.max_rx_queues || queues > info.max_tx_queues)
        throw std::runtime_error(
            "port " + name + ": " + std::to_string(queues) + " workers need " +
            std::to_string(queues) + " queue pairs but the device allows " +
            std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)) +
            "; use fewer worker lcores (-l) or give the device more queues "
            "(net_af_packet: qpairs=N)");

    rte_eth_conf conf{};
    if (queues > 1 && info.flow_type_rss_offloads) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    rc = rte_eth_dev_configure(port_id, queues, queues, &conf);
    if (rc != 0)
        throw std::runtime_error("port " + name + ": configure failed: " + dpdk_error(rc));

    uint16_t nb_rx = rx_desc, nb_tx = tx_desc;
    rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rx, &nb_tx);
    const int socket = rte_eth_dev_socket_id(port_id);
    for (uint16_t q = 0; q < queues; q++) {
        rc = rte_eth_rx_queue_setup(port_id, q, nb_rx, socket, nullptr, pool);
        if (rc != 0)
            throw std::runtime_error(
                "port " + name + ": RX queue " + std::to_string(q) + " setup failed: " +
                dpdk_error(rc) + "; if the device's frames are larger than buffer_size (" +
                std::to_string(rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM) +
                " bytes), raise it (net_af_packet: framesz= needs buffer_size >= framesz - 32)");
        rc = rte_eth_tx_queue_setup(port_id, q, nb_tx, socket, nullptr);
        if (rc != 0)
            throw std::runtime_error("port " + name + ": TX queue " + std::to_string(q) +
                                     " setup failed: " + dpdk_error(rc));
    }
    rc = rte_eth_dev_start(port_id);
    if (rc != 0)
        throw std::runtime_error("port " + name + ": start failed: " + dpdk_error(rc));
}

void stop_port(uint16_t port_id)
{
    rte_eth_dev_stop(port_id);
    rte_eth_dev_close(port_id);
}

} // namespace relay
