//! The kubeconfig that points clients at the sandbox.

use base64::Engine;

/// Renders a kubeconfig with one cluster, one token user and one context named `ferrocd-sandbox`.
pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: ferrocd-sandbox
  cluster:
    server: {server}
    certificate-authority-data: {ca}
contexts:
- name: ferrocd-sandbox
  context:
    cluster: ferrocd-sandbox
    user: ferrocd-sandbox
    namespace: default
current-context: ferrocd-sandbox
users:
- name: ferrocd-sandbox
  user:
    token: {token}
preferences: {{}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_as_yaml() {
        let y = render(
            "https://127.0.0.1:6443",
            "-----BEGIN CERTIFICATE-----\n",
            "tok",
        );
        let v: serde_json::Value = serde_saphyr::from_str(&y).expect("yaml");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(v["users"][0]["user"]["token"], "tok");
        assert_eq!(v["current-context"], "ferrocd-sandbox");
    }
}
