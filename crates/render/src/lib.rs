//! ferrocd-render: source spec + files to manifests.
#![deny(missing_docs)]
