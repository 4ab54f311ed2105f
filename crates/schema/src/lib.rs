//! ferrocd-schema: Kubernetes type knowledge: merge keys, strategies, scope, kind order.
#![deny(missing_docs)]
