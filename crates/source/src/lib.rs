//! ferrocd-source: Git repository cache and credentials.
#![deny(missing_docs)]
