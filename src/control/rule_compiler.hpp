// Compiles the config's rules into the ACL rule lists of the two hooks.
#pragma once

#include "classifier.hpp"
#include "config.hpp"

#include <vector>

namespace relay {

struct CompiledRules {
    std::vector<AclRule> prerouting, postrouting;
};

// ACL rules can only say "in this range" or "under this prefix", so a negated
// field becomes the ranges or prefixes around it, and a RELAY rule with no
// destination one rule per box address; a rule's expansions keep its order,
// so first match still wins. `port_ids[i]` is the ethdev port of
// config.ports[i]. Throws ConfigError when the expansion passes max_acl_rules.
CompiledRules compile_rules(const Config &config, const std::vector<uint16_t> &port_ids,
                            const std::vector<Ipv4> &locals);

constexpr size_t max_acl_rules = 200000;

} // namespace relay
