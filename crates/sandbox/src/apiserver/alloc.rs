//! Address allocation: Service cluster IPs from 10.96.0.0/12, node ports from 30000-32767 and
//! load-balancer addresses from 192.0.2.0/24 (TEST-NET-1, never routed).

use std::collections::{BTreeSet, HashSet};
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::store::Store;

const CLUSTER_IP_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const CLUSTER_IP_SIZE: u32 = 1 << 20;

/// Cursors of the allocators (the used addresses are read from the stored Services).
#[derive(Debug, Default)]
pub struct Allocators {
    next_ip: u32,
    next_port: u16,
}

fn services(store: &Store) -> Vec<std::sync::Arc<Value>> {
    store.list("/services", None).1
}

impl Allocators {
    /// A free cluster IP (10.96.0.1 is kept for the `kubernetes` Service).
    pub fn cluster_ip(&mut self, store: &Store) -> Option<String> {
        let services = services(store);
        let used: HashSet<&str> = services
            .iter()
            .filter_map(|s| s["spec"]["clusterIP"].as_str())
            .collect();
        for _ in 0..CLUSTER_IP_SIZE {
            self.next_ip = (self.next_ip + 1) % CLUSTER_IP_SIZE;
            if self.next_ip < 10 {
                continue;
            }
            let ip = Ipv4Addr::from(CLUSTER_IP_BASE + self.next_ip).to_string();
            if !used.contains(ip.as_str()) {
                return Some(ip);
            }
        }
        None
    }

    /// A free node port.
    pub fn node_port(&mut self, store: &Store, also_taken: &[i64]) -> Option<i64> {
        let mut used: BTreeSet<i64> = services(store)
            .iter()
            .flat_map(|s| {
                s["spec"]["ports"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| p["nodePort"].as_i64())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect();
        used.extend(also_taken.iter().copied());
        for _ in 0..2768 {
            self.next_port = (self.next_port + 1) % 2768;
            let p = 30000 + i64::from(self.next_port);
            if !used.contains(&p) {
                return Some(p);
            }
        }
        None
    }

    /// A free load-balancer address from 192.0.2.0/24.
    pub fn load_balancer_ip(&mut self, store: &Store) -> Option<String> {
        let used: BTreeSet<String> = services(store)
            .iter()
            .filter_map(|s| {
                s["status"]["loadBalancer"]["ingress"][0]["ip"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        (1..=254u8)
            .map(|i| Ipv4Addr::new(192, 0, 2, i).to_string())
            .find(|ip| !used.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn allocates_unused_addresses() {
        let store = Store::new(8);
        store.put(
            "/services",
            json!({"metadata": {"namespace": "a", "name": "x"},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80, "nodePort": 30001}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}),
        );
        let mut a = Allocators::default();
        let ip = a.cluster_ip(&store).expect("ip");
        assert_ne!(ip, "10.96.0.10");
        assert!(ip.starts_with("10.96."));
        assert_eq!(a.node_port(&store, &[]), Some(30002));
        assert_eq!(a.load_balancer_ip(&store).as_deref(), Some("192.0.2.2"));
    }
}
